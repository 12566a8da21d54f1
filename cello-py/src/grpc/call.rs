//! One gRPC call as Python sees it: the request's messages (decoded in Rust as the
//! body arrives), the response's messages and status, metadata, deadline and
//! cancellation. `cello.grpc._server` builds grpcio's `ServicerContext` on top.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Waker;
use std::time::Instant;

use bytes::Bytes;
use cello_http::RequestBody;
use cello_protocols::grpc::{
    encode_binary, encode_frame_with, Decoder, Encoding, FrameError, Status, TextDecoder,
};
use futures_util::FutureExt;
use http::{HeaderMap, HeaderName, HeaderValue};
use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::driver::PyDriver;
use crate::streaming::PyBodySink;

pyo3::create_exception!(
    cello._cello,
    GrpcCallError,
    crate::errors::CelloError,
    "A gRPC call failed on the wire: args are (status code, message)."
);

/// Messages a call may queue before the response has started.
const PENDING_MESSAGES: usize = 16;

/// The state of one call, shared by the Python object, the dispatcher and the timer.
pub(crate) struct CallState {
    body: Option<RequestBody>,
    reading: bool,
    decoder: Decoder,
    /// gRPC-Web text: the body's base64, decoded before the frames are read.
    text: Option<TextDecoder>,
    request_ended: bool,
    request_error: Option<(u16, String)>,
    /// Initial metadata (response headers), until the head is sent.
    pub(crate) initial: HeaderMap,
    /// Frames written before the dispatcher took the head.
    pub(crate) pending: Vec<Bytes>,
    /// Where frames go once the head was sent.
    pub(crate) sink: Option<PyBodySink>,
    /// A message or the initial metadata asked for the head to be sent.
    pub(crate) started: bool,
    /// The trailers of a call that finished before the head was sent.
    pub(crate) finished: Option<HeaderMap>,
    /// `finish` ran (or the deadline or the client ended the call).
    pub(crate) done: bool,
    pub(crate) head_taken: bool,
    pub(crate) head_waker: Option<Waker>,
    /// Futures of senders waiting for the head to be taken.
    pub(crate) capacity_waiters: Vec<Py<PyAny>>,
    pub(crate) encoding: Encoding,
    max_send: usize,
    pub(crate) cancelled: bool,
    /// The Python task running the handler, cancelled if the call ends under it.
    pub(crate) task: Option<Py<PyAny>>,
    pub(crate) timer: Option<tokio::task::AbortHandle>,
}

pub(crate) type Shared = Arc<Mutex<CallState>>;

pub(crate) fn lock(state: &Shared) -> MutexGuard<'_, CallState> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl CallState {
    pub(crate) fn new(
        body: RequestBody,
        decoder: Decoder,
        text: Option<TextDecoder>,
        max_send: usize,
    ) -> Self {
        Self {
            body: Some(body),
            reading: false,
            decoder,
            text,
            request_ended: false,
            request_error: None,
            initial: HeaderMap::new(),
            pending: Vec::new(),
            sink: None,
            started: false,
            finished: None,
            done: false,
            head_taken: false,
            head_waker: None,
            capacity_waiters: Vec::new(),
            encoding: Encoding::Identity,
            max_send,
            cancelled: false,
            task: None,
            timer: None,
        }
    }

    /// Adds a chunk of the request body (base64-decoded first for gRPC-Web text).
    fn push(&mut self, chunk: &[u8]) {
        match self.text.as_mut() {
            None => self.decoder.push(chunk),
            Some(text) => match text.push(chunk) {
                Some(bytes) => self.decoder.push(bytes.as_slice()),
                None => {
                    self.request_error = Some((13, "the grpc-web-text body is not base64".into()));
                }
            },
        }
    }

    fn wake_head(&mut self) {
        if let Some(waker) = self.head_waker.take() {
            waker.wake();
        }
    }

    /// Ends the call with `trailers`: into the body if it is being sent, else for the
    /// dispatcher to answer with. `false` if it had ended already.
    pub(crate) fn end(&mut self, trailers: HeaderMap) -> bool {
        if self.done {
            return false;
        }
        self.done = true;
        if let Some(timer) = self.timer.take() {
            timer.abort();
        }
        match &self.sink {
            Some(sink) => sink.finish_with(trailers),
            None => {
                self.finished = Some(trailers);
                self.wake_head();
            }
        }
        true
    }
}

/// The trailers of `status`.
pub(crate) fn status_trailers(status: &Status) -> HeaderMap {
    let mut map = HeaderMap::new();
    status.write_into(&mut map);
    map
}

/// Ends the call with `status` from outside Python (deadline, client gone) and
/// cancels its task.
pub(crate) fn end_from_outside(state: &Shared, status: &Status, cancelled: bool) {
    let (task, waiters) = {
        let mut call = lock(state);
        if !call.end(status_trailers(status)) {
            return;
        }
        call.cancelled = cancelled;
        (call.task.take(), std::mem::take(&mut call.capacity_waiters))
    };
    if task.is_none() && waiters.is_empty() {
        return;
    }
    Python::attach(|py| {
        for waiter in waiters {
            crate::streaming::settle(waiter.bind(py), false);
        }
        if let Some(task) = task {
            if let Err(error) = task.call_method0(py, intern!(py, "cancel")) {
                error.print(py);
            }
        }
    });
}

/// Resolves the senders waiting for the head (now that it is sent).
pub(crate) fn release_waiters(py: Python<'_>, waiters: Vec<Py<PyAny>>) {
    for waiter in waiters {
        crate::streaming::settle(waiter.bind(py), true);
    }
}

fn frame_error(error: &FrameError) -> (u16, String) {
    let code = match error {
        FrameError::TooLarge { .. } => 8,
        _ => 13,
    };
    (code, error.to_string())
}

fn metadata_pairs(items: &Bound<'_, PyAny>, into: &mut HeaderMap) -> PyResult<()> {
    for item in items.try_iter()? {
        let (name, value): (String, Bound<'_, PyAny>) = item?.extract()?;
        let name = name.to_ascii_lowercase();
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| PyValueError::new_err(format!("metadata key {name:?} is not valid")))?;
        if name.starts_with("grpc-") || name.starts_with(':') {
            return Err(PyValueError::new_err(format!(
                "metadata key {name:?} is reserved for the protocol"
            )));
        }
        let value = if name.ends_with("-bin") {
            let raw: Vec<u8> = match value.cast::<PyString>() {
                Ok(text) => text.to_str()?.as_bytes().to_vec(),
                Err(_) => value.extract()?,
            };
            HeaderValue::from_str(&encode_binary(&raw))
                .map_err(|e| PyValueError::new_err(e.to_string()))?
        } else {
            let text: String = match value.cast::<PyBytes>() {
                Ok(raw) => String::from_utf8_lossy(raw.as_bytes()).into_owned(),
                Err(_) => value.extract()?,
            };
            HeaderValue::from_str(&text).map_err(|_| {
                PyValueError::new_err(format!(
                    "metadata {name:?} must be printable ASCII (name a binary value with -bin)"
                ))
            })?
        };
        into.append(header, value);
    }
    Ok(())
}

/// A call, handed to `cello.grpc._server.dispatch`.
#[pyclass(name = "GrpcCall", module = "cello._cello", frozen)]
pub struct PyGrpcCall {
    pub(crate) state: Shared,
    pub(crate) path: String,
    pub(crate) metadata: Vec<(String, Vec<u8>)>,
    pub(crate) peer: String,
    pub(crate) deadline: Option<Instant>,
    pub(crate) accepts_gzip: bool,
}

#[pymethods]
impl PyGrpcCall {
    /// `/package.Service/Method`.
    #[getter]
    fn path(&self) -> &str {
        &self.path
    }

    /// `ipv4:127.0.0.1:5000`, as grpcio spells peers.
    #[getter]
    fn peer(&self) -> &str {
        &self.peer
    }

    /// The client's metadata: `(key, value)` pairs, `bytes` values for `-bin` keys.
    fn metadata<'py>(&self, py: Python<'py>) -> Vec<(String, Bound<'py, PyAny>)> {
        self.metadata
            .iter()
            .map(|(name, value)| {
                let value = if name.ends_with("-bin") {
                    PyBytes::new(py, value).into_any()
                } else {
                    PyString::new(py, &String::from_utf8_lossy(value)).into_any()
                };
                (name.clone(), value)
            })
            .collect()
    }

    /// Seconds left before the deadline; `None` without one.
    fn time_remaining(&self) -> Option<f64> {
        self.deadline.map(|deadline| {
            deadline
                .saturating_duration_since(Instant::now())
                .as_secs_f64()
        })
    }

    /// Whether the client cancelled, the deadline passed, or the client went away.
    fn cancelled(&self) -> bool {
        let call = lock(&self.state);
        call.cancelled || (!call.done && call.sink.as_ref().is_some_and(PyBodySink::is_closed))
    }

    /// Whether the call can still send: it has not ended.
    fn is_active(&self) -> bool {
        let call = lock(&self.state);
        !call.done && !call.sink.as_ref().is_some_and(PyBodySink::is_closed)
    }

    /// The next request message: `bytes`, `None` at the end of the stream, `False` if
    /// none has arrived yet (await `wait_recv`). Raises `GrpcCallError` for a bad frame.
    fn try_recv<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let mut guard = lock(&self.state);
        let call = &mut *guard;
        loop {
            if let Some((code, message)) = call.request_error.clone() {
                return Err(GrpcCallError::new_err((code, message)));
            }
            match call.decoder.next_message() {
                Ok(Some(message)) => return Ok(PyBytes::new(py, &message).into_any()),
                Ok(None) => {}
                Err(error) => {
                    call.request_error = Some(frame_error(&error));
                    continue;
                }
            }
            if call.request_ended {
                if call.decoder.has_partial() {
                    call.request_error = Some((13, "the request ended inside a message".into()));
                    continue;
                }
                return Ok(py.None().into_bound(py));
            }
            if call.reading {
                return Ok(pyo3::types::PyBool::new(py, false).to_owned().into_any());
            }
            let Some(body) = call.body.as_mut() else {
                call.request_ended = true;
                continue;
            };
            match body.next_data().now_or_never() {
                None => return Ok(pyo3::types::PyBool::new(py, false).to_owned().into_any()),
                Some(Ok(Some(chunk))) => call.push(&chunk),
                Some(Ok(None)) => call.request_ended = true,
                Some(Err(error)) => call.request_error = Some((1, error.to_string())),
            }
        }
    }

    /// Resolves `future` (with `None`) once `try_recv` has something new to say.
    fn wait_recv(&self, driver: &PyDriver, future: Py<PyAny>) -> PyResult<()> {
        let state = driver.state()?;
        let shared = state.shared.clone();
        let call = self.state.clone();
        let body = {
            let mut guard = lock(&call);
            guard.reading = true;
            guard.body.take()
        };
        let _guard = state.runtime.enter();
        state.local.spawn_local(async move {
            let mut body = body;
            loop {
                let next = match body.as_mut() {
                    Some(body) => body.next_data().await,
                    None => Ok(None),
                };
                let mut guard = lock(&call);
                match next {
                    Ok(Some(chunk)) => {
                        guard.push(&chunk);
                        // A whole message (or a bad frame) is there: let try_recv say.
                        if guard.decoder.has_message() || guard.request_error.is_some() {
                            break;
                        }
                    }
                    Ok(None) => {
                        guard.request_ended = true;
                        break;
                    }
                    Err(error) => {
                        guard.request_error = Some((1, error.to_string()));
                        break;
                    }
                }
            }
            {
                let mut guard = lock(&call);
                guard.body = body;
                guard.reading = false;
            }
            Python::attach(|py| {
                crate::streaming::settle(future.bind(py), py.None());
                shared.after_python(py);
            });
        });
        Ok(())
    }

    /// Sends a response message: `True`, `False` when the queue is full (await
    /// `wait_capacity` before the next), `None` once the call has ended.
    fn send(&self, message: &[u8]) -> PyResult<Option<bool>> {
        let mut call = lock(&self.state);
        if call.done {
            return Ok(None);
        }
        if message.len() > call.max_send {
            return Err(GrpcCallError::new_err((
                8u16,
                format!(
                    "Sent message larger than max ({} vs. {})",
                    message.len(),
                    call.max_send
                ),
            )));
        }
        let frame = encode_frame_with(message, call.encoding);
        call.started = true;
        if let Some(sink) = &call.sink {
            if !sink.push(frame) {
                return Ok(None);
            }
            return Ok(Some(!sink.is_full()));
        }
        call.pending.push(frame);
        call.wake_head();
        Ok(Some(call.pending.len() < PENDING_MESSAGES))
    }

    /// Resolves `future` with `True` once another message may be sent, `False` if the
    /// call has ended.
    fn wait_capacity(&self, future: &Bound<'_, PyAny>) -> PyResult<()> {
        let mut call = lock(&self.state);
        if call.done {
            drop(call);
            crate::streaming::settle(future, false);
            return Ok(());
        }
        if let Some(sink) = &call.sink {
            return sink.wait_capacity(future);
        }
        call.capacity_waiters.push(future.clone().unbind());
        Ok(())
    }

    /// Response headers, sent with the first message (or now, if none comes soon).
    fn send_initial_metadata(&self, metadata: &Bound<'_, PyAny>) -> PyResult<()> {
        let mut call = lock(&self.state);
        if call.head_taken || call.started {
            return Err(PyValueError::new_err(
                "initial metadata can be sent once, before the first response message",
            ));
        }
        metadata_pairs(metadata, &mut call.initial)?;
        call.started = true;
        call.wake_head();
        Ok(())
    }

    /// `"gzip"` or `"identity"` for the response's messages (grpcio's
    /// `set_compression`); gzip only if the client accepts it.
    fn set_compression(&self, name: &str) -> PyResult<()> {
        let encoding = Encoding::from_name(name)
            .ok_or_else(|| PyValueError::new_err(format!("unknown compression {name:?}")))?;
        let mut call = lock(&self.state);
        if call.head_taken || call.started {
            return Ok(());
        }
        call.encoding = if encoding == Encoding::Gzip && !self.accepts_gzip {
            Encoding::Identity
        } else {
            encoding
        };
        Ok(())
    }

    /// Ends the call with a status and trailing metadata. `False` if it had ended.
    #[pyo3(signature = (code, message, trailing_metadata = None))]
    fn finish(
        &self,
        code: u16,
        message: &str,
        trailing_metadata: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let mut status = Status::with_code(code, message);
        if let Some(items) = trailing_metadata {
            metadata_pairs(items, &mut status.trailers)?;
        }
        let (ended, waiters) = {
            let mut call = lock(&self.state);
            let ended = call.end(status_trailers(&status));
            call.task = None;
            (ended, std::mem::take(&mut call.capacity_waiters))
        };
        if !waiters.is_empty() {
            Python::attach(|py| {
                for waiter in waiters {
                    crate::streaming::settle(waiter.bind(py), false);
                }
            });
        }
        Ok(ended)
    }

    fn __repr__(&self) -> String {
        format!("<GrpcCall {}>", self.path)
    }
}
