//! Routing one request: the route's handler (through its blueprint's middleware, if
//! any), or the router's own answers (OPTIONS, 405, the trailing-slash redirect, 404).

use std::rc::Rc;

use bytes::Bytes;
use cello_http::{
    problem_response, Buffered, ConnInfo, Request, RequestBody, Response, ResponseBody,
};
use cello_middleware::Chain;
use cello_router::Lookup;
use http::header::{ALLOW, LOCATION};
use http::StatusCode;

use crate::app::Route;
use crate::dispatch::{header_value, Dispatcher};
use crate::observability::Seen;
use crate::request::{OwnedParam, PyRequest};

type Params = Vec<(Box<str>, OwnedParam)>;

impl Dispatcher {
    /// Answers one request (also used in-process by the test client).
    pub async fn respond(&self, request: Request, conn: Option<ConnInfo>) -> Response {
        self.respond_traced(request, conn, None).await
    }

    /// [`Self::respond`] for an observed request: `seen` has its span's ids, and
    /// learns its route.
    pub async fn respond_traced<'r>(
        &'r self,
        request: Request,
        conn: Option<ConnInfo>,
        seen: Option<&Seen<'r>>,
    ) -> Response {
        #[cfg(feature = "grpc")]
        if let Some(host) = &self.grpc {
            let flavor = request
                .headers()
                .get(http::header::CONTENT_TYPE)
                .and_then(|value| value.to_str().ok())
                .and_then(cello_protocols::grpc::Flavor::of)
                .filter(|flavor| host.web || *flavor == cello_protocols::grpc::Flavor::Grpc);
            if let Some(flavor) = flavor {
                if let (Some(seen), Some(method)) = (seen, host.known.get(request.uri().path())) {
                    seen.called(method);
                }
                return Box::pin(self.grpc_call(host, request, conn, flavor)).await;
            }
        }
        let (parts, body) = request.into_parts();
        let path = parts.uri.path().to_owned();
        match self.router.lookup(&parts.method, &path) {
            Lookup::Found {
                value: route,
                params,
                head_fallback,
            } => {
                if let Some(seen) = seen {
                    seen.reached(route);
                }
                let params: Params = params
                    .iter()
                    .map(|(name, value)| (Box::from(name), OwnedParam::from_router(value)))
                    .collect();
                match &route.middleware {
                    // A blueprint's own middleware runs around its routes only.
                    // The futures of the route and of a chain are boxed: this one, and
                    // the request futures around it, stay small, and are copied (as
                    // futures are when they move) for a few bytes, not kilobytes.
                    Some(chain) => {
                        let request = Request::from_parts(parts, body);
                        Box::pin(chain.run(request, conn, |request| {
                            let (parts, body) = request.into_parts();
                            self.found(route, parts, body, params, head_fallback, conn, seen)
                        }))
                        .await
                    }
                    None => {
                        Box::pin(self.found(route, parts, body, params, head_fallback, conn, seen))
                            .await
                    }
                }
            }
            Lookup::Options { allow } => {
                let mut response = Response::new(ResponseBody::Empty);
                *response.status_mut() = StatusCode::NO_CONTENT;
                response.headers_mut().insert(ALLOW, header_value(allow));
                // A CORS preflight for a blueprint route goes through that blueprint's
                // middleware, which answers it.
                match self.preflight_chain(&parts, &path) {
                    Some(chain) => {
                        let request = Request::from_parts(parts, body);
                        Box::pin(chain.run(request, conn, |_| async { response })).await
                    }
                    None => response,
                }
            }
            Lookup::MethodNotAllowed { allow } => {
                let mut response = problem_response(
                    StatusCode::METHOD_NOT_ALLOWED,
                    &format!(
                        "{} is not allowed on {path}; allowed: {allow}",
                        parts.method
                    ),
                );
                response.headers_mut().insert(ALLOW, header_value(allow));
                response
            }
            Lookup::RedirectSlash { location } => {
                let target = match parts.uri.query() {
                    Some(query) => format!("{location}?{query}"),
                    None => location,
                };
                let mut response = Response::new(ResponseBody::Empty);
                *response.status_mut() = StatusCode::TEMPORARY_REDIRECT;
                response
                    .headers_mut()
                    .insert(LOCATION, header_value(&target));
                response
            }
            Lookup::NotFound => problem_response(
                StatusCode::NOT_FOUND,
                &format!("no route matches {} {path}", parts.method),
            ),
        }
    }

    /// The blueprint chain of the route a preflight (`Access-Control-Request-Method`)
    /// asks about, if that route has one.
    fn preflight_chain(&self, parts: &http::request::Parts, path: &str) -> Option<Rc<Chain>> {
        let requested = parts.headers.get("access-control-request-method")?;
        let method = http::Method::from_bytes(requested.as_bytes()).ok()?;
        match self.router.lookup(&method, path) {
            Lookup::Found { value, .. } => value.middleware.clone(),
            _ => None,
        }
    }

    /// Reads what the route's handler needs of the body, then calls it.
    #[allow(clippy::too_many_arguments)]
    async fn found<'r>(
        &'r self,
        route: &'r Route,
        parts: http::request::Parts,
        body: RequestBody,
        params: Params,
        head_fallback: bool,
        conn: Option<ConnInfo>,
        seen: Option<&Seen<'r>>,
    ) -> Response {
        let trace = seen.and_then(Seen::trace);
        if let Some(websocket) = &route.websocket {
            return self.open_websocket(route, websocket, parts, params, conn, trace);
        }
        if let Some(upgrade) = &route.upgrade {
            if cello_http::websocket::is_upgrade(&parts.method, &parts.headers) {
                if let Some(websocket) = &upgrade.websocket {
                    return self.open_websocket(upgrade, websocket, parts, params, conn, trace);
                }
            }
        }
        let (body, pending) = if body.is_end_stream() {
            (Bytes::new(), None)
        } else {
            let max_size = route.body_limit.map_or(self.config.max_body_size, |limit| {
                limit.min(self.config.max_body_size)
            });
            // A sampled request notes the read as a child span of its server span.
            let phases = parts.extensions.get::<cello_observability::Phases>();
            let started = phases.map(|_| std::time::SystemTime::now());
            let buffered = body
                .buffer(
                    self.config.body_buffer_size.min(max_size),
                    max_size,
                    self.config.body_read_timeout,
                )
                .await;
            if let (Some(phases), Some(started)) = (phases, started) {
                phases.record("cello.read_body", started);
            }
            match buffered {
                Ok(Buffered::Complete(bytes)) => (bytes, None),
                Ok(Buffered::Partial(chunks)) => (Bytes::new(), Some(chunks)),
                Err(error) => return error.to_response(),
            }
        };
        let mut request = PyRequest::new(
            parts,
            body,
            params,
            conn.map(|c| c.peer),
            conn.is_some_and(|c| c.secure),
            None,
        );
        request.trace = trace.copied();
        request.set_pending(pending);
        let mut response = self.run_route(route, request).await;
        // With middleware, the body stays until the chain is done (the ETag layer
        // hashes it); the listeners and the test client strip every HEAD body.
        if head_fallback && self.middleware().is_none() && route.middleware.is_none() {
            cello_http::strip_body(&mut response);
        }
        response
    }
}
