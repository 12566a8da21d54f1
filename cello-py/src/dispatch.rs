//! Request → route → Python handler → response, for one worker.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use cello_http::{
    problem_response, ConnInfo, Handler, Request, Response, ResponseBody, ShutdownHandle,
};
use cello_observability::Phases;
use cello_router::Router;
use http::header::HeaderValue;
use http::StatusCode;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyList;
use tokio::sync::oneshot;

use crate::app::{HandlerKind, Route};
use crate::current::{with_current_request, with_request_context};
use crate::driver::LoopShared;
use crate::request::PyRequest;
use crate::response::{to_response, ResponseContext};
use crate::streaming::BackgroundBody;

/// Python callables the dispatcher needs, supplied by `cello.App`.
pub struct Hooks {
    /// `(request, exc) -> response | awaitable`: exception handlers, HTTPException,
    /// problem+json for everything else.
    pub on_error: Py<PyAny>,
    /// `coroutine -> asyncio.Task`, eager where Python supports it.
    pub start_task: Py<PyAny>,
    /// The `App` object (`request.app`).
    pub app: Py<PyAny>,
    /// Called once when the worker has served `max_requests`; without it the server
    /// simply drains and stops.
    pub on_retire: Option<Py<PyAny>>,
    /// The worker's driver (WebSocket channels spawn their tasks through it).
    pub driver: Py<crate::driver::PyDriver>,
    /// `app.enable_logging()`: `(method, target, status, ms, size, request_id, client,
    /// route, user_agent, referer, http_version)` after each response, for Python's
    /// `logging`. `None`: no call, no GIL.
    pub request_logger: Option<Py<PyAny>>,
}

/// Engine settings the dispatcher applies per request.
pub struct DispatchConfig {
    pub max_body_size: usize,
    /// Bodies up to this size are read before the handler runs; larger ones stream.
    pub body_buffer_size: usize,
    /// Limits and timers of WebSocket sessions.
    pub websocket: cello_http::websocket::WebSocketSettings,
    pub body_read_timeout: Duration,
    pub access_log: bool,
    pub max_requests: Option<u64>,
}

/// Routes requests and calls handlers. One per worker (or test client).
pub struct Dispatcher {
    pub(crate) router: Router<Route>,
    pub(crate) hooks: Hooks,
    pub(crate) shared: Rc<LoopShared>,
    pub(crate) config: DispatchConfig,
    served: Cell<u64>,
    pub shutdown: RefCell<Option<ShutdownHandle>>,
    /// The built-in middleware; `None` when the app enabled none (the plain path).
    middleware: Option<cello_middleware::Chain>,
    /// Metrics and health probes; `None` when the app enabled neither (no cost).
    pub(crate) observability: Option<crate::observability::Observability>,
    /// gRPC servicers; `None` when the app registered none (no cost).
    #[cfg(feature = "grpc")]
    pub(crate) grpc: Option<crate::grpc::GrpcHost>,
}

/// The outcome of the first, GIL-holding part of a request.
enum Started {
    Answered(Response),
    Running(Py<PyRequest>, Step),
}

enum Step {
    Value(Py<PyAny>),
    Error(PyErr),
    Awaiting(Py<PyAny>, oneshot::Receiver<()>),
    Blocking,
}

/// Completes a oneshot channel when an asyncio task finishes (its done-callback).
#[pyclass(module = "cello._cello")]
struct TaskDone {
    sender: Mutex<Option<oneshot::Sender<()>>>,
}

#[pymethods]
impl TaskDone {
    fn __call__(&self, _task: &Bound<'_, PyAny>) {
        if let Some(sender) = self.sender.lock().ok().and_then(|mut slot| slot.take()) {
            let _ = sender.send(());
        }
    }
}

impl Handler for Dispatcher {
    fn call(
        self: Rc<Self>,
        request: Request,
        conn: ConnInfo,
    ) -> impl std::future::Future<Output = Response> + 'static {
        // Boxed once here: the request future is large (it holds every state of a
        // request), and the layers above (panic guard, hyper's dispatcher) would
        // otherwise copy it by value. memmove was 6% of a worker's profile before.
        Box::pin(async move {
            let started = self.config.access_log.then(Instant::now);
            let method = started.map(|_| (request.method().clone(), request.uri().clone()));
            let response = self.serve(request, Some(conn)).await;
            if let (Some(started), Some((method, uri))) = (started, method) {
                crate::observability::access_log(
                    &conn,
                    &method,
                    &uri,
                    &response,
                    started.elapsed(),
                );
            }
            self.count_request();
            response
        })
    }
}

impl Dispatcher {
    pub fn new(
        router: Router<Route>,
        hooks: Hooks,
        shared: Rc<LoopShared>,
        config: DispatchConfig,
        middleware: Option<cello_middleware::Chain>,
    ) -> Self {
        Self {
            router,
            hooks,
            shared,
            config,
            served: Cell::new(0),
            shutdown: RefCell::new(None),
            middleware,
            observability: None,
            #[cfg(feature = "grpc")]
            grpc: None,
        }
    }

    /// Turns on metrics and health probes for this engine (before it serves).
    pub(crate) fn set_observability(&mut self, observability: crate::observability::Observability) {
        self.observability = Some(observability);
    }

    /// The built-in middleware chain, if the app enabled any.
    pub(crate) fn middleware(&self) -> Option<&cello_middleware::Chain> {
        self.middleware.as_ref()
    }

    /// Answers one request through the middleware chain, if any (the listeners and
    /// the in-process test client both come here).
    pub async fn serve(&self, mut request: Request, conn: Option<ConnInfo>) -> Response {
        let mut observed = None;
        if let Some(observability) = &self.observability {
            let answers_early = self.middleware.is_some();
            match observability.begin(
                &self.router,
                &mut request,
                conn,
                answers_early,
                &mut observed,
            ) {
                crate::observability::Begin::Bypass => return self.respond(request, conn).await,
                crate::observability::Begin::Refuse(response) => return response,
                crate::observability::Begin::Observe => {}
            }
        }
        let logged = self.hooks.request_logger.as_ref().map(|_| {
            let target = request
                .uri()
                .path_and_query()
                .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
            let header = |name: http::header::HeaderName| {
                request
                    .headers()
                    .get(name)
                    .and_then(|value| value.to_str().ok())
                    .map(str::to_owned)
            };
            LoggedRequest {
                started: Instant::now(),
                method: request.method().clone(),
                target,
                user_agent: header(http::header::USER_AGENT),
                referer: header(http::header::REFERER),
                version: request.version(),
            }
        });
        let seen = observed.as_ref().map(crate::observability::Observed::seen);
        let mut response = match &self.middleware {
            // Boxed, as in `respond_traced`: this future stays small.
            Some(chain) => {
                Box::pin(chain.run(request, conn, |request| {
                    self.respond_traced(request, conn, seen)
                }))
                .await
            }
            None => self.respond_traced(request, conn, seen).await,
        };
        if let (Some(logger), Some(logged)) = (&self.hooks.request_logger, logged) {
            self.log_request(logger, &response, &logged, conn);
        }
        if let Some(observed) = observed {
            observed.finish(&mut response);
        }
        response
    }

    fn log_request(
        &self,
        logger: &Py<PyAny>,
        response: &Response,
        logged: &LoggedRequest,
        conn: Option<ConnInfo>,
    ) {
        use http_body::Body as _;
        let LoggedRequest {
            started,
            method,
            target,
            ..
        } = logged;
        let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        let path = target
            .split_once('?')
            .map_or(target.as_str(), |(path, _)| path);
        // The route template, for logs grouped by endpoint (not raw paths).
        let route = match self.router.lookup(method, path) {
            cello_router::Lookup::Found { value, .. } => {
                value.label.split_once(' ').map(|(_, template)| template)
            }
            _ => None,
        };
        let version = match logged.version {
            http::Version::HTTP_10 => "HTTP/1.0",
            http::Version::HTTP_2 => "HTTP/2.0",
            http::Version::HTTP_3 => "HTTP/3.0",
            _ => "HTTP/1.1",
        };
        let size = response.body().size_hint().exact();
        let request_id = response
            .headers()
            .get("x-request-id")
            .and_then(|value| value.to_str().ok());
        let client = conn.map(|c| c.peer.to_string());
        Python::attach(|py| {
            let arguments = (
                method.as_str(),
                target,
                response.status().as_u16(),
                elapsed_ms,
                size,
                request_id,
                client,
                route,
                logged.user_agent.as_deref(),
                logged.referer.as_deref(),
                version,
            );
            if let Err(error) = logger.call1(py, arguments) {
                error.print(py);
            }
            self.shared.after_python(py);
        });
    }

    fn count_request(&self) {
        let served = self.served.get() + 1;
        self.served.set(served);
        if self.config.max_requests != Some(served) {
            return;
        }
        match &self.hooks.on_retire {
            Some(on_retire) => Python::attach(|py| {
                if let Err(error) = on_retire.call0(py) {
                    error.print(py);
                }
                self.shared.after_python(py);
            }),
            None => {
                if let Some(handle) = self.shutdown.borrow().as_ref() {
                    handle.shutdown();
                }
            }
        }
    }

    pub(crate) async fn run_route(&self, route: &Route, request: PyRequest) -> Response {
        // A sampled request's steps become child spans (`Phases`); unsampled and
        // untraced requests have none, and these cost an `Option` check.
        let phases = request.phases.clone();
        let mut handler_started = phases.as_ref().map(|_| SystemTime::now());
        let phases = phases.as_ref();
        // One GIL acquisition covers the common case: the handler answers at once and
        // its value converts; everything else continues in the loop below.
        let started = Python::attach(|py| {
            let mut request = request;
            request.app = Some(self.hooks.app.clone_ref(py));
            let request = match Py::new(py, request) {
                Ok(request) => request,
                Err(error) => return Started::Answered(internal_error(py, &error, &route.label)),
            };
            let step = match self.invoke(py, route, &request) {
                Step::Value(value) => {
                    handler_done(phases, &mut handler_started);
                    match encoding(phases, || self.convert(py, &value, &request)) {
                        Ok(response) => {
                            drop(value);
                            drop(request);
                            self.shared.after_python(py);
                            return Started::Answered(response);
                        }
                        Err(error) => Step::Error(error),
                    }
                }
                other => other,
            };
            self.shared.after_python(py);
            Started::Running(request, step)
        });
        let (request, mut step) = match started {
            Started::Running(request, step) => (request, step),
            Started::Answered(response) => return response,
        };
        let request = HeldRequest(Some(request));
        let mut handled_error = false;
        loop {
            step = match step {
                Step::Awaiting(task, done) => {
                    let _ = done.await;
                    Python::attach(|py| task_outcome(task.bind(py)))
                }
                Step::Blocking => {
                    let (handler, argument, context) = Python::attach(|py| {
                        (
                            route.handler.clone_ref(py),
                            request.get().clone_ref(py),
                            self.observability
                                .as_ref()
                                .and_then(|observability| observability.python_context(py)),
                        )
                    });
                    let takes_request = route.takes_request;
                    let joined = tokio::task::spawn_blocking(move || {
                        Python::attach(|py| {
                            // The request's span is current on the pool thread too.
                            let token = context
                                .as_ref()
                                .and_then(|context| context.enter(py, argument.get()));
                            let result = with_current_request(py, &argument, || {
                                if takes_request {
                                    handler.call1(py, (argument.clone_ref(py),))
                                } else {
                                    handler.call0(py)
                                }
                            });
                            if let (Some(context), Some(token)) = (&context, token) {
                                context.exit(py, token);
                            }
                            match result {
                                Ok(value) => Step::Value(value),
                                Err(error) => Step::Error(error),
                            }
                        })
                    })
                    .await;
                    joined.unwrap_or_else(|_| {
                        Step::Error(pyo3::exceptions::PyRuntimeError::new_err(
                            "blocking handler panicked",
                        ))
                    })
                }
                Step::Value(value) => {
                    handler_done(phases, &mut handler_started);
                    let converted = Python::attach(|py| {
                        let result = encoding(phases, || self.convert(py, &value, request.get()));
                        drop(value);
                        // Converting may start asyncio work (a stream's pump task).
                        self.shared.after_python(py);
                        result
                    });
                    match converted {
                        Ok(response) => return response,
                        Err(error) => Step::Error(error),
                    }
                }
                Step::Error(error) if !handled_error => {
                    handler_done(phases, &mut handler_started);
                    handled_error = true;
                    Python::attach(|py| {
                        let hook_result = self
                            .hooks
                            .on_error
                            .call1(py, (request.get().clone_ref(py), error.into_value(py)));
                        let step = match hook_result {
                            Ok(value) => self.maybe_await(py, value),
                            Err(hook_error) => Step::Error(hook_error),
                        };
                        self.shared.after_python(py);
                        step
                    })
                }
                Step::Error(error) => {
                    return Python::attach(|py| internal_error(py, &error, &route.label));
                }
            };
        }
    }

    /// Calls the handler: a value, an error, a running task, or "go to the pool".
    fn invoke(&self, py: Python<'_>, route: &Route, request: &Py<PyRequest>) -> Step {
        if route.kind == HandlerKind::Blocking {
            return Step::Blocking;
        }
        // The coroutine's task copies the context when it starts, so an async handler
        // still sees its request (for `BackgroundTasks()`) after it suspends.
        let scope = if route.kind == HandlerKind::Async {
            with_request_context
        } else {
            with_current_request
        };
        let trace = self.observability.as_ref().and_then(|observability| {
            Some((
                observability,
                observability.enter_python_context(py, request.get())?,
            ))
        });
        let outcome = scope(py, request, || {
            let result = if route.takes_request {
                route.handler.call1(py, (request.clone_ref(py),))
            } else {
                route.handler.call0(py)
            };
            Ok(match result {
                Ok(value) if route.kind == HandlerKind::Async => self.maybe_await(py, value),
                Ok(value) => Step::Value(value),
                Err(error) => Step::Error(error),
            })
        });
        if let Some((observability, token)) = trace {
            observability.exit_python_context(py, token);
        }
        outcome.unwrap_or_else(Step::Error)
    }

    /// The response for a handler's value, with the request's background tasks
    /// attached to run once it has been sent.
    pub(crate) fn convert(
        &self,
        py: Python<'_>,
        value: &Py<PyAny>,
        request: &Py<PyRequest>,
    ) -> PyResult<Response> {
        let background = RefCell::new(request.get().take_background());
        let context = ResponseContext {
            shared: &self.shared,
            background: &background,
            // Borrowed, not cloned: only file responses read them (Range, If-Range).
            request_headers: Some(&request.get().headers),
        };
        let mut response = to_response(value.bind(py), &context)?;
        let tasks = background.into_inner();
        if !tasks.is_empty() {
            let tasks = PyList::new(py, tasks)?.into_any().unbind();
            let body = std::mem::replace(response.body_mut(), ResponseBody::Empty);
            *response.body_mut() =
                ResponseBody::stream(BackgroundBody::new(body, tasks, self.shared.clone()));
        }
        Ok(response)
    }

    /// Starts a task for an awaitable (coroutine) and returns its outcome if it
    /// finished eagerly; plain values pass through.
    fn maybe_await(&self, py: Python<'_>, value: Py<PyAny>) -> Step {
        let bound = value.bind(py);
        let awaitable = bound.hasattr(intern!(py, "__await__")).unwrap_or(false);
        if !awaitable {
            return Step::Value(value);
        }
        let task = match self.hooks.start_task.call1(py, (value,)) {
            Ok(task) => task,
            Err(error) => return Step::Error(error),
        };
        let task = task.into_bound(py);
        if task
            .call_method0(intern!(py, "done"))
            .and_then(|d| d.is_truthy())
            .unwrap_or(false)
        {
            return task_outcome(&task);
        }
        let (sender, receiver) = oneshot::channel();
        let callback = TaskDone {
            sender: Mutex::new(Some(sender)),
        };
        match task.call_method1(intern!(py, "add_done_callback"), (callback,)) {
            Ok(_) => Step::Awaiting(task.unbind(), receiver),
            Err(error) => Step::Error(error),
        }
    }
}

/// Notes the handler's step (a child span of a sampled request) once: when its
/// value or error is there.
fn handler_done(phases: Option<&Phases>, started: &mut Option<SystemTime>) {
    if let (Some(phases), Some(start)) = (phases, started.take()) {
        phases.record("cello.handler", start);
    }
}

/// Runs `encode` (a handler's value to a response), noted as a step of a sampled
/// request.
fn encoding<T>(phases: Option<&Phases>, encode: impl FnOnce() -> T) -> T {
    let start = phases.map(|_| SystemTime::now());
    let result = encode();
    if let (Some(phases), Some(start)) = (phases, start) {
        phases.record("cello.encode_response", start);
    }
    result
}

/// What the access log needs of a request, taken before it is consumed.
struct LoggedRequest {
    started: Instant,
    method: http::Method,
    target: String,
    user_agent: Option<String>,
    referer: Option<String>,
    version: http::Version,
}

/// The request object of a handler still running; released with the GIL held.
struct HeldRequest(Option<Py<PyRequest>>);

impl HeldRequest {
    fn get(&self) -> &Py<PyRequest> {
        self.0.as_ref().expect("present until dropped")
    }
}

impl Drop for HeldRequest {
    fn drop(&mut self) {
        if let Some(request) = self.0.take() {
            Python::attach(|_| drop(request));
        }
    }
}

fn task_outcome(task: &Bound<'_, PyAny>) -> Step {
    match task.call_method0(intern!(task.py(), "result")) {
        Ok(value) => Step::Value(value.unbind()),
        Err(error) => Step::Error(error),
    }
}

/// The last resort when even the error hook failed: log the traceback, answer a
/// bare 500 that reveals nothing.
pub(crate) fn internal_error(py: Python<'_>, error: &PyErr, label: &str) -> Response {
    eprintln!("cello: unhandled error in {label}; traceback follows");
    error.print(py);
    problem_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "the server failed while handling this request",
    )
}

pub(crate) fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static(""))
}
