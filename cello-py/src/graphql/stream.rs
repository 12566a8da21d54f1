//! `GraphQLStream`: a running stream of the engine (one SSE operation, or one WebSocket
//! connection) whose items are handed to a Python `sink` callable on the worker's loop
//! (`cello.graphql`'s bounded outbox); `sink(None)` marks the end. Closing it
//! drops the stream, which closes the subscriptions' generators.

use std::sync::{Arc, Mutex};

use async_graphql::futures_util::stream::{self, Stream, StreamExt};
use cello_protocols::graphql::http::{self, HttpResponse};
use cello_protocols::graphql::{Engine, Outgoing};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;

use super::host::{PyHost, RequestContext, TaskSettled};
use crate::driver::PyDriver;

#[pyclass(name = "GraphQLStream", module = "cello._cello", frozen)]
pub struct PyGraphQLStream {
    incoming: Mutex<Option<mpsc::UnboundedSender<String>>>,
    task: Mutex<Option<AbortHandle>>,
}

#[pymethods]
impl PyGraphQLStream {
    /// Hands the engine one text message from the client; False once it is closed.
    fn feed(&self, text: String) -> bool {
        let incoming = self.incoming.lock().ok();
        incoming
            .as_ref()
            .and_then(|slot| slot.as_ref())
            .is_some_and(|sender| sender.send(text).is_ok())
    }

    /// Stops the stream: its operations end and their generators are closed.
    fn close(&self) {
        if let Ok(mut slot) = self.incoming.lock() {
            slot.take();
        }
        if let Some(task) = self.task.lock().ok().and_then(|mut slot| slot.take()) {
            task.abort();
        }
    }
}

impl Drop for PyGraphQLStream {
    fn drop(&mut self) {
        self.close();
    }
}

/// The answer to a malformed request, as `serve_http` gives it: `(status, type, body, allow)`.
pub fn answer(py: Python<'_>, response: &HttpResponse) -> PyResult<Py<PyAny>> {
    let items = [
        response.status.as_u16().into_pyobject(py)?.into_any(),
        response.content_type.into_pyobject(py)?.into_any(),
        PyBytes::new(py, &response.body).into_any(),
        response.allow.into_pyobject(py)?.into_any(),
    ];
    Ok(PyTuple::new(py, items)?.into_any().unbind())
}

/// One operation as SSE events (`next` per response, then `complete`), each handed to
/// `sink` as bytes.
pub fn serve_sse(
    engine: &Arc<Engine<PyHost>>,
    request: async_graphql::Request,
    sink: Py<PyAny>,
    context: RequestContext,
) -> PyResult<PyGraphQLStream> {
    let driver = Python::attach(|py| context.driver.clone_ref(py));
    let events = engine
        .subscribe(request, context)
        .map(|response| http::sse_next(&response))
        .chain(stream::once(async { http::SSE_COMPLETE.to_vec() }));
    let task = run(&driver, sink, events, |py, event| {
        Ok(PyBytes::new(py, &event).into_any())
    })?;
    Ok(PyGraphQLStream {
        incoming: Mutex::new(None),
        task: Mutex::new(Some(task)),
    })
}

/// A WebSocket connection speaking `protocol`; outgoing messages reach `sink` as
/// `("text", str)` or `("close", code, reason)`. `None` for an unknown subprotocol.
pub fn serve_websocket(
    engine: &Arc<Engine<PyHost>>,
    protocol: &str,
    sink: Py<PyAny>,
    context: RequestContext,
) -> PyResult<Option<PyGraphQLStream>> {
    let driver = Python::attach(|py| context.driver.clone_ref(py));
    let (sender, receiver) = mpsc::unbounded_channel::<String>();
    let incoming = Box::pin(stream::unfold(receiver, |mut receiver| async move {
        let text = receiver.recv().await?;
        Some((text, receiver))
    }));
    let Some(messages) = engine.websocket(protocol, incoming, context) else {
        return Ok(None);
    };
    let task = run(&driver, sink, messages, |py, message| {
        Ok(match message {
            Outgoing::Text(text) => ("text", text).into_pyobject(py)?.into_any(),
            Outgoing::Close(code, reason) => ("close", code, reason).into_pyobject(py)?.into_any(),
        })
    })?;
    Ok(Some(PyGraphQLStream {
        incoming: Mutex::new(Some(sender)),
        task: Mutex::new(Some(task)),
    }))
}

/// Drives `items` on the driver's runtime, handing each (converted with the GIL) to
/// `sink`, then `None`. `sink` answers `None`, or a future when its queue is full: the
/// next item is pulled (and so the subscription's generator stepped) once it is done.
fn run<T: 'static>(
    driver: &Py<PyDriver>,
    sink: Py<PyAny>,
    items: impl Stream<Item = T> + 'static,
    convert: impl for<'py> Fn(Python<'py>, T) -> PyResult<Bound<'py, PyAny>> + 'static,
) -> PyResult<AbortHandle> {
    let state = driver.get().state()?;
    let shared = state.shared.clone();
    let _guard = state.runtime.enter();
    let handle = state.local.spawn_local(async move {
        let mut items = Box::pin(items);
        loop {
            let item = items.next().await;
            let last = item.is_none();
            let room = Python::attach(|py| {
                let delivered = match item {
                    Some(item) => convert(py, item).and_then(|item| sink.call1(py, (item,))),
                    None => sink.call1(py, (py.None(),)),
                };
                let room = delivered.and_then(|answer| wait_for(py, answer.bind(py)));
                shared.after_python(py);
                room.unwrap_or_else(|error| {
                    error.print(py);
                    None
                })
            });
            if last {
                break;
            }
            if let Some((future, done)) = room {
                // The future is kept alive until it is done (its done-callback holds the
                // sender), then dropped with the GIL.
                let _ = done.await;
                Python::attach(|_py| drop(future));
            }
        }
    });
    Ok(handle.abort_handle())
}

/// `answer` (a future) and a channel completed when it is done; `None` for `None`.
fn wait_for(py: Python<'_>, answer: &Bound<'_, PyAny>) -> PyResult<Option<Waiting>> {
    if answer.is_none() {
        return Ok(None);
    }
    let (sender, receiver) = oneshot::channel();
    answer.call_method1(
        intern!(py, "add_done_callback"),
        (TaskSettled::new(sender),),
    )?;
    Ok(Some((answer.clone().unbind(), receiver)))
}

type Waiting = (Py<PyAny>, oneshot::Receiver<()>);
