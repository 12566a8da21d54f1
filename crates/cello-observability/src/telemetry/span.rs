//! The per-request side: a server span started from the request (its parent from
//! `traceparent`), ended with the response's status. An unsampled span costs the
//! sampling decision and little else: its name and attributes are built only when
//! it records.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderValue, Method};
use opentelemetry::metrics::{Histogram, MeterProvider as _};
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{
    SamplingDecision, SamplingResult, Span as _, SpanId, SpanKind, Status, TraceContextExt as _,
    TraceId, TraceState, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracer, SdkTracerProvider,
};
use opentelemetry_sdk::Resource;

use super::config::TelemetryConfig;
use super::export::{metric_exporter, span_exporter, OnRuntime};
use super::traceparent::{traceparent_value, TRACEPARENT};
use crate::{Phases, TraceIds};

struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// One worker's tracer, meters and exporters.
pub struct Telemetry {
    tracer: SdkTracer,
    tracer_provider: SdkTracerProvider,
    meter_provider: Option<SdkMeterProvider>,
    duration: Option<Histogram<f64>>,
    propagator: TraceContextPropagator,
    /// The ratio sampler's bound for root spans (`None`: every one is sampled).
    threshold: Option<u64>,
    excluded: HashSet<String>,
    propagate_response: bool,
    // Kept alive for the exporters; dropped (stopping its thread) last.
    _runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry").finish_non_exhaustive()
    }
}

/// A request's server span, until [`ServerSpan::finish`]. Small, and without an
/// allocation for an unsampled root (no `traceparent`) when the duration metric is
/// off: its ids are all there is to it then.
pub struct ServerSpan {
    ids: TraceIds,
    inner: Option<Box<Recorded>>,
}

/// What a span that records, or a request the duration metric measures, keeps.
struct Recorded {
    /// The SDK's span; `None` for an unsampled root.
    span: Option<opentelemetry_sdk::trace::Span>,
    trace_state: String,
    method: &'static str,
    route: Option<String>,
    /// When the request started, for the duration metric (`None` without it).
    started: Option<Instant>,
}

/// The method as the semantic conventions name it (`_OTHER` for non-standard ones).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "_OTHER",
    }
}

/// Where the request came in and from, for the span's attributes.
#[derive(Clone, Copy, Debug)]
pub struct Endpoints {
    pub peer: Option<SocketAddr>,
    pub local: Option<SocketAddr>,
    pub secure: bool,
}

/// The HTTP server span attributes (semantic conventions).
fn attributes<B>(
    method: &'static str,
    request: &http::Request<B>,
    route: Option<&str>,
    endpoints: Endpoints,
) -> Vec<KeyValue> {
    let headers = request.headers();
    let mut attributes = Vec::with_capacity(12);
    attributes.push(KeyValue::new("http.request.method", method));
    attributes.push(KeyValue::new("url.path", request.uri().path().to_owned()));
    attributes.push(KeyValue::new(
        "url.scheme",
        if endpoints.secure { "https" } else { "http" },
    ));
    attributes.push(KeyValue::new(
        "network.protocol.version",
        match request.version() {
            http::Version::HTTP_10 => "1.0",
            http::Version::HTTP_2 => "2",
            http::Version::HTTP_3 => "3",
            _ => "1.1",
        },
    ));
    if let Some(route) = route {
        attributes.push(KeyValue::new("http.route", route.to_owned()));
    }
    let host = headers
        .get(http::header::HOST)
        .and_then(|value| value.to_str().ok())
        .or_else(|| request.uri().authority().map(http::uri::Authority::as_str));
    match (host, endpoints.local) {
        (Some(host), local) => {
            let (name, port) = split_host(host);
            attributes.push(KeyValue::new("server.address", name.to_owned()));
            if let Some(port) = port.or_else(|| local.map(|l| i64::from(l.port()))) {
                attributes.push(KeyValue::new("server.port", port));
            }
        }
        (None, Some(local)) => {
            attributes.push(KeyValue::new("server.address", local.ip().to_string()));
            attributes.push(KeyValue::new("server.port", i64::from(local.port())));
        }
        (None, None) => {}
    }
    if let Some(peer) = endpoints.peer {
        attributes.push(KeyValue::new("client.address", peer.ip().to_string()));
        attributes.push(KeyValue::new("client.port", i64::from(peer.port())));
    }
    if let Some(agent) = headers
        .get(http::header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
    {
        attributes.push(KeyValue::new("user_agent.original", agent.to_owned()));
    }
    attributes
}

/// `host[:port]` or `[v6][:port]`.
fn split_host(host: &str) -> (&str, Option<i64>) {
    if let Some(rest) = host.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((address, port)) => (address, port.strip_prefix(':').and_then(|p| p.parse().ok())),
            None => (host, None),
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') => (name, port.parse().ok()),
        _ => (host, None),
    }
}

impl Telemetry {
    /// Builds the tracer (and meters) and starts the exporters' runtime thread.
    ///
    /// # Errors
    /// An endpoint the OTLP client refuses, or a runtime that cannot start.
    pub fn new(config: &TelemetryConfig) -> Result<Self, String> {
        let resource = Resource::builder()
            .with_service_name(config.service_name.clone())
            .with_attributes([KeyValue::new(
                "service.version",
                config.service_version.clone(),
            )])
            .build();
        let sampler = Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            config.sampling_rate.clamp(0.0, 1.0),
        )));
        let mut tracer_builder = SdkTracerProvider::builder()
            .with_sampler(sampler)
            .with_resource(resource.clone());
        let mut meter_provider = None;
        let runtime = match &config.endpoint {
            Some(endpoint) if config.export_traces || config.export_metrics => {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("cello-otlp")
                    .enable_all()
                    .build()
                    .map_err(|error| format!("cannot start the OTLP export thread: {error}"))?;
                let _inside = runtime.enter();
                if config.export_traces {
                    let exporter = OnRuntime {
                        inner: span_exporter(config, endpoint)?,
                        handle: runtime.handle().clone(),
                    };
                    let batch = BatchConfigBuilder::default()
                        .with_scheduled_delay(Duration::from_millis(config.export_delay_ms))
                        .with_max_queue_size(8192)
                        .build();
                    tracer_builder = tracer_builder.with_span_processor(
                        BatchSpanProcessor::builder(exporter)
                            .with_batch_config(batch)
                            .build(),
                    );
                }
                if config.export_metrics {
                    let exporter = OnRuntime {
                        inner: metric_exporter(config, endpoint)?,
                        handle: runtime.handle().clone(),
                    };
                    let reader = PeriodicReader::builder(exporter)
                        .with_interval(Duration::from_millis(config.metrics_interval_ms))
                        .build();
                    meter_provider = Some(
                        SdkMeterProvider::builder()
                            .with_resource(resource)
                            .with_reader(reader)
                            .build(),
                    );
                }
                Some(runtime)
            }
            _ => None,
        };
        let tracer_provider = tracer_builder.build();
        let tracer = tracer_provider.tracer("cello");
        let duration = meter_provider.as_ref().map(|provider| {
            provider
                .meter("cello")
                .f64_histogram("http.server.request.duration")
                .with_unit("s")
                .with_description("Duration of HTTP server requests.")
                .with_boundaries(vec![
                    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
                ])
                .build()
        });
        Ok(Self {
            tracer,
            tracer_provider,
            meter_provider,
            duration,
            propagator: TraceContextPropagator::new(),
            threshold: super::ids::threshold(config.sampling_rate.clamp(0.0, 1.0)),
            excluded: config.excluded_paths.iter().cloned().collect(),
            propagate_response: config.propagate_response,
            _runtime: runtime,
        })
    }

    /// Whether `path` gets a span.
    pub fn traces(&self, path: &str) -> bool {
        self.excluded.is_empty() || !self.excluded.contains(path)
    }

    /// Starts the server span of a request; `route` is the matched template.
    pub fn start<B>(
        &self,
        request: &http::Request<B>,
        route: Option<&str>,
        endpoints: Endpoints,
    ) -> ServerSpan {
        self.start_with(request, || route, || endpoints)
    }

    /// [`Self::start`], asking for the route only when the span records or the
    /// duration metric is exported (an unsampled request skips the lookup), and for
    /// the endpoints only when the span records.
    pub fn start_with<'r, B>(
        &self,
        request: &http::Request<B>,
        route: impl FnOnce() -> Option<&'r str>,
        endpoints: impl FnOnce() -> Endpoints,
    ) -> ServerSpan {
        let method = method_label(request.method());
        // A scan, not a lookup: hashing the (non-standard) name costs more than
        // comparing a request's few header names, which are mostly standard ones.
        let has_parent = request.headers().keys().any(|name| *name == TRACEPARENT);
        let mut span = if has_parent {
            let parent = self.propagator.extract(&Headers(request.headers()));
            self.tracer
                .span_builder(method)
                .with_kind(SpanKind::Server)
                .start_with_context(&self.tracer, &parent)
        } else {
            // A root: the ratio decision here, and an SDK span only when sampled
            // (pre-sampled with these ids, so the SDK does not decide again).
            let (trace_id, span_id) = super::ids::fresh();
            if super::ids::sampled(trace_id, self.threshold) {
                self.tracer
                    .span_builder(method)
                    .with_kind(SpanKind::Server)
                    .with_trace_id(TraceId::from(trace_id))
                    .with_span_id(SpanId::from(span_id))
                    .with_sampling_result(SamplingResult {
                        decision: SamplingDecision::RecordAndSample,
                        attributes: Vec::new(),
                        trace_state: TraceState::default(),
                    })
                    .start_with_context(&self.tracer, &Context::new())
            } else {
                let inner = self.duration.as_ref().map(|_| {
                    Box::new(Recorded {
                        span: None,
                        trace_state: String::new(),
                        method,
                        route: route().map(str::to_owned),
                        started: Some(Instant::now()),
                    })
                });
                let ids = TraceIds {
                    trace_id,
                    span_id,
                    sampled: false,
                };
                return ServerSpan { ids, inner };
            }
        };
        let route = if span.is_recording() || self.duration.is_some() {
            route()
        } else {
            None
        };
        if span.is_recording() {
            if let Some(route) = route {
                span.update_name(format!("{method} {route}"));
            }
            span.set_attributes(attributes(method, request, route, endpoints()));
        }
        let context = span.span_context();
        let ids = TraceIds {
            trace_id: u128::from_be_bytes(context.trace_id().to_bytes()),
            span_id: u64::from_be_bytes(context.span_id().to_bytes()),
            sampled: context.is_sampled(),
        };
        let trace_state = if self.propagate_response {
            context.trace_state().header()
        } else {
            String::new()
        };
        ServerSpan {
            ids,
            inner: Some(Box::new(Recorded {
                span: Some(span),
                trace_state,
                method,
                route: self.duration.as_ref().and(route.map(str::to_owned)),
                started: self.duration.as_ref().map(|_| Instant::now()),
            })),
        }
    }

    /// Flushes queued spans and metrics (at shutdown).
    pub fn flush(&self) {
        let _ = self.tracer_provider.force_flush();
        if let Some(provider) = &self.meter_provider {
            let _ = provider.force_flush();
        }
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        let _ = self.tracer_provider.shutdown();
        if let Some(provider) = &self.meter_provider {
            let _ = provider.shutdown();
        }
        // Freed inside another runtime's context (Python's collector freeing an old app
        // while a worker's loop runs Python), a plain drop of the export runtime panics:
        // shut it down without waiting there.
        if let Some(runtime) = self._runtime.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                runtime.shutdown_background();
            }
        }
    }
}

impl ServerSpan {
    /// The ids handlers and logs see.
    pub fn ids(&self) -> &TraceIds {
        &self.ids
    }

    /// Whether the span records (sampled): only then are the request's steps worth
    /// noting ([`Phases`]).
    pub fn is_recording(&self) -> bool {
        self.inner
            .as_ref()
            .and_then(|inner| inner.span.as_ref())
            .is_some_and(|span| span.is_recording())
    }

    /// [`Self::respond`], then [`Self::end`]: for a response sent at once.
    pub fn finish(
        self,
        telemetry: &Telemetry,
        status: u16,
        headers: &mut HeaderMap,
        phases: Option<&Phases>,
    ) {
        self.respond(telemetry, headers);
        self.end(telemetry, status, phases);
    }

    /// Writes `traceparent` (and `tracestate`) on the response, if configured.
    pub fn respond(&self, telemetry: &Telemetry, headers: &mut HeaderMap) {
        if !telemetry.propagate_response {
            return;
        }
        headers.insert(TRACEPARENT.clone(), traceparent_value(&self.ids));
        if let Some(state) = self
            .inner
            .as_ref()
            .map(|inner| inner.trace_state.as_str())
            .filter(|state| !state.is_empty())
        {
            if let Ok(value) = HeaderValue::from_str(state) {
                headers.insert("tracestate", value);
            }
        }
    }

    /// Ends the span with the response's status (5xx: error), after the request's
    /// recorded `phases` as its children, and records the request duration: when the
    /// response has been sent (a streamed body: once its last chunk is out).
    pub fn end(self, telemetry: &Telemetry, status: u16, phases: Option<&Phases>) {
        if let Some(inner) = self.inner {
            inner.end(telemetry, status, phases);
        }
    }
}

impl Recorded {
    fn end(mut self: Box<Self>, telemetry: &Telemetry, status: u16, phases: Option<&Phases>) {
        if let Some(span) = self.span.as_mut().filter(|span| span.is_recording()) {
            span.set_attribute(KeyValue::new(
                "http.response.status_code",
                i64::from(status),
            ));
            if status >= 500 {
                span.set_status(Status::error(status.to_string()));
                span.set_attribute(KeyValue::new("error.type", status.to_string()));
            }
        }
        if let (Some(duration), Some(started)) = (&telemetry.duration, self.started) {
            let mut attributes = Vec::with_capacity(3);
            attributes.push(KeyValue::new("http.request.method", self.method));
            if let Some(route) = self.route.take() {
                attributes.push(KeyValue::new("http.route", route));
            }
            attributes.push(KeyValue::new(
                "http.response.status_code",
                i64::from(status),
            ));
            duration.record(started.elapsed().as_secs_f64(), &attributes);
        }
        let Some(mut span) = self.span.take() else {
            return;
        };
        let steps = phases.map(Phases::take).unwrap_or_default();
        if steps.is_empty() {
            span.end();
            return;
        }
        // The steps become children of the server span (a local parent, not a remote
        // one), and end before it does.
        let parent = Context::new().with_span(span);
        for step in steps {
            let mut child = telemetry
                .tracer
                .span_builder(step.name)
                .with_kind(SpanKind::Internal)
                .with_start_time(step.start)
                .with_attributes(
                    step.attributes
                        .into_iter()
                        .map(|(key, value)| KeyValue::new(key, value)),
                )
                .start_with_context(&telemetry.tracer, &parent);
            child.end_with_timestamp(step.end);
        }
        parent.span().end();
    }
}
