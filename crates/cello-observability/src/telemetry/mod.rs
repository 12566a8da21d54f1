//! OpenTelemetry for an HTTP server (feature `otel`): a server span per request with
//! the HTTP semantic conventions, W3C trace context in and out, parent-based ratio
//! sampling, and OTLP export of spans and request metrics over gRPC or HTTP.
//!
//! Export runs on a runtime of its own (one thread, created with [`Telemetry::new`]
//! — so after fork when a worker creates it) fed by the SDK's batch processor: the
//! request path only records the span and queues it.

mod config;
mod export;
mod ids;
mod span;
mod traceparent;

pub use config::{Protocol, TelemetryConfig};
pub use span::{Endpoints, ServerSpan, Telemetry};
