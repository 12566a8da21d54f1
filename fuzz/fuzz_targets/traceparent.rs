//! `traceparent` and `tracestate` (W3C Trace Context) as a server span reads them:
//! opentelemetry's `TraceContextPropagator`, the one `cello_observability`'s
//! `Telemetry::start` extracts the parent with, over the request's `HeaderMap` through
//! the same `Extractor` (header values that are not visible ASCII are absent). The
//! input's first line is `traceparent`, the second `tracestate`. Invariants: a parent
//! extracted as valid is remote, has non-zero ids, and injects back to a `traceparent`
//! that extracts to the same context.
#![no_main]

use std::collections::HashMap;

use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;

struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

fuzz_target!(|data: &[u8]| {
    let mut lines = data.splitn(2, |&b| b == b'\n');
    let mut headers = HeaderMap::new();
    for name in ["traceparent", "tracestate"] {
        if let Some(Ok(value)) = lines.next().map(HeaderValue::from_bytes) {
            headers.insert(name, value);
        }
    }
    let propagator = TraceContextPropagator::new();
    let context = propagator.extract(&Headers(&headers));
    let span = context.span();
    let parent = span.span_context();
    if !parent.is_valid() {
        return;
    }
    assert!(parent.is_remote());
    let mut written: HashMap<String, String> = HashMap::new();
    propagator.inject_context(&context, &mut written);
    let mut again = HeaderMap::new();
    for (name, value) in &written {
        again.insert(
            http::HeaderName::from_bytes(name.as_bytes()).expect("a header name"),
            HeaderValue::from_str(value).expect("an ASCII header value"),
        );
    }
    let context_again = propagator.extract(&Headers(&again));
    let span_again = context_again.span();
    let round_trip = span_again.span_context();
    assert_eq!(round_trip.trace_id(), parent.trace_id());
    assert_eq!(round_trip.span_id(), parent.span_id());
    assert_eq!(round_trip.trace_flags(), parent.trace_flags());
});
