//! The rate limit over the memory store. Time is tokio's paused clock: it moves only by
//! `advance`, so no test depends on how fast the machine is.

use std::time::Duration;

use bytes::Bytes;
use cello_http::ConnInfo;
use http::StatusCode;
use tokio::time::advance;

use super::{OnStoreError, RateLimit, RateLimitAlgorithm, RateLimitConfig, RateLimitKey};
use crate::chain::{Chain, Exchange};
use crate::store::{MemoryStore, MemoryStoreConfig, Store};
use crate::test_support::{chain, request, run, Outcome};

fn limited(config: RateLimitConfig) -> Chain {
    chain(vec![RateLimit::new(config).unwrap().into()])
}

fn bucket(capacity: i64, refill_rate: f64) -> RateLimitConfig {
    RateLimitConfig {
        algorithm: RateLimitAlgorithm::TokenBucket {
            capacity,
            refill_rate,
        },
        ..RateLimitConfig::default()
    }
}

fn window(max_requests: i64, window_secs: i64) -> RateLimitConfig {
    RateLimitConfig {
        algorithm: RateLimitAlgorithm::SlidingWindow {
            max_requests,
            window_secs,
        },
        ..RateLimitConfig::default()
    }
}

fn from(peer: &str) -> ConnInfo {
    ConnInfo {
        peer: format!("{peer}:40000").parse().unwrap(),
        local: "10.9.9.9:8000".parse().unwrap(),
        secure: false,
    }
}

async fn get(chain: &Chain, path: &str, headers: &[(&str, &str)], peer: &str) -> Outcome {
    let request = request("GET", path, headers);
    run(chain, request, Some(from(peer)), StatusCode::OK, "{}").await
}

/// Whether the request got through, with the numbers of its `RateLimit` field.
fn field(out: &Outcome) -> String {
    out.headers["ratelimit"].to_str().unwrap().to_owned()
}

#[tokio::test(start_paused = true)]
async fn a_bucket_allows_exactly_its_capacity_then_answers_429() {
    let chain = limited(bucket(3, 1.0));
    for remaining in [2, 1, 0] {
        let out = get(&chain, "/items", &[], "192.0.2.1").await;
        assert_eq!(out.status, StatusCode::OK);
        assert!(out.called);
        assert_eq!(field(&out), format!("\"default\";r={remaining};t=1"));
        assert_eq!(out.headers["x-ratelimit-remaining"], remaining.to_string());
    }
    let out = get(&chain, "/items", &[], "192.0.2.1").await;
    assert_eq!(out.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(!out.called, "the handler must not run over the limit");
    assert_eq!(out.headers["content-type"], "application/problem+json");
    let body: serde_json::Value = serde_json::from_slice(&out.body).unwrap();
    assert_eq!(body["status"], 429);
    assert_eq!(body["detail"], "too many requests: retry after 1 second");
    assert_eq!(out.headers["retry-after"], "1");
    assert_eq!(field(&out), "\"default\";r=0;t=1");
    // Another client has its own bucket.
    let other = get(&chain, "/items", &[], "192.0.2.2").await;
    assert_eq!(other.status, StatusCode::OK);
}

#[tokio::test(start_paused = true)]
async fn every_charged_response_carries_the_draft_and_legacy_fields() {
    // 100 a minute: the policy says q=100;w=60.
    let chain = limited(bucket(100, 100.0 / 60.0));
    let out = get(&chain, "/", &[], "192.0.2.1").await;
    let headers = &out.headers;
    assert_eq!(headers["ratelimit-policy"], "\"default\";q=100;w=60");
    // 99 left; the 100th token is back in 0.6 s, rounded up to 1.
    assert_eq!(headers["ratelimit"], "\"default\";r=99;t=1");
    assert_eq!(headers["x-ratelimit-limit"], "100");
    assert_eq!(headers["x-ratelimit-remaining"], "99");
    assert_eq!(headers["x-ratelimit-reset"], "1");
    assert!(!headers.contains_key("retry-after"));

    let chain = limited(window(5, 30));
    let out = get(&chain, "/", &[], "192.0.2.1").await;
    assert_eq!(out.headers["ratelimit-policy"], "\"default\";q=5;w=30");
    assert_eq!(out.headers["ratelimit"], "\"default\";r=4;t=30");
    assert_eq!(out.headers["x-ratelimit-reset"], "30");
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_the_time_until_one_token_is_back() {
    // One token every 4 seconds.
    let chain = limited(bucket(2, 0.25));
    for _ in 0..2 {
        assert_eq!(
            get(&chain, "/", &[], "192.0.2.1").await.status,
            StatusCode::OK
        );
    }
    let out = get(&chain, "/", &[], "192.0.2.1").await;
    assert_eq!(out.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(out.headers["retry-after"], "4");
    advance(Duration::from_millis(1500)).await;
    let out = get(&chain, "/", &[], "192.0.2.1").await;
    assert_eq!(out.headers["retry-after"], "3", "2.5 s left, rounded up");
    assert_eq!(field(&out), "\"default\";r=0;t=3");
    advance(Duration::from_millis(2500)).await;
    assert_eq!(
        get(&chain, "/", &[], "192.0.2.1").await.status,
        StatusCode::OK
    );
}

#[tokio::test(start_paused = true)]
async fn tokens_refill_at_the_refill_rate() {
    let chain = limited(bucket(5, 2.0));
    for _ in 0..5 {
        assert_eq!(
            get(&chain, "/", &[], "192.0.2.1").await.status,
            StatusCode::OK
        );
    }
    assert_eq!(
        get(&chain, "/", &[], "192.0.2.1").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    advance(Duration::from_secs(1)).await;
    for _ in 0..2 {
        assert_eq!(
            get(&chain, "/", &[], "192.0.2.1").await.status,
            StatusCode::OK
        );
    }
    assert_eq!(
        get(&chain, "/", &[], "192.0.2.1").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Never more than the capacity, however long the client was away.
    advance(Duration::from_secs(3600)).await;
    let out = get(&chain, "/", &[], "192.0.2.1").await;
    assert_eq!(field(&out), "\"default\";r=4;t=1");
}

#[tokio::test(start_paused = true)]
async fn a_sliding_window_waits_for_the_oldest_request_to_leave() {
    let chain = limited(window(3, 10));
    get(&chain, "/", &[], "192.0.2.1").await;
    advance(Duration::from_secs(4)).await;
    get(&chain, "/", &[], "192.0.2.1").await;
    let out = get(&chain, "/", &[], "192.0.2.1").await;
    assert_eq!(out.status, StatusCode::OK);
    assert_eq!(field(&out), "\"default\";r=0;t=6");
    let out = get(&chain, "/", &[], "192.0.2.1").await;
    assert_eq!(out.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(out.headers["retry-after"], "6");
    advance(Duration::from_secs(6)).await;
    // The request of t=0 has left; those of t=4 stay until t=14.
    let out = get(&chain, "/", &[], "192.0.2.1").await;
    assert_eq!(out.status, StatusCode::OK);
    let out = get(&chain, "/", &[], "192.0.2.1").await;
    assert_eq!(out.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(out.headers["retry-after"], "4");
}

#[tokio::test(start_paused = true)]
async fn exempt_paths_and_their_sub_paths_are_not_charged() {
    let chain = limited(bucket(1, 0.001));
    for path in ["/health", "/health/live", "/metrics", "/health", "/metrics"] {
        let out = get(&chain, path, &[], "192.0.2.1").await;
        assert_eq!(out.status, StatusCode::OK, "{path}");
        assert!(!out.headers.contains_key("ratelimit"), "{path}");
    }
    // A path that only starts like one is charged.
    assert_eq!(
        get(&chain, "/healthz", &[], "192.0.2.1").await.status,
        StatusCode::OK
    );
    assert_eq!(
        get(&chain, "/items", &[], "192.0.2.1").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );

    let chain = limited(RateLimitConfig {
        exempt_paths: vec!["/static/".into()],
        ..bucket(1, 0.001)
    });
    get(&chain, "/", &[], "192.0.2.1").await;
    assert_eq!(
        get(&chain, "/static/app.js", &[], "192.0.2.1").await.status,
        StatusCode::OK
    );
    assert_eq!(
        get(&chain, "/health", &[], "192.0.2.1").await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the defaults are replaced, not extended"
    );
}

#[tokio::test(start_paused = true)]
async fn x_forwarded_for_counts_only_from_trusted_proxies() {
    let chain = limited(RateLimitConfig {
        trusted_proxies: vec!["10.0.0.0/8".into()],
        ..bucket(1, 0.001)
    });
    // From an untrusted peer the header is ignored: both requests are the peer's.
    let xff = |value| [("x-forwarded-for", value)];
    let out = get(&chain, "/", &xff("198.51.100.1"), "203.0.113.9").await;
    assert_eq!(out.status, StatusCode::OK);
    let out = get(&chain, "/", &xff("198.51.100.2"), "203.0.113.9").await;
    assert_eq!(out.status, StatusCode::TOO_MANY_REQUESTS);

    // Through trusted proxies: the right-most address that is not one.
    let out = get(&chain, "/", &xff("198.51.100.1, 10.0.0.1"), "10.0.0.2").await;
    assert_eq!(out.status, StatusCode::OK);
    let out = get(&chain, "/", &xff("198.51.100.2"), "10.0.0.2").await;
    assert_eq!(out.status, StatusCode::OK, "another client");
    // A client cannot escape by writing addresses to the left of its own.
    let out = get(&chain, "/", &xff("6.6.6.6, 198.51.100.1"), "10.0.0.2").await;
    assert_eq!(out.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(start_paused = true)]
async fn x_real_ip_is_believed_only_when_enabled_and_from_a_trusted_proxy() {
    let chain = limited(RateLimitConfig {
        trusted_proxies: vec!["10.0.0.0/8".into()],
        trust_x_real_ip: true,
        ..bucket(1, 0.001)
    });
    let real = |value| [("x-real-ip", value), ("x-forwarded-for", "192.0.2.200")];
    let out = get(&chain, "/", &real("198.51.100.1"), "10.0.0.2").await;
    assert_eq!(out.status, StatusCode::OK);
    let out = get(&chain, "/", &real("198.51.100.2"), "10.0.0.2").await;
    assert_eq!(
        out.status,
        StatusCode::OK,
        "X-Real-IP wins over X-Forwarded-For"
    );
    let out = get(&chain, "/", &real("198.51.100.3"), "203.0.113.9").await;
    assert_eq!(out.status, StatusCode::OK);
    let out = get(&chain, "/", &real("198.51.100.4"), "203.0.113.9").await;
    assert_eq!(
        out.status,
        StatusCode::TOO_MANY_REQUESTS,
        "not from a trusted proxy"
    );
}

#[test]
fn the_client_ip_is_read_from_the_right_past_trusted_proxies() {
    let keying = super::key::Keying::new(
        &RateLimitKey::ClientIp,
        &["10.0.0.0/8".into(), "::1".into(), "fd00::/8".into()],
        false,
    )
    .unwrap();
    let cases: &[(&str, &[&str], &str)] = &[
        ("10.0.0.2", &["198.51.100.1, 10.0.0.1"], "198.51.100.1"),
        // Several header lines are one list, in order.
        (
            "10.0.0.2",
            &["198.51.100.7", "198.51.100.1, 10.1.1.1"],
            "198.51.100.1",
        ),
        ("::1", &["[2001:db8::1]:443"], "2001:db8::1"),
        ("::ffff:10.0.0.2", &["192.0.2.4:5000"], "192.0.2.4"),
        ("fd00::1", &["2001:db8::2"], "2001:db8::2"),
        // Nothing but trusted proxies (an internal call): the farthest.
        ("10.0.0.2", &["10.0.0.5, 10.0.0.1"], "10.0.0.5"),
        // A hop no proxy would write: the last trusted one.
        ("10.0.0.2", &["198.51.100.1, garbage, 10.0.0.1"], "10.0.0.1"),
        ("10.0.0.2", &[], "10.0.0.2"),
        ("192.0.2.9", &["198.51.100.1"], "192.0.2.9"),
    ];
    for &(peer, values, client) in cases {
        let headers: Vec<_> = values.iter().map(|v| ("x-forwarded-for", *v)).collect();
        let request = request("GET", "/", &headers);
        let exchange = Exchange::new(&request, Some(from_any(peer)));
        let found = keying.client_ip(&request, &exchange).unwrap();
        assert_eq!(found.to_string(), client, "peer {peer}, {values:?}");
    }
}

fn from_any(peer: &str) -> ConnInfo {
    let ip: std::net::IpAddr = peer.parse().unwrap();
    ConnInfo {
        peer: (ip, 40000).into(),
        local: "10.9.9.9:8000".parse().unwrap(),
        secure: false,
    }
}

#[tokio::test(start_paused = true)]
async fn keys_by_header_fall_back_to_the_client_ip() {
    let chain = limited(RateLimitConfig {
        key: RateLimitKey::Header("X-Api-Key".into()),
        ..bucket(1, 0.001)
    });
    let key = |value| [("x-api-key", value)];
    assert_eq!(
        get(&chain, "/", &key("alice"), "192.0.2.1").await.status,
        StatusCode::OK
    );
    // The same key from elsewhere is the same client; another key is another.
    let out = get(&chain, "/", &key("alice"), "192.0.2.2").await;
    assert_eq!(out.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        get(&chain, "/", &key("bob"), "192.0.2.1").await.status,
        StatusCode::OK
    );
    assert_eq!(
        get(&chain, "/", &[], "192.0.2.1").await.status,
        StatusCode::OK
    );
    let out = get(&chain, "/", &[], "192.0.2.1").await;
    assert_eq!(out.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(start_paused = true)]
async fn keys_by_route_share_one_limit_per_route() {
    let chain = limited(RateLimitConfig {
        key: RateLimitKey::Route,
        ..bucket(1, 0.001)
    });
    let on = |route: Option<&'static str>, path: &'static str| {
        let request = request("GET", path, &[]);
        let mut exchange = Exchange::new(&request, Some(from("192.0.2.1")));
        exchange.route = route.map(Into::into);
        let chain = &chain;
        async move {
            chain
                .run_with(request, &mut exchange, |_| async {
                    cello_http::Response::new(cello_http::ResponseBody::Empty)
                })
                .await
                .status()
        }
    };
    assert_eq!(on(Some("/users/{id}"), "/users/1").await, StatusCode::OK);
    assert_eq!(
        on(Some("/users/{id}"), "/users/2").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        on(None, "/users/3").await,
        StatusCode::OK,
        "the path without a route"
    );
    assert_eq!(on(None, "/users/3").await, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(start_paused = true)]
async fn adaptive_capacity_drops_while_errors_exceed_the_threshold() {
    let chain = limited(RateLimitConfig {
        algorithm: RateLimitAlgorithm::Adaptive {
            capacity: 100,
            refill_rate: 1000.0,
            min_capacity: 10,
            error_threshold: 0.5,
        },
        ..RateLimitConfig::default()
    });
    let send = |status| {
        let request = request("GET", "/", &[]);
        let chain = &chain;
        async move { run(chain, request, Some(from("192.0.2.1")), status, "").await }
    };
    let quota = |out: &Outcome| {
        out.headers["x-ratelimit-limit"]
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(quota(&send(StatusCode::OK).await), "100");
    for _ in 0..30 {
        send(StatusCode::INTERNAL_SERVER_ERROR).await;
    }
    // Once a second, halfway down to the minimum: 55, 32, 21, ...
    for expected in ["55", "32", "21"] {
        advance(Duration::from_secs(1)).await;
        let out = send(StatusCode::INTERNAL_SERVER_ERROR).await;
        assert_eq!(quota(&out), expected);
        assert!(out.headers["ratelimit-policy"]
            .to_str()
            .unwrap()
            .contains(&format!(";q={expected};")));
    }
    // The errors leave the 10-second window; then a tenth of the way back a second.
    advance(Duration::from_secs(11)).await;
    assert_eq!(quota(&send(StatusCode::OK).await), "30");
    advance(Duration::from_secs(1)).await;
    assert_eq!(quota(&send(StatusCode::OK).await), "39");
}

#[tokio::test(start_paused = true)]
async fn a_failing_store_fails_open_by_default_or_closed_when_asked() {
    let store = Store::Memory(MemoryStore::new(&MemoryStoreConfig::default()).unwrap());
    // Something else under the bucket's key makes every decision fail.
    store
        .set(
            "rl:tb:ip:192.0.2.1",
            Bytes::from_static(b"x"),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    let open = RateLimit::with_store(bucket(1, 0.001), store.clone()).unwrap();
    let chain = chain(vec![open.into()]);
    for _ in 0..3 {
        let out = get(&chain, "/", &[], "192.0.2.1").await;
        assert_eq!(out.status, StatusCode::OK);
        assert!(out.called);
        assert!(!out.headers.contains_key("ratelimit"));
    }
    let closed = RateLimitConfig {
        on_store_error: OnStoreError::FailClosed,
        ..bucket(1, 0.001)
    };
    let chain =
        crate::test_support::chain(vec![RateLimit::with_store(closed, store).unwrap().into()]);
    let out = get(&chain, "/", &[], "192.0.2.1").await;
    assert_eq!(out.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(!out.called);
    assert_eq!(out.headers["retry-after"], "1");
    assert_eq!(out.headers["content-type"], "application/problem+json");
}

#[test]
fn bad_configs_are_refused_with_what_to_change() {
    let adaptive = |capacity, min_capacity, error_threshold| RateLimitConfig {
        algorithm: RateLimitAlgorithm::Adaptive {
            capacity,
            refill_rate: 1.0,
            min_capacity,
            error_threshold,
        },
        ..RateLimitConfig::default()
    };
    let cases = [
        (bucket(0, 1.0), "capacity must be at least 1"),
        (bucket(-5, 1.0), "capacity must be at least 1"),
        (bucket(10, 0.0), "refill_rate must be a positive number"),
        (bucket(10, -1.0), "refill_rate must be a positive number"),
        (
            bucket(10, f64::NAN),
            "refill_rate must be a positive number",
        ),
        (window(0, 60), "max_requests must be at least 1"),
        (
            window(10, 0),
            "window_secs must be a whole number of seconds from 1",
        ),
        (
            adaptive(10, 20, 0.5),
            "min_capacity must be from 1 to capacity (10)",
        ),
        (
            adaptive(10, 0, 0.5),
            "min_capacity must be from 1 to capacity",
        ),
        (adaptive(10, 5, 0.0), "error_threshold must be a share"),
        (adaptive(10, 5, 1.5), "error_threshold must be a share"),
        (
            RateLimitConfig {
                key: RateLimitKey::Header("x api key".into()),
                ..RateLimitConfig::default()
            },
            "is not a valid header name",
        ),
        (
            RateLimitConfig {
                trusted_proxies: vec!["10.0.0.300".into()],
                ..RateLimitConfig::default()
            },
            "trusted proxy \"10.0.0.300\" is not an IP address or a network",
        ),
        (
            RateLimitConfig {
                trusted_proxies: vec!["10.0.0.0/33".into()],
                ..RateLimitConfig::default()
            },
            "like \"10.0.0.0/8\"",
        ),
        (
            RateLimitConfig {
                exempt_paths: vec!["health".into()],
                ..RateLimitConfig::default()
            },
            "must start with \"/\"",
        ),
    ];
    for (config, message) in cases {
        let error = RateLimit::new(config.clone()).unwrap_err().to_string();
        assert!(error.contains(message), "{config:?}: {error}");
    }
    assert!(RateLimit::new(adaptive(10, 10, 1.0)).is_ok());
}
