//! The native half of `cello.App`: the route table and the hooks the dispatcher calls.

use std::sync::Mutex;

use cello_router::{Method, RouterBuilder};
use pyo3::prelude::*;

use crate::errors::{invalid, route_error};

/// How a route's handler is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandlerKind {
    /// `def` handler, called inline on the worker's loop thread.
    Sync,
    /// `async def` handler: its coroutine becomes an asyncio task, stepped eagerly.
    Async,
    /// `def` handler marked `blocking=True`: runs on the bounded thread pool.
    Blocking,
    /// WebSocket endpoint, `async def` handler.
    WebSocketAsync,
    /// WebSocket endpoint, `def` handler (runs in the thread pool).
    WebSocketSync,
}

/// The handshake settings of a WebSocket route.
pub struct WebSocketRoute {
    /// Subprotocols the endpoint speaks, in preference order.
    pub protocols: Vec<String>,
    /// `check(request)`: the route's guards, run before the upgrade.
    pub check: Option<Py<PyAny>>,
}

impl Route {
    /// The path template, `"/users/{id}"`.
    pub fn template(&self) -> &str {
        self.label.get(self.template_at..).unwrap_or_default()
    }
}

/// One registered route, as the dispatcher needs it.
pub struct Route {
    pub handler: Py<PyAny>,
    pub kind: HandlerKind,
    /// Whether the handler takes the request as its one argument.
    pub takes_request: bool,
    /// `"GET /users/{id}"`, for messages.
    pub label: String,
    /// Where the path template starts in `label` (for metrics and spans).
    template_at: usize,
    /// Set for WebSocket endpoints.
    pub websocket: Option<WebSocketRoute>,
    /// `body_limit=` of the route: lowers the server's `max_body_size` for it.
    pub body_limit: Option<usize>,
    /// The middleware of the route's blueprint(s); one chain per blueprint, shared by
    /// its routes.
    pub middleware: Option<std::rc::Rc<cello_middleware::Chain>>,
    /// The WebSocket endpoint registered on this HTTP route's exact path: a GET that
    /// asks for an upgrade goes there, any other request here (a GraphQL endpoint
    /// answering queries over HTTP and subscriptions over WebSocket, an ASGI mount).
    pub upgrade: Option<Box<Route>>,
}

struct RouteSpec {
    methods: Vec<Method>,
    path: String,
    handler: Py<PyAny>,
    kind: HandlerKind,
    takes_request: bool,
    owner: String,
    protocols: Vec<String>,
    check: Option<Py<PyAny>>,
    body_limit: Option<usize>,
    /// `(group, specs)`: routes of one group (a blueprint) share one chain.
    middleware: Option<(usize, Vec<Py<crate::middleware::PyMiddleware>>)>,
}

/// The route table and hooks of an application. Built by `cello.App`; frozen into a
/// router each time a server or test client starts.
#[pyclass(name = "AppCore", module = "cello._cello")]
pub struct PyAppCore {
    routes: Mutex<Vec<RouteSpec>>,
    /// Validates registrations as they come, so a conflict fails at the decorator.
    probe: Mutex<RouterBuilder<()>>,
    /// Which paths have a GET route and which a WebSocket route, so that one of each
    /// on the same path shares it instead of conflicting (see [`Route::upgrade`]).
    pairing: Mutex<Pairing>,
}

#[derive(Default)]
struct Pairing {
    http_get: std::collections::HashSet<String>,
    websocket: std::collections::HashSet<String>,
    paired: std::collections::HashSet<String>,
}

impl Pairing {
    /// The methods to check for conflicts: GET is left out for the second of a GET
    /// route and a WebSocket route on one path (the pair shares it).
    fn methods_to_check(&mut self, methods: &[Method], path: &str, websocket: bool) -> Vec<Method> {
        let has_get = methods.contains(&Method::GET);
        let pairs = if websocket {
            self.http_get.contains(path)
        } else {
            has_get && self.websocket.contains(path)
        };
        if pairs && self.paired.insert(path.to_owned()) {
            return methods
                .iter()
                .filter(|m| **m != Method::GET)
                .cloned()
                .collect();
        }
        if websocket {
            self.websocket.insert(path.to_owned());
        } else if has_get {
            self.http_get.insert(path.to_owned());
        }
        methods.to_vec()
    }
}

#[pymethods]
impl PyAppCore {
    #[new]
    fn new() -> Self {
        Self {
            routes: Mutex::new(Vec::new()),
            probe: Mutex::new(RouterBuilder::new()),
            pairing: Mutex::new(Pairing::default()),
        }
    }

    /// Registers `handler` for `methods` on `path`. `kind` is "sync", "async",
    /// "blocking", "websocket-async" or "websocket-sync"; `owner` names the handler in
    /// error messages. WebSocket routes take their `subprotocols` and a handshake
    /// `check(request)`.
    #[pyo3(signature = (methods, path, handler, kind, takes_request, owner, subprotocols = None, check = None, body_limit = None, middleware = None))]
    #[allow(clippy::too_many_arguments)]
    fn add_route(
        &self,
        methods: Vec<String>,
        path: String,
        handler: Py<PyAny>,
        kind: &str,
        takes_request: bool,
        owner: String,
        subprotocols: Option<Vec<String>>,
        check: Option<Py<PyAny>>,
        body_limit: Option<usize>,
        middleware: Option<(usize, Vec<Py<crate::middleware::PyMiddleware>>)>,
    ) -> PyResult<()> {
        let kind = match kind {
            "sync" => HandlerKind::Sync,
            "async" => HandlerKind::Async,
            "blocking" => HandlerKind::Blocking,
            "websocket-async" => HandlerKind::WebSocketAsync,
            "websocket-sync" => HandlerKind::WebSocketSync,
            other => return Err(invalid(format!("unknown handler kind {other:?}"))),
        };
        let methods = methods
            .into_iter()
            .map(|name| {
                Method::from_bytes(name.to_ascii_uppercase().as_bytes())
                    .map_err(|_| invalid(format!("{name:?} is not an HTTP method")))
            })
            .collect::<PyResult<Vec<_>>>()?;
        let websocket = matches!(
            kind,
            HandlerKind::WebSocketAsync | HandlerKind::WebSocketSync
        );
        let checked = self
            .pairing
            .lock()
            .map_err(|_| invalid("route table poisoned"))?
            .methods_to_check(&methods, &path, websocket);
        if !checked.is_empty() {
            self.probe
                .lock()
                .map_err(|_| invalid("route table poisoned"))?
                .insert(&checked, &path, (), &owner)
                .map_err(|error| route_error(&error))?;
        }
        self.routes
            .lock()
            .map_err(|_| invalid("route table poisoned"))?
            .push(RouteSpec {
                methods,
                path,
                handler,
                kind,
                takes_request,
                owner,
                protocols: subprotocols.unwrap_or_default(),
                check,
                body_limit,
                middleware,
            });
        Ok(())
    }

    /// `(method, path, owner)` for every registered route, in registration order.
    fn routes(&self) -> Vec<(String, String, String)> {
        let routes = self.routes.lock().expect("route table lock");
        routes
            .iter()
            .flat_map(|spec| {
                spec.methods
                    .iter()
                    .map(|method| (method.to_string(), spec.path.clone(), spec.owner.clone()))
            })
            .collect()
    }
}

impl PyAppCore {
    /// Freezes the current routes into a router.
    pub fn build_router(&self, py: Python<'_>) -> PyResult<cello_router::Router<Route>> {
        let routes = self
            .routes
            .lock()
            .map_err(|_| invalid("route table poisoned"))?;
        let mut builder = RouterBuilder::new();
        let mut chains: std::collections::HashMap<
            usize,
            Option<std::rc::Rc<cello_middleware::Chain>>,
        > = std::collections::HashMap::new();
        // A WebSocket route and a GET route on the same path become one route whose
        // `upgrade` is the WebSocket endpoint.
        let mut built: Vec<(Vec<Method>, &RouteSpec, Route)> = Vec::with_capacity(routes.len());
        for spec in routes.iter() {
            let middleware = match &spec.middleware {
                None => None,
                Some((group, specs)) => match chains.get(group) {
                    Some(chain) => chain.clone(),
                    None => {
                        let chain =
                            crate::middleware::build_chain_of(specs.iter().map(|s| s.get()))?
                                .map(std::rc::Rc::new);
                        chains.insert(*group, chain.clone());
                        chain
                    }
                },
            };
            let label = format!(
                "{} {}",
                spec.methods
                    .iter()
                    .map(Method::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
                spec.path
            );
            let websocket = matches!(
                spec.kind,
                HandlerKind::WebSocketAsync | HandlerKind::WebSocketSync
            )
            .then(|| WebSocketRoute {
                protocols: spec.protocols.clone(),
                check: spec.check.as_ref().map(|check| check.clone_ref(py)),
            });
            let route = Route {
                handler: spec.handler.clone_ref(py),
                kind: spec.kind,
                takes_request: spec.takes_request,
                template_at: label.find(' ').map_or(0, |space| space + 1),
                label,
                websocket,
                body_limit: spec.body_limit,
                middleware,
                upgrade: None,
            };
            built.push((spec.methods.clone(), spec, route));
        }
        let mut websockets: std::collections::HashMap<String, Route> =
            std::collections::HashMap::new();
        let mut rest = Vec::with_capacity(built.len());
        for (methods, spec, route) in built {
            let pairs_with_get = routes.iter().any(|other| {
                other.path == spec.path
                    && other.methods.contains(&Method::GET)
                    && !matches!(
                        other.kind,
                        HandlerKind::WebSocketAsync | HandlerKind::WebSocketSync
                    )
            });
            if route.websocket.is_some() && pairs_with_get && !websockets.contains_key(&spec.path) {
                websockets.insert(spec.path.clone(), route);
            } else {
                rest.push((methods, spec, route));
            }
        }
        for (methods, spec, mut route) in rest {
            if route.websocket.is_none() && methods.contains(&Method::GET) {
                route.upgrade = websockets.remove(&spec.path).map(Box::new);
            }
            builder
                .insert(&methods, &spec.path, route, &spec.owner)
                .map_err(|error| route_error(&error))?;
        }
        Ok(builder.freeze())
    }
}
