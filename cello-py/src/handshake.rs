//! WebSocket handshakes: guards on the upgrade request, the `101`, and the session
//! whose Python handler `cello.websocket.run_handler` starts.

use bytes::Bytes;
use cello_http::{problem_response, ConnInfo, Response};
use http::header::HeaderValue;
use http::StatusCode;
use pyo3::intern;
use pyo3::prelude::*;

use crate::app::{HandlerKind, Route, WebSocketRoute};
use crate::dispatch::{internal_error, Dispatcher};
use crate::request::{OwnedParam, PyRequest};
use crate::websocket::PyWebSocket;

/// Put on requests made by the in-process test client: a WebSocket handshake
/// without a socket connects the handler to an in-memory peer and leaves that peer's
/// channel here for the client.
#[derive(Clone, Default)]
pub struct TestPeerSlot(pub std::sync::Arc<std::sync::Mutex<Option<Py<PyWebSocket>>>>);

enum Transport {
    Socket(cello_http::websocket::OnUpgrade),
    InMemory(TestPeerSlot),
}

impl Dispatcher {
    /// Answers a WebSocket handshake: guards, then `101` and a session whose handler
    /// `cello.websocket.run_handler` starts.
    pub(crate) fn open_websocket(
        &self,
        route: &Route,
        websocket: &WebSocketRoute,
        mut parts: http::request::Parts,
        params: Vec<(Box<str>, OwnedParam)>,
        conn: Option<ConnInfo>,
        trace: Option<&cello_observability::TraceIds>,
    ) -> Response {
        use cello_http::websocket;
        if !websocket::is_upgrade(&parts.method, &parts.headers) {
            let mut response = problem_response(
                StatusCode::UPGRADE_REQUIRED,
                "this endpoint speaks WebSocket; connect with a WebSocket client",
            );
            response
                .headers_mut()
                .insert(http::header::UPGRADE, HeaderValue::from_static("websocket"));
            return response;
        }
        let (accepted, negotiated) = match websocket::handshake_response(
            &parts.headers,
            &websocket.protocols,
            &self.config.websocket,
        ) {
            Ok(accepted) => accepted,
            Err(refused) => return refused,
        };
        let transport = match websocket::take_upgrade(&mut parts.extensions) {
            Some(upgrade) => Transport::Socket(upgrade),
            None => match parts.extensions.remove::<TestPeerSlot>() {
                Some(slot) => Transport::InMemory(slot),
                None => return problem_response(
                    StatusCode::NOT_IMPLEMENTED,
                    "WebSocket needs a real connection or the in-process cello.testing.TestClient",
                ),
            },
        };
        Python::attach(|py| {
            let mut request = PyRequest::new(
                parts,
                Bytes::new(),
                params,
                conn.map(|c| c.peer),
                conn.is_some_and(|c| c.secure),
                None,
            );
            request.app = Some(self.hooks.app.clone_ref(py));
            request.trace = trace.copied();
            let request = Py::new(py, request)?;
            if let Some(check) = &websocket.check {
                let verdict = check.call1(py, (request.clone_ref(py),));
                let refusal = match verdict {
                    Ok(value) if value.is_truthy(py)? => None,
                    Ok(_) => Some(problem_response(
                        StatusCode::FORBIDDEN,
                        "access denied by a guard",
                    )),
                    Err(error) => Some(self.error_response_now(py, &request, error, &route.label)),
                };
                if let Some(refusal) = refusal {
                    return Ok(refusal);
                }
            }
            let (inbox, outbox) = match transport {
                Transport::Socket(upgrade) => websocket::spawn_session(
                    upgrade,
                    self.config.websocket.clone(),
                    negotiated.deflate,
                ),
                Transport::InMemory(slot) => {
                    let (handler_side, (peer_inbox, peer_outbox)) =
                        websocket::in_memory_pair(self.config.websocket.inbox_capacity);
                    let peer = PyWebSocket::new(
                        peer_inbox,
                        peer_outbox,
                        self.hooks.driver.clone_ref(py),
                        request.clone_ref(py),
                        negotiated.subprotocol.clone(),
                    );
                    if let Ok(mut slot) = slot.0.lock() {
                        *slot = Some(Py::new(py, peer)?);
                    }
                    handler_side
                }
            };
            let channel = Py::new(
                py,
                PyWebSocket::new(
                    inbox,
                    outbox,
                    self.hooks.driver.clone_ref(py),
                    request,
                    negotiated.subprotocol,
                ),
            )?;
            py.import(intern!(py, "cello.websocket"))?.call_method1(
                intern!(py, "run_handler"),
                (
                    &route.handler,
                    channel,
                    route.kind == HandlerKind::WebSocketAsync,
                ),
            )?;
            self.shared.after_python(py);
            Ok::<_, PyErr>(accepted)
        })
        .unwrap_or_else(|error| Python::attach(|py| internal_error(py, &error, &route.label)))
    }

    /// The error hook's answer for `error`, computed synchronously (handshake guards).
    fn error_response_now(
        &self,
        py: Python<'_>,
        request: &Py<PyRequest>,
        error: PyErr,
        label: &str,
    ) -> Response {
        let answer = self
            .hooks
            .on_error
            .call1(py, (request.clone_ref(py), error.into_value(py)));
        match answer {
            Ok(value)
                if !value
                    .bind(py)
                    .hasattr(intern!(py, "__await__"))
                    .unwrap_or(false) =>
            {
                self.convert(py, &value, request)
                    .unwrap_or_else(|error| internal_error(py, &error, label))
            }
            Ok(_) => problem_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "an async exception handler cannot answer a WebSocket handshake",
            ),
            Err(error) => internal_error(py, &error, label),
        }
    }
}
