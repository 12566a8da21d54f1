//! The per-request side: a server span started from the request (its parent from
//! `traceparent`), ended with the response's status.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderValue, Method};
use opentelemetry::metrics::{Histogram, MeterProvider as _, UpDownCounter};
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{Span as _, SpanKind, Status, Tracer as _, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracer, SdkTracerProvider,
};
use opentelemetry_sdk::Resource;

use super::config::TelemetryConfig;
use super::export::{metric_exporter, span_exporter, OnRuntime};
use crate::TraceIds;

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
    active: Option<UpDownCounter<i64>>,
    propagator: TraceContextPropagator,
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

/// A request's server span, until [`ServerSpan::finish`].
pub struct ServerSpan {
    span: opentelemetry_sdk::trace::Span,
    ids: TraceIds,
    trace_state: String,
    attributes: Vec<KeyValue>,
    started: Instant,
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
        let (duration, active) = match &meter_provider {
            Some(provider) => {
                let meter = provider.meter("cello");
                (
                    Some(
                        meter
                            .f64_histogram("http.server.request.duration")
                            .with_unit("s")
                            .with_description("Duration of HTTP server requests.")
                            .with_boundaries(vec![
                                0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5,
                                5.0, 7.5, 10.0,
                            ])
                            .build(),
                    ),
                    Some(
                        meter
                            .i64_up_down_counter("http.server.active_requests")
                            .with_unit("{request}")
                            .with_description("Number of active HTTP server requests.")
                            .build(),
                    ),
                )
            }
            None => (None, None),
        };
        Ok(Self {
            tracer,
            tracer_provider,
            meter_provider,
            duration,
            active,
            propagator: TraceContextPropagator::new(),
            excluded: config.excluded_paths.iter().cloned().collect(),
            propagate_response: config.propagate_response,
            _runtime: runtime,
        })
    }

    /// Whether `path` gets a span.
    pub fn traces(&self, path: &str) -> bool {
        !self.excluded.contains(path)
    }

    /// Starts the server span of a request. `route` is the matched template.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        &self,
        method: &Method,
        path: &str,
        scheme: &str,
        headers: &HeaderMap,
        route: Option<&str>,
        peer: Option<SocketAddr>,
        local: Option<SocketAddr>,
        version: http::Version,
    ) -> ServerSpan {
        let parent: Context = self.propagator.extract(&Headers(headers));
        let method_name = match *method {
            Method::GET
            | Method::POST
            | Method::PUT
            | Method::PATCH
            | Method::DELETE
            | Method::HEAD
            | Method::OPTIONS
            | Method::CONNECT
            | Method::TRACE => method.as_str().to_owned(),
            _ => "_OTHER".to_owned(),
        };
        let name = route.map_or_else(
            || method_name.clone(),
            |route| format!("{method_name} {route}"),
        );
        let mut attributes = vec![
            KeyValue::new("http.request.method", method_name.clone()),
            KeyValue::new("url.path", path.to_owned()),
            KeyValue::new("url.scheme", scheme.to_owned()),
            KeyValue::new(
                "network.protocol.version",
                match version {
                    http::Version::HTTP_10 => "1.0",
                    http::Version::HTTP_2 => "2",
                    http::Version::HTTP_3 => "3",
                    _ => "1.1",
                },
            ),
        ];
        if let Some(route) = route {
            attributes.push(KeyValue::new("http.route", route.to_owned()));
        }
        let host = headers
            .get(http::header::HOST)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        match (host, local) {
            (Some(host), _) => {
                let (name, port) = match host.rsplit_once(':') {
                    Some((name, port)) if !name.ends_with(']') || host.starts_with('[') => {
                        (name.to_owned(), port.parse::<i64>().ok())
                    }
                    _ => (host.clone(), None),
                };
                attributes.push(KeyValue::new("server.address", name));
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
        if let Some(peer) = peer {
            attributes.push(KeyValue::new("client.address", peer.ip().to_string()));
            attributes.push(KeyValue::new("client.port", i64::from(peer.port())));
        }
        if let Some(agent) = headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
        {
            attributes.push(KeyValue::new("user_agent.original", agent.to_owned()));
        }
        let span = self
            .tracer
            .span_builder(name)
            .with_kind(SpanKind::Server)
            .with_attributes(attributes)
            .start_with_context(&self.tracer, &parent);
        let context = span.span_context().clone();
        let mut metric_attributes = vec![KeyValue::new("http.request.method", method_name)];
        if let Some(route) = route {
            metric_attributes.push(KeyValue::new("http.route", route.to_owned()));
        }
        metric_attributes.push(KeyValue::new("url.scheme", scheme.to_owned()));
        if let Some(active) = &self.active {
            active.add(1, &metric_attributes);
        }
        ServerSpan {
            span,
            ids: TraceIds {
                trace_id: context.trace_id().to_string(),
                span_id: context.span_id().to_string(),
                sampled: context.is_sampled(),
            },
            trace_state: context.trace_state().header(),
            attributes: metric_attributes,
            started: Instant::now(),
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
    }
}

impl ServerSpan {
    /// The ids handlers and logs see.
    pub fn ids(&self) -> &TraceIds {
        &self.ids
    }

    /// Ends the span with the response's status (5xx: error), records the
    /// request metrics, and, if configured, writes `traceparent` on the response.
    pub fn finish(
        mut self: Box<Self>,
        telemetry: &Telemetry,
        status: u16,
        headers: &mut HeaderMap,
    ) {
        self.span.set_attribute(KeyValue::new(
            "http.response.status_code",
            i64::from(status),
        ));
        if status >= 500 {
            self.span.set_status(Status::error(status.to_string()));
            self.span
                .set_attribute(KeyValue::new("error.type", status.to_string()));
        }
        self.span.end();
        if let Some(active) = &telemetry.active {
            active.add(-1, &self.attributes);
        }
        if let Some(duration) = &telemetry.duration {
            self.attributes.push(KeyValue::new(
                "http.response.status_code",
                i64::from(status),
            ));
            duration.record(self.started.elapsed().as_secs_f64(), &self.attributes);
        }
        if telemetry.propagate_response {
            let flags = if self.ids.sampled { "01" } else { "00" };
            let header = format!("00-{}-{}-{flags}", self.ids.trace_id, self.ids.span_id);
            if let Ok(value) = HeaderValue::from_str(&header) {
                headers.insert("traceparent", value);
            }
            if !self.trace_state.is_empty() {
                if let Ok(value) = HeaderValue::from_str(&self.trace_state) {
                    headers.insert("tracestate", value);
                }
            }
        }
    }
}
