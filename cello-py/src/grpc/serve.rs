//! Serving a gRPC call: the head, the Python handler (through `cello.grpc._server`),
//! the response as a unary body, a stream, or trailers only.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use cello_http::{ConnInfo, Request, Response, ResponseBody};
use cello_protocols::grpc::{
    CallHead, Code, Decoder, Flavor, GrpcBody, Status, TextDecoder, WebBody,
};
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, StatusCode};
use pyo3::intern;
use pyo3::prelude::*;

use super::call::{end_from_outside, lock, release_waiters, CallState, PyGrpcCall, Shared};
use crate::dispatch::Dispatcher;
use crate::streaming::ChannelBody;

/// gRPC, as `app.enable_grpc()` / `add_*Servicer_to_server(servicer, app)` set it up.
pub(crate) struct GrpcHost {
    /// `cello.grpc._server` registry's `dispatch(call)`: `None` when it answered at
    /// once, else a coroutine to run as a task.
    pub entry: Py<PyAny>,
    pub max_receive: usize,
    pub max_send: usize,
    /// gRPC-Web (`GrpcConfig.enable_web`).
    pub web: bool,
    /// The paths of the registered methods: the metrics label calls by them (other
    /// paths stay unlabelled, so a client cannot grow the label set).
    pub known: Arc<std::collections::HashSet<String>>,
}

/// How the response starts, once the handler has said enough.
enum Head {
    /// The call ended before the head went out: its frames (maybe none) and trailers.
    Finished(HeaderMap, Vec<bytes::Bytes>, HeaderMap),
    /// The handler is streaming (or sent its initial metadata).
    Streaming(HeaderMap, Vec<bytes::Bytes>),
}

fn grpc_response(flavor: Flavor, mut headers: HeaderMap, body: ResponseBody) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(flavor.content_type()),
    );
    *response.headers_mut() = headers;
    response
}

/// A status as a Trailers-Only response (the status in the headers, no body).
pub(crate) fn trailers_only(flavor: Flavor, status: &Status) -> Response {
    let mut headers = HeaderMap::new();
    status.write_into(&mut headers);
    grpc_response(flavor, headers, ResponseBody::Empty)
}

/// A body of messages and trailers, as HTTP trailers or as gRPC-Web's last frame.
fn flavored<B>(flavor: Flavor, body: B) -> ResponseBody
where
    B: http_body::Body<Data = bytes::Bytes, Error = cello_http::BoxError> + Unpin + 'static,
{
    match flavor {
        Flavor::Grpc => ResponseBody::stream(body),
        Flavor::Web => ResponseBody::stream(WebBody::new(body, false)),
        Flavor::WebText => ResponseBody::stream(WebBody::new(body, true)),
    }
}

fn peer(conn: Option<ConnInfo>) -> String {
    match conn.map(|conn| conn.peer) {
        Some(std::net::SocketAddr::V4(address)) => format!("ipv4:{address}"),
        Some(std::net::SocketAddr::V6(address)) => format!("ipv6:{address}"),
        None => "local:testclient".to_owned(),
    }
}

/// Cancels the handler if the client goes away before the response has started.
struct Abandoned(Shared);

impl Drop for Abandoned {
    fn drop(&mut self) {
        let taken = lock(&self.0).head_taken;
        if !taken {
            end_from_outside(&self.0, &Status::new(Code::Cancelled, "Cancelled"), true);
        }
    }
}

impl Dispatcher {
    /// Serves gRPC calls with `host` (before it serves); their spans are named by
    /// the method.
    pub(crate) fn set_grpc(&mut self, host: GrpcHost) {
        if let Some(observability) = &mut self.observability {
            observability.set_rpc_methods(host.known.clone());
        }
        self.grpc = Some(host);
    }

    /// Answers a request whose content type is `application/grpc*`.
    pub(crate) async fn grpc_call(
        &self,
        host: &GrpcHost,
        request: Request,
        conn: Option<ConnInfo>,
        flavor: Flavor,
    ) -> Response {
        let (parts, body) = request.into_parts();
        let head = match CallHead::parse(parts.uri.path(), &parts.headers) {
            Ok(head) => head,
            Err(status) => return trailers_only(flavor, &status),
        };
        if head.service_and_method().is_none() {
            return trailers_only(
                flavor,
                &Status::new(
                    Code::Unimplemented,
                    format!(
                        "{} is not a gRPC method path (/package.Service/Method)",
                        head.path
                    ),
                ),
            );
        }
        // A deadline too far to represent (99999999H) is no deadline.
        let deadline = head
            .timeout
            .and_then(|timeout| Instant::now().checked_add(timeout));
        let state: Shared = Arc::new(Mutex::new(CallState::new(
            body,
            Decoder::new(host.max_receive, head.request_encoding),
            (flavor == Flavor::WebText).then(TextDecoder::default),
            host.max_send,
        )));
        let call = PyGrpcCall {
            state: state.clone(),
            path: head.path,
            metadata: head.metadata,
            peer: peer(conn),
            deadline,
            accepts_gzip: head.accepts_gzip,
        };
        let abandoned = Abandoned(state.clone());
        let started = Python::attach(|py| {
            let outcome = (|| -> PyResult<()> {
                let call = Py::new(py, call)?;
                let value = host.entry.call1(py, (call,))?;
                if !value.is_none(py) {
                    let task = self.hooks.start_task.call1(py, (value,))?;
                    let done = task.call_method0(py, intern!(py, "done"))?.is_truthy(py)?;
                    if !done {
                        lock(&state).task = Some(task);
                    }
                }
                Ok(())
            })();
            if let Err(error) = &outcome {
                eprintln!("cello: the gRPC dispatcher failed; traceback follows");
                error.print(py);
            }
            self.shared.after_python(py);
            outcome
        });
        if started.is_err() {
            lock(&state).done = true;
            return trailers_only(
                flavor,
                &Status::new(Code::Unknown, "the server failed to start the call"),
            );
        }
        if let Some(deadline) = deadline {
            self.grpc_deadline(&state, deadline);
        }
        let head = std::future::poll_fn(|cx| {
            let mut call = lock(&state);
            if let Some(trailers) = call.finished.take() {
                call.head_taken = true;
                let initial = std::mem::take(&mut call.initial);
                return std::task::Poll::Ready(Head::Finished(
                    initial,
                    std::mem::take(&mut call.pending),
                    trailers,
                ));
            }
            if call.started {
                call.head_taken = true;
                return std::task::Poll::Ready(Head::Streaming(
                    std::mem::take(&mut call.initial),
                    std::mem::take(&mut call.pending),
                ));
            }
            call.head_waker = Some(cx.waker().clone());
            std::task::Poll::Pending
        })
        .await;
        drop(abandoned);
        let encoding = lock(&state).encoding;
        match head {
            Head::Finished(mut initial, frames, trailers) if frames.is_empty() => {
                initial.extend(trailers);
                grpc_response(flavor, initial, ResponseBody::Empty)
            }
            Head::Finished(mut initial, frames, trailers) => {
                add_encoding(&mut initial, encoding);
                let body = http_body_util::BodyExt::map_err(
                    GrpcBody::new(frames, trailers),
                    |never| -> cello_http::BoxError { match never {} },
                );
                grpc_response(flavor, initial, flavored(flavor, body))
            }
            Head::Streaming(mut initial, frames) => {
                add_encoding(&mut initial, encoding);
                let (mut body, sink) = ChannelBody::new(self.shared.clone(), None);
                for frame in frames {
                    sink.push(frame);
                }
                let waiters = {
                    let mut call = lock(&state);
                    if let Some(trailers) = call.finished.take() {
                        sink.finish_with(trailers);
                    }
                    call.sink = Some(sink);
                    if let Some(task) = &call.task {
                        Python::attach(|py| body.set_pump(task.clone_ref(py)));
                    }
                    std::mem::take(&mut call.capacity_waiters)
                };
                if !waiters.is_empty() {
                    Python::attach(|py| {
                        release_waiters(py, waiters);
                        self.shared.after_python(py);
                    });
                }
                grpc_response(flavor, initial, flavored(flavor, body))
            }
        }
    }

    /// Ends the call with DEADLINE_EXCEEDED when the client's deadline passes.
    fn grpc_deadline(&self, state: &Shared, deadline: Instant) {
        let shared = self.shared.clone();
        let timer_state = state.clone();
        let Some(timer) = self.local_spawn(async move {
            tokio::time::sleep_until(deadline.into()).await;
            end_from_outside(
                &timer_state,
                &Status::new(Code::DeadlineExceeded, "Deadline Exceeded"),
                true,
            );
            Python::attach(|py| shared.after_python(py));
        }) else {
            return;
        };
        let mut call = lock(state);
        if call.done {
            timer.abort();
        } else {
            call.timer = Some(timer);
        }
    }

    fn local_spawn(
        &self,
        task: impl std::future::Future<Output = ()> + 'static,
    ) -> Option<tokio::task::AbortHandle> {
        let driver = self.hooks.driver.get().state().ok()?;
        Some(driver.local.spawn_local(task).abort_handle())
    }
}

fn add_encoding(headers: &mut HeaderMap, encoding: cello_protocols::grpc::Encoding) {
    if encoding != cello_protocols::grpc::Encoding::Identity {
        headers.insert("grpc-encoding", HeaderValue::from_static(encoding.name()));
    }
}
