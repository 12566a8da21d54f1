//! Server spans without an exporter: the parent from `traceparent`, sampling, the
//! header written back.
#![cfg(feature = "otel")]

use cello_observability::telemetry::{Endpoints, Protocol, ServerSpan, Telemetry, TelemetryConfig};
use http::HeaderMap;

fn config(sampling_rate: f64) -> TelemetryConfig {
    TelemetryConfig {
        service_name: "test".into(),
        service_version: "1".into(),
        endpoint: None,
        protocol: Protocol::Grpc,
        sampling_rate,
        export_traces: true,
        export_metrics: true,
        excluded_paths: vec!["/skip".into()],
        propagate_response: true,
        export_delay_ms: 100,
        metrics_interval_ms: 1000,
    }
}

fn start(telemetry: &Telemetry, traceparent: Option<&str>) -> ServerSpan {
    let mut request = http::Request::get("/users/1");
    if let Some(value) = traceparent {
        request = request.header("traceparent", value);
    }
    let endpoints = Endpoints {
        peer: None,
        local: None,
        secure: false,
    };
    telemetry.start(&request.body(()).unwrap(), Some("/users/{id}"), endpoints)
}

#[test]
fn a_traceparent_is_the_parent_and_is_written_back() {
    let telemetry = Telemetry::new(&config(0.0)).unwrap();
    let span = start(
        &telemetry,
        Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
    );
    let ids = *span.ids();
    assert_eq!(ids.trace_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_ne!(ids.span_hex(), "00f067aa0ba902b7");
    assert!(ids.sampled, "a sampled parent wins over ratio 0");
    let mut headers = HeaderMap::new();
    let phases = cello_observability::Phases::default();
    phases.record("cello.handler", std::time::SystemTime::now());
    assert!(span.is_recording());
    span.finish(&telemetry, 200, &mut headers, Some(&phases));
    assert!(phases.take().is_empty(), "the span took the steps");
    assert_eq!(
        headers["traceparent"],
        format!("00-{}-{}-01", ids.trace_hex(), ids.span_hex()).as_str()
    );
}

#[test]
fn new_traces_follow_the_ratio_and_excluded_paths_get_none() {
    let never = Telemetry::new(&config(0.0)).unwrap();
    assert!(!start(&never, None).ids().sampled);
    let always = Telemetry::new(&config(1.0)).unwrap();
    let span = start(&always, None);
    assert!(span.ids().sampled);
    assert_ne!(span.ids().trace_id, 0);
    assert!(!always.traces("/skip") && always.traces("/users/1"));
    assert_eq!(
        TelemetryConfig::protocol_for("http://c:4318"),
        Protocol::HttpProtobuf
    );
    assert_eq!(
        TelemetryConfig::protocol_for("http://c:4317"),
        Protocol::Grpc
    );
}
