//! The native half of `cello.WebSocket`: moves messages between the session task
//! (`cello_http::websocket`) and Python, as asyncio futures for async handlers and
//! blocking calls (GIL released) for sync ones.

use std::sync::Mutex;

use bytes::Bytes;
use cello_http::websocket::{Outgoing, Received};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};
use tokio::sync::mpsc;

use crate::driver::PyDriver;
use crate::request::PyRequest;

/// One WebSocket connection, as the Python facade sees it.
#[pyclass(name = "WebSocketChannel", module = "cello._cello", frozen)]
pub struct PyWebSocket {
    inbox: Mutex<Option<mpsc::Receiver<Received>>>,
    outbox: Mutex<Option<mpsc::Sender<Outgoing>>>,
    driver: Py<PyDriver>,
    /// The handshake request: path params, query, headers, cookies.
    #[pyo3(get)]
    request: Py<PyRequest>,
    /// The subprotocol chosen at the handshake, if any.
    #[pyo3(get)]
    subprotocol: Option<String>,
}

impl PyWebSocket {
    pub fn new(
        inbox: mpsc::Receiver<Received>,
        outbox: mpsc::Sender<Outgoing>,
        driver: Py<PyDriver>,
        request: Py<PyRequest>,
        subprotocol: Option<String>,
    ) -> Self {
        Self {
            inbox: Mutex::new(Some(inbox)),
            outbox: Mutex::new(Some(outbox)),
            driver,
            request,
            subprotocol,
        }
    }

    fn take_inbox(&self) -> PyResult<mpsc::Receiver<Received>> {
        self.inbox
            .lock()
            .ok()
            .and_then(|mut inbox| inbox.take())
            .ok_or_else(|| {
                PyRuntimeError::new_err("another receive() is already waiting on this WebSocket")
            })
    }

    fn put_inbox(&self, inbox: mpsc::Receiver<Received>) {
        if let Ok(mut slot) = self.inbox.lock() {
            *slot = Some(inbox);
        }
    }

    fn sender(&self) -> Option<mpsc::Sender<Outgoing>> {
        self.outbox.lock().ok().and_then(|outbox| outbox.clone())
    }
}

fn outgoing(kind: &str, data: &Bound<'_, PyAny>) -> PyResult<Outgoing> {
    Ok(match kind {
        "text" => Outgoing::Text(data.extract()?),
        "bytes" => Outgoing::Binary(Bytes::copy_from_slice(data.cast::<PyBytes>()?.as_bytes())),
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown message kind {other:?}"
            )))
        }
    })
}

fn received_to_python(py: Python<'_>, received: Option<Received>) -> PyResult<Bound<'_, PyTuple>> {
    match received {
        Some(Received::Text(text)) => PyTuple::new(
            py,
            [
                "text".into_pyobject(py)?.into_any(),
                text.into_pyobject(py)?.into_any(),
            ],
        ),
        Some(Received::Binary(data)) => PyTuple::new(
            py,
            [
                "bytes".into_pyobject(py)?.into_any(),
                PyBytes::new(py, &data).into_any(),
            ],
        ),
        Some(Received::Closed { code, reason }) => PyTuple::new(
            py,
            [
                "close".into_pyobject(py)?.into_any(),
                code.into_pyobject(py)?.into_any(),
                reason.into_pyobject(py)?.into_any(),
            ],
        ),
        None => PyTuple::new(
            py,
            [
                "close".into_pyobject(py)?.into_any(),
                1006u16.into_pyobject(py)?.into_any(),
                "".into_pyobject(py)?.into_any(),
            ],
        ),
    }
}

fn settle(py: Python<'_>, future: &Py<PyAny>, value: PyResult<Bound<'_, PyAny>>) {
    let future = future.bind(py);
    if future
        .call_method0(intern!(py, "done"))
        .and_then(|d| d.is_truthy())
        .unwrap_or(true)
    {
        return;
    }
    let outcome = match value {
        Ok(value) => future.call_method1(intern!(py, "set_result"), (value,)),
        Err(error) => future.call_method1(intern!(py, "set_exception"), (error.into_value(py),)),
    };
    if let Err(error) = outcome {
        error.print(py);
    }
}

#[pymethods]
impl PyWebSocket {
    /// Resolves `future` with the next message: `("text", str)`, `("bytes", bytes)`
    /// or `("close", code, reason)`.
    fn receive_into(slf: Py<Self>, py: Python<'_>, future: Py<PyAny>) -> PyResult<()> {
        let mut inbox = slf.get().take_inbox()?;
        let driver_object = slf.get().driver.clone_ref(py);
        let driver = driver_object.bind(py).get().state()?;
        let shared = driver.shared.clone();
        let _guard = driver.runtime.enter();
        driver.local.spawn_local(async move {
            let received = inbox.recv().await;
            Python::attach(|py| {
                slf.get().put_inbox(inbox);
                settle(
                    py,
                    &future,
                    received_to_python(py, received).map(Bound::into_any),
                );
                shared.after_python(py);
            });
        });
        Ok(())
    }

    /// The next message, waiting without the GIL (for sync handlers on the pool).
    fn receive_blocking<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let mut inbox = self.take_inbox()?;
        let (inbox, received) = py.detach(move || {
            let received = inbox.blocking_recv();
            (inbox, received)
        });
        self.put_inbox(inbox);
        received_to_python(py, received)
    }

    /// Queues a message and resolves `future` with `True` once the session took it
    /// (`False` if the connection is gone).
    fn send_into(
        &self,
        py: Python<'_>,
        future: Py<PyAny>,
        kind: &str,
        data: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let message = outgoing(kind, data)?;
        let sender = self.sender();
        let driver = self.driver.bind(py).get().state()?;
        let shared = driver.shared.clone();
        let _guard = driver.runtime.enter();
        driver.local.spawn_local(async move {
            let sent = match sender {
                Some(sender) => sender.send(message).await.is_ok(),
                None => false,
            };
            Python::attach(|py| {
                settle(
                    py,
                    &future,
                    Ok(pyo3::types::PyBool::new(py, sent).to_owned().into_any()),
                );
                shared.after_python(py);
            });
        });
        Ok(())
    }

    /// Sends a message, waiting without the GIL (sync handlers). `False` if closed.
    fn send_blocking(&self, py: Python<'_>, kind: &str, data: &Bound<'_, PyAny>) -> PyResult<bool> {
        let message = outgoing(kind, data)?;
        let Some(sender) = self.sender() else {
            return Ok(false);
        };
        Ok(py.detach(move || sender.blocking_send(message).is_ok()))
    }

    /// Starts the closing handshake with `code` and `reason`; later sends fail.
    fn close(&self, code: u16, reason: String) {
        let sender = self.outbox.lock().ok().and_then(|mut outbox| outbox.take());
        if let Some(sender) = sender {
            // Full queue: dropping the sender still closes the connection (1000).
            let _ = sender.try_send(Outgoing::Close { code, reason });
        }
    }
}
