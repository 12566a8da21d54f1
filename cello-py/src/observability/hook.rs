//! What the dispatcher does per request when observability is on: operational paths
//! (`/metrics`, `/health/...`) skip the middleware chain and the metrics; other
//! requests are answered 503 while the worker starts (with a startup probe), and
//! counted and timed.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use cello_http::{problem_response, Request, Response};
use cello_observability::{HttpMetrics, HttpMetricsConfig};
use cello_router::{Lookup, Router};
use http::StatusCode;
use pyo3::prelude::*;

use crate::app::Route;

/// The settings `cello.App` collected, turned into an [`Observability`] by each
/// worker's engine (after fork).
#[pyclass(name = "Observability", module = "cello._cello", frozen)]
pub struct PyObservability {
    metrics: Option<HttpMetricsConfig>,
    bypass: Vec<String>,
    started: Arc<AtomicBool>,
}

#[pymethods]
impl PyObservability {
    /// `metrics`: `(namespace, subsystem)` of the request metrics, or `None`.
    /// `bypass`: paths answered without middleware, metrics or the startup gate.
    /// `gate_startup`: answer 503 to every other path until `set_started()`.
    #[new]
    #[pyo3(signature = (metrics = None, bypass = Vec::new(), gate_startup = false))]
    fn new(metrics: Option<(String, String)>, bypass: Vec<String>, gate_startup: bool) -> Self {
        Self {
            metrics: metrics.map(|(namespace, subsystem)| HttpMetricsConfig {
                namespace,
                subsystem,
            }),
            bypass,
            started: Arc::new(AtomicBool::new(!gate_startup)),
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
}

impl PyObservability {
    /// The per-worker state: claims this process's worker slot in the shared region.
    pub fn build(&self) -> PyResult<Observability> {
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
        Ok(Observability {
            metrics,
            bypass: self.bypass.iter().map(|p| Box::from(p.as_str())).collect(),
            started: self.started.clone(),
        })
    }
}

/// One worker's observability state.
pub struct Observability {
    metrics: Option<HttpMetrics>,
    bypass: HashSet<Box<str>>,
    started: Arc<AtomicBool>,
}

/// What to do with a request.
pub enum Begin<'a> {
    /// An operational path: answer it plainly.
    Bypass,
    /// The worker is still starting: this answer.
    Refuse(Response),
    /// Serve it; [`Observed::finish`] records it.
    Observe(Option<Observed<'a>>),
}

/// A request being measured.
pub struct Observed<'a> {
    metrics: &'a HttpMetrics,
    _in_flight: cello_observability::http::InFlight<'a>,
    started: Instant,
    method: http::Method,
    route: Option<&'a str>,
    request_size: Option<u64>,
}

impl Observability {
    pub fn begin<'a>(&'a self, router: &'a Router<Route>, request: &Request) -> Begin<'a> {
        let path = request.uri().path();
        if self.bypass.contains(path) {
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
        let Some(metrics) = &self.metrics else {
            return Begin::Observe(None);
        };
        let route = match router.lookup(request.method(), path) {
            // The label is "METHODS /template".
            Lookup::Found { value, .. } => value.label.split_once(' ').map(|(_, path)| path),
            _ => None,
        };
        let request_size = request
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse().ok())
            .or_else(|| request.body().is_end_stream().then_some(0));
        Begin::Observe(Some(Observed {
            metrics,
            _in_flight: metrics.start(),
            started: Instant::now(),
            method: request.method().clone(),
            route,
            request_size,
        }))
    }
}

impl Observed<'_> {
    pub fn finish(self, response: &Response) {
        use http_body::Body as _;
        self.metrics.record(
            &self.method,
            self.route,
            response.status().as_u16(),
            self.started.elapsed(),
            self.request_size,
            response.body().size_hint().exact(),
        );
    }
}
