//! What `Telemetry` is built from.

/// The OTLP transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// OTLP/gRPC (port 4317 by convention).
    Grpc,
    /// OTLP/HTTP with protobuf bodies (port 4318; `/v1/traces`, `/v1/metrics`).
    HttpProtobuf,
}

/// Settings of [`Telemetry`](super::Telemetry).
#[derive(Clone, Debug)]
pub struct TelemetryConfig {
    pub service_name: String,
    pub service_version: String,
    /// The collector: `http://host:4317` (gRPC) or `http://host:4318` (HTTP, the
    /// signal paths are added). `None`: no export, spans are still made and
    /// propagated.
    pub endpoint: Option<String>,
    pub protocol: Protocol,
    /// Fraction of new traces sampled (0 to 1); a request with a parent follows the
    /// parent's decision.
    pub sampling_rate: f64,
    pub export_traces: bool,
    pub export_metrics: bool,
    /// Paths that get no span (exact matches).
    pub excluded_paths: Vec<String>,
    /// Send `traceparent` (and `tracestate`) back on responses.
    pub propagate_response: bool,
    /// How often spans are exported at most, milliseconds.
    pub export_delay_ms: u64,
    /// How often metrics are exported, milliseconds.
    pub metrics_interval_ms: u64,
}

impl TelemetryConfig {
    /// The protocol an endpoint implies: port 4318 or a `/v1/...` path is HTTP,
    /// anything else gRPC.
    pub fn protocol_for(endpoint: &str) -> Protocol {
        let without_scheme = endpoint
            .split_once("://")
            .map_or(endpoint, |(_, rest)| rest);
        let authority = without_scheme.split('/').next().unwrap_or("");
        if authority.ends_with(":4318") || without_scheme.contains("/v1/") {
            Protocol::HttpProtobuf
        } else {
            Protocol::Grpc
        }
    }
}
