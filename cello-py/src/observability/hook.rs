//! What the dispatcher does per request when observability is on: operational paths
//! (`/metrics`, `/health/...`) skip the middleware chain, the metrics and tracing;
//! other requests are answered 503 while the worker starts (with a startup probe),
//! counted and timed, and traced.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
#[cfg(feature = "otel")]
use std::sync::Mutex;
use std::time::Instant;

use cello_http::{problem_response, ConnInfo, Request, Response};
use cello_observability::{HttpMetrics, HttpMetricsConfig};
use cello_router::{Lookup, Router};
use http::StatusCode;
use pyo3::prelude::*;

use crate::app::Route;
use crate::request::PyRequest;

#[cfg(feature = "otel")]
type Telemetry = cello_observability::telemetry::Telemetry;

/// The settings `cello.App` collected, turned into an [`Observability`] by each
/// worker's engine (after fork).
#[pyclass(name = "Observability", module = "cello._cello", frozen)]
pub struct PyObservability {
    metrics: Option<HttpMetricsConfig>,
    bypass: Vec<String>,
    started: Arc<AtomicBool>,
    /// `cello.OpenTelemetryConfig`, read when the engine starts.
    telemetry: Option<Py<PyAny>>,
    /// Makes the request span current for Python's `opentelemetry` around a
    /// handler call.
    python_context: Option<PythonContext>,
    /// Every worker engine's telemetry, for `flush()`.
    #[cfg(feature = "otel")]
    built: Mutex<Vec<Arc<Telemetry>>>,
}

#[pymethods]
impl PyObservability {
    /// `metrics`: `(namespace, subsystem)` of the request metrics, or `None`.
    /// `bypass`: paths answered without middleware, metrics, tracing or the startup
    /// gate. `gate_startup`: answer 503 to every other path until `set_started()`.
    /// `telemetry`: an `OpenTelemetryConfig` (needs the `otel` feature);
    /// `python_context`: `(attach(trace_id: int, span_id: int, sampled) -> token,
    /// detach(token))`, called around every handler, or `None` when Python finds the
    /// request's span itself (`cello.observability.telemetry.RequestRuntimeContext`).
    #[new]
    #[pyo3(signature = (metrics = None, bypass = Vec::new(), gate_startup = false, telemetry = None, python_context = None))]
    fn new(
        metrics: Option<(String, String)>,
        bypass: Vec<String>,
        gate_startup: bool,
        telemetry: Option<Py<PyAny>>,
        python_context: Option<PythonContextArguments>,
    ) -> Self {
        Self {
            metrics: metrics.map(|(namespace, subsystem)| HttpMetricsConfig {
                namespace,
                subsystem,
            }),
            bypass,
            started: Arc::new(AtomicBool::new(!gate_startup)),
            telemetry,
            python_context: python_context.map(|(attach, detach)| PythonContext { attach, detach }),
            #[cfg(feature = "otel")]
            built: Mutex::new(Vec::new()),
        }
    }

    /// The startup hooks have finished: serve every route.
    fn set_started(&self) {
        self.started.store(true, Ordering::Release);
    }

    /// Whether `set_started()` was called (or there is no startup gate).
    #[getter]
    fn started(&self) -> bool {
        self.started.load(Ordering::Acquire)
    }

    /// Exports the spans and metrics still queued (at shutdown).
    fn flush(&self, py: Python<'_>) {
        #[cfg(feature = "otel")]
        {
            let built: Vec<Arc<Telemetry>> = self
                .built
                .lock()
                .map(|built| built.clone())
                .unwrap_or_default();
            py.detach(move || {
                for telemetry in built {
                    telemetry.flush();
                }
            });
        }
        #[cfg(not(feature = "otel"))]
        let _ = py;
    }
}

#[cfg(feature = "otel")]
fn telemetry_config(
    config: &Bound<'_, PyAny>,
) -> PyResult<cello_observability::telemetry::TelemetryConfig> {
    use cello_observability::telemetry::{Protocol, TelemetryConfig};
    let endpoint: Option<String> = config.getattr("otlp_endpoint")?.extract()?;
    let protocol: Option<String> = config.getattr("protocol")?.extract()?;
    let protocol = match protocol.as_deref() {
        Some("grpc") => Protocol::Grpc,
        Some("http/protobuf" | "http") => Protocol::HttpProtobuf,
        Some(other) => {
            return Err(crate::errors::invalid(format!(
                "unknown OTLP protocol {other:?}: use 'grpc' or 'http/protobuf'"
            )))
        }
        None => endpoint
            .as_deref()
            .map_or(Protocol::Grpc, TelemetryConfig::protocol_for),
    };
    let seconds = |name: &str| -> PyResult<u64> {
        let value: f64 = config.getattr(name)?.extract()?;
        // Milliseconds of a positive, bounded number of seconds.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Ok((value.clamp(0.001, 86_400.0) * 1000.0) as u64)
    };
    Ok(TelemetryConfig {
        service_name: config.getattr("service_name")?.extract()?,
        service_version: config.getattr("service_version")?.extract()?,
        endpoint,
        protocol,
        sampling_rate: config.getattr("sampling_rate")?.extract()?,
        export_traces: config.getattr("export_traces")?.extract()?,
        export_metrics: config.getattr("export_metrics")?.extract()?,
        excluded_paths: config
            .getattr("excluded_paths")?
            .extract::<Option<Vec<String>>>()?
            .unwrap_or_default(),
        propagate_response: config.getattr("propagate_response")?.extract()?,
        export_delay_ms: seconds("export_delay_secs")?,
        metrics_interval_ms: seconds("metrics_interval_secs")?,
    })
}

impl PyObservability {
    /// The per-worker state: claims this process's worker slot in the shared region
    /// and starts the exporters.
    pub fn build(&self, py: Python<'_>) -> PyResult<Observability> {
        let metrics = match &self.metrics {
            Some(config) => {
                let region = super::metrics::region()?;
                let worker = super::metrics::worker_slot(region)?;
                Some(
                    HttpMetrics::new(region, config, worker)
                        .map_err(|e| crate::errors::metrics_error(&e))?,
                )
            }
            None => None,
        };
        #[cfg(feature = "otel")]
        let telemetry = match &self.telemetry {
            Some(config) => {
                let config = telemetry_config(config.bind(py))?;
                let telemetry = py
                    .detach(|| Telemetry::new(&config))
                    .map_err(crate::errors::invalid)?;
                let telemetry = Arc::new(telemetry);
                if let Ok(mut built) = self.built.lock() {
                    built.push(telemetry.clone());
                }
                Some(telemetry)
            }
            None => None,
        };
        #[cfg(not(feature = "otel"))]
        if self.telemetry.is_some() {
            return Err(crate::errors::invalid(
                "app.enable_telemetry() needs the `otel` feature: rebuild with \
                 `CELLO_FEATURES=otel pip install --force-reinstall .` (docs/install.md)",
            ));
        }
        Ok(Observability {
            metrics,
            bypass: self.bypass.iter().map(|p| Box::from(p.as_str())).collect(),
            started: self.started.clone(),
            #[cfg(feature = "otel")]
            telemetry,
            python_context: self
                .python_context
                .as_ref()
                .map(|context| context.clone_ref(py)),
            rpc_methods: None,
        })
    }
}

/// One worker's observability state.
pub struct Observability {
    metrics: Option<HttpMetrics>,
    /// A handful of paths: a scan (lengths first) is cheaper than hashing the path.
    bypass: Box<[Box<str>]>,
    started: Arc<AtomicBool>,
    #[cfg(feature = "otel")]
    telemetry: Option<Arc<Telemetry>>,
    python_context: Option<PythonContext>,
    /// The registered gRPC methods: a call's span is named by its method.
    rpc_methods: Option<Arc<std::collections::HashSet<String>>>,
}

/// What to do with a request.
pub enum Begin {
    /// An operational path: answer it plainly.
    Bypass,
    /// The worker is still starting: this answer.
    Refuse(Response),
    /// Serve it; the [`Observed`] written into the caller's slot records it
    /// ([`Observed::finish`]).
    Observe,
}

/// What the dispatcher hands down while it answers an observed request (by
/// reference, not in the request's extensions, which would allocate a map per
/// request), and what it learns there.
pub struct Seen<'a> {
    /// The server span (its ids are what handlers see), until the request ends.
    #[cfg(feature = "otel")]
    span: Option<TracedSpan<'a>>,
    route: Cell<Option<&'a Route>>,
    /// A gRPC call to a registered method: its path, the metrics' route label.
    rpc: Cell<Option<&'a str>>,
}

#[cfg(feature = "otel")]
type TracedSpan<'a> = (
    &'a Arc<Telemetry>,
    cello_observability::telemetry::ServerSpan,
    Option<cello_observability::Phases>,
);

impl<'a> Seen<'a> {
    /// The server span's ids, for the request handlers see (none without tracing).
    pub fn trace(&self) -> Option<&cello_observability::TraceIds> {
        #[cfg(feature = "otel")]
        if let Some((_, span, _)) = &self.span {
            return Some(span.ids());
        }
        None
    }

    /// The request reached this route: the metrics need not look it up again.
    pub fn reached(&self, route: &'a Route) {
        self.route.set(Some(route));
    }

    /// The request is a call to this registered gRPC method (`/package.Service/Method`).
    #[cfg_attr(not(feature = "grpc"), allow(dead_code))]
    pub fn called(&self, method: &'a str) {
        self.rpc.set(Some(method));
    }
}

/// The template of the route `path` resolves to for `method`.
fn route_template<'a>(
    router: &'a Router<Route>,
    method: &http::Method,
    path: &str,
) -> Option<&'a str> {
    match router.lookup(method, path) {
        Lookup::Found { value, .. } => Some(value.template()),
        _ => None,
    }
}

/// A request being measured and traced.
pub struct Observed<'a> {
    seen: Seen<'a>,
    metrics: Option<Measured<'a>>,
}

struct Measured<'a> {
    metrics: &'a HttpMetrics,
    router: &'a Router<Route>,
    _in_flight: cello_observability::http::InFlight<'a>,
    started: Instant,
    method: http::Method,
    /// The target, for the route of a request answered before it reached one (by
    /// middleware; `None` without any); most reach one and tell [`Seen::reached`].
    uri: Option<http::Uri>,
    request_size: Option<u64>,
}

impl Observability {
    /// The registered gRPC methods, whose calls' spans are named by the method.
    #[cfg_attr(not(feature = "grpc"), allow(dead_code))]
    pub fn set_rpc_methods(&mut self, methods: Arc<std::collections::HashSet<String>>) {
        self.rpc_methods = Some(methods);
    }

    /// Starts observing `request`, into `slot` (written in place: it is a few hundred
    /// bytes, which a return value would copy twice). `answers_early`: middleware may
    /// answer before the request reaches a route, which the metrics then look up
    /// themselves at the end.
    pub fn begin<'a>(
        &'a self,
        router: &'a Router<Route>,
        request: &mut Request,
        conn: Option<ConnInfo>,
        answers_early: bool,
        slot: &mut Option<Observed<'a>>,
    ) -> Begin {
        let path = request.uri().path();
        if self.bypass.iter().any(|bypassed| **bypassed == *path) {
            return Begin::Bypass;
        }
        if !self.started.load(Ordering::Acquire) {
            let mut response = problem_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "the server is starting; try again shortly",
            );
            response.headers_mut().insert(
                http::header::RETRY_AFTER,
                http::HeaderValue::from_static("1"),
            );
            return Begin::Refuse(response);
        }
        // Looked up here only when a sampled span (or the OTLP duration metric) reports
        // it; the metrics learn it from the dispatcher (`Seen::reached`).
        let metrics = self.metrics.as_ref().map(|metrics| Measured {
            metrics,
            router,
            _in_flight: metrics.start(),
            started: Instant::now(),
            method: request.method().clone(),
            uri: answers_early.then(|| request.uri().clone()),
            // No body (most requests): 0, without looking for a header.
            request_size: if request.body().is_end_stream() {
                Some(0)
            } else {
                request
                    .headers()
                    .get(http::header::CONTENT_LENGTH)
                    .and_then(|value| value.to_str().ok())
                    .and_then(|value| value.parse().ok())
            },
        });
        #[cfg(feature = "otel")]
        let span = match &self.telemetry {
            Some(telemetry) if telemetry.traces(path) => {
                let rpc_methods = self.rpc_methods.as_deref();
                let span = telemetry.start_with(
                    request,
                    || {
                        let path = request.uri().path();
                        route_template(router, request.method(), path)
                            .or_else(|| rpc_methods?.get(path).map(String::as_str))
                    },
                    || cello_observability::telemetry::Endpoints {
                        peer: conn.map(|c| c.peer),
                        local: conn.map(|c| c.local),
                        secure: conn.is_some_and(|c| c.secure),
                    },
                );
                // Sampled: the engine notes its steps for child spans.
                let phases = span.is_recording().then(|| {
                    let phases = cello_observability::Phases::default();
                    request.extensions_mut().insert(phases.clone());
                    phases
                });
                Some((telemetry, span, phases))
            }
            _ => None,
        };
        #[cfg(not(feature = "otel"))]
        let _ = conn;
        *slot = Some(Observed {
            seen: Seen {
                #[cfg(feature = "otel")]
                span,
                route: Cell::new(None),
                rpc: Cell::new(None),
            },
            metrics,
        });
        Begin::Observe
    }

    /// Makes the request's span current for Python's `opentelemetry` while a handler
    /// is called (and its task created); the token for [`Self::exit_python_context`].
    pub fn enter_python_context(&self, py: Python<'_>, request: &PyRequest) -> Option<Py<PyAny>> {
        self.python_context.as_ref()?.enter(py, request)
    }

    pub fn exit_python_context(&self, py: Python<'_>, token: Py<PyAny>) {
        if let Some(context) = &self.python_context {
            context.exit(py, token);
        }
    }

    /// The same for a blocking handler, on a pool thread.
    pub fn python_context(&self, py: Python<'_>) -> Option<PythonContext> {
        Some(self.python_context.as_ref()?.clone_ref(py))
    }
}

/// Python's `opentelemetry` context, set around a handler call under a runtime
/// context Cello does not replace (`cello.observability.telemetry.python_context`).
pub struct PythonContext {
    attach: Py<PyAny>,
    detach: Py<PyAny>,
}

/// `python_context` as `cello.observability.telemetry.python_context()` returns it.
type PythonContextArguments = (Py<PyAny>, Py<PyAny>);

impl PythonContext {
    fn clone_ref(&self, py: Python<'_>) -> Self {
        Self {
            attach: self.attach.clone_ref(py),
            detach: self.detach.clone_ref(py),
        }
    }

    /// Makes `request`'s span current; the token for [`Self::exit`].
    pub fn enter(&self, py: Python<'_>, request: &PyRequest) -> Option<Py<PyAny>> {
        let ids = request.trace.as_ref()?;
        self.attach
            .call1(py, (ids.trace_id, ids.span_id, ids.sampled))
            .map_err(|error| error.print(py))
            .ok()
    }

    pub fn exit(&self, py: Python<'_>, token: Py<PyAny>) {
        if let Err(error) = self.detach.call1(py, (token,)) {
            error.print(py);
        }
    }
}

impl<'a> Observed<'a> {
    /// What the dispatcher hands down.
    pub fn seen(&self) -> &Seen<'a> {
        &self.seen
    }

    /// Records the request (metrics) and ends its span, with the steps the engine
    /// noted as child spans.
    pub fn finish(self, response: &mut Response) {
        use http_body::Body as _;
        let status = response.status().as_u16();
        if let Some(measured) = self.metrics {
            let route = match (self.seen.route.get(), &measured.uri) {
                (Some(route), _) => Some(route.template()),
                (None, _) if self.seen.rpc.get().is_some() => self.seen.rpc.get(),
                (None, Some(uri)) => route_template(measured.router, &measured.method, uri.path()),
                (None, None) => None,
            };
            measured.metrics.record(
                &measured.method,
                route,
                status,
                measured.started.elapsed(),
                measured.request_size,
                response.body().size_hint().exact(),
            );
        }
        #[cfg(feature = "otel")]
        if let Some((telemetry, span, phases)) = self.seen.span {
            span.respond(telemetry, response.headers_mut());
            match phases {
                // Sampled: a streamed body's sending is part of the span.
                Some(phases) => {
                    if let Some((span, phases)) = super::sent::end_after_body(
                        response.body_mut(),
                        telemetry,
                        span,
                        status,
                        phases,
                    ) {
                        span.end(telemetry, status, Some(&phases));
                    }
                }
                None => span.end(telemetry, status, None),
            }
        }
    }
}
