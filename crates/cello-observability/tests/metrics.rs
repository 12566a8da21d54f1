//! The registry across a fork, the exposition format and the request recorder.

use std::time::Duration;

use cello_observability::{
    exposition, GaugeMode, HttpMetrics, HttpMetricsConfig, Kind, Region, SHARED,
};

fn render(region: &Region) -> String {
    let mut text = String::new();
    exposition::render(region, &mut text);
    text
}

#[test]
fn a_forked_child_counts_into_the_parents_region() {
    let region = Region::create().unwrap();
    let family = region
        .family(
            "forked_total",
            "Counts.",
            Kind::Counter,
            GaugeMode::Sum,
            &[],
        )
        .unwrap();
    let series = region.series(family, SHARED, "").unwrap();
    region.add(series, 1.0);
    // SAFETY: the child only touches atomics in the shared mapping and exits at once.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let child_series = region.series(family, SHARED, "").unwrap();
        for _ in 0..1000 {
            region.add(child_series, 1.0);
        }
        // SAFETY: ends the child without running the test harness's destructors.
        unsafe { libc::_exit(0) };
    }
    let mut status = 0;
    // SAFETY: waits for the child forked above.
    unsafe { libc::waitpid(pid, &raw mut status, 0) };
    assert_eq!(region.value(series), 1001.0);
    assert!(render(&region).contains("forked_total 1001\n"));
}

#[test]
fn the_same_name_finds_the_same_family_and_a_conflict_is_refused() {
    let region = Region::create().unwrap();
    let first = region
        .family("x_total", "X.", Kind::Counter, GaugeMode::Sum, &[])
        .unwrap();
    let again = region
        .family("x_total", "X.", Kind::Counter, GaugeMode::Sum, &[])
        .unwrap();
    assert_eq!(first, again);
    assert!(region
        .family("x_total", "X.", Kind::Gauge, GaugeMode::Sum, &[])
        .is_err());
}

#[test]
fn histograms_render_cumulative_buckets_sum_and_count() {
    let region = Region::create().unwrap();
    let bounds = [0.1, 1.0];
    let family = region
        .family(
            "latency_seconds",
            "Latency.",
            Kind::Histogram,
            GaugeMode::Sum,
            &bounds,
        )
        .unwrap();
    let series = region.series(family, SHARED, "route=\"/\"").unwrap();
    for value in [0.05, 0.5, 0.5, 3.0] {
        region.observe(series, &bounds, value);
    }
    let text = render(&region);
    assert!(
        text.contains("# TYPE latency_seconds histogram\n"),
        "{text}"
    );
    assert!(
        text.contains("latency_seconds_bucket{route=\"/\",le=\"0.1\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("latency_seconds_bucket{route=\"/\",le=\"1\"} 3\n"),
        "{text}"
    );
    assert!(
        text.contains("latency_seconds_bucket{route=\"/\",le=\"+Inf\"} 4\n"),
        "{text}"
    );
    assert!(
        text.contains("latency_seconds_sum{route=\"/\"} 4.05\n"),
        "{text}"
    );
    assert!(
        text.contains("latency_seconds_count{route=\"/\"} 4\n"),
        "{text}"
    );
}

#[test]
fn gauges_of_exited_workers_are_left_out_and_a_reclaimed_slot_starts_at_zero() {
    let region = Region::create().unwrap();
    let family = region
        .family("busy", "Busy.", Kind::Gauge, GaugeMode::Sum, &[])
        .unwrap();
    let first = region.claim_worker(100).unwrap();
    let second = region.claim_worker(200).unwrap();
    region.set(region.series(family, first, "").unwrap(), 3.0);
    region.set(region.series(family, second, "").unwrap(), 4.0);
    assert!(render(&region).contains("busy 7\n"));
    region.release_worker(100, 1.5);
    assert!(render(&region).contains("busy 4\n"));
    assert!((region.retired_cpu_seconds() - 1.5).abs() < 1e-9);
    let again = region.claim_worker(300).unwrap();
    assert_eq!(again, first);
    assert_eq!(region.value(region.series(family, again, "").unwrap()), 0.0);
}

#[test]
fn the_recorder_labels_by_route_template_and_counts_unmatched() {
    let region = Region::create().unwrap();
    let worker = region.claim_worker(std::process::id()).unwrap();
    let config = HttpMetricsConfig {
        namespace: "cello".into(),
        subsystem: "http".into(),
    };
    let metrics = HttpMetrics::new(region, &config, worker).unwrap();
    {
        let _in_flight = metrics.start();
        assert!(render(&region).contains("cello_http_requests_in_flight 1\n"));
    }
    metrics.record(
        &http::Method::GET,
        Some("/users/{id}"),
        200,
        Duration::from_millis(3),
        None,
        Some(12),
    );
    metrics.record(
        &http::Method::GET,
        Some("/users/{id}"),
        200,
        Duration::from_millis(3),
        None,
        Some(12),
    );
    metrics.record(
        &http::Method::from_bytes(b"BREW").unwrap(),
        None,
        404,
        Duration::from_micros(40),
        Some(5),
        None,
    );
    let text = render(&region);
    assert!(
        text.contains(
            "cello_http_requests_total{method=\"GET\",route=\"/users/{id}\",status=\"200\"} 2\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "cello_http_requests_total{method=\"other\",route=\"unmatched\",status=\"404\"} 1\n"
        ),
        "{text}"
    );
    assert!(text.contains("cello_http_requests_in_flight 0\n"), "{text}");
    assert!(text.contains("cello_http_request_duration_seconds_bucket{method=\"GET\",route=\"/users/{id}\",le=\"0.005\"} 2\n"), "{text}");
    assert!(
        text.contains(
            "cello_http_response_size_bytes_count{method=\"GET\",route=\"/users/{id}\"} 2\n"
        ),
        "{text}"
    );
}

#[test]
fn label_values_are_escaped() {
    assert_eq!(
        exposition::label_set(&[("path", "a\"b\\c\nd")]),
        "path=\"a\\\"b\\\\c\\nd\""
    );
}
