use std::future::Future;
use std::task::{Context, Poll};
use std::time::Duration;

use cello_http::{Response, ResponseBody};
use http::StatusCode;

use super::{CircuitBreaker, CircuitBreakerConfig};
use crate::chain::{Chain, Exchange};
use crate::clock::{self, ManualTime};
use crate::request_id::{RequestId, RequestIdConfig};
use crate::test_support::{chain, request, run, Outcome};

fn breaker(config: &CircuitBreakerConfig) -> (Chain, ManualTime) {
    let (clock, time) = clock::manual();
    let layer = CircuitBreaker::new(config).unwrap().with_clock(clock);
    (chain(vec![layer.into()]), time)
}

async fn get(chain: &Chain, path: &str, status: StatusCode) -> Outcome {
    run(chain, request("GET", path, &[]), None, status, "{}").await
}

async fn fail_times(chain: &Chain, path: &str, times: u32) {
    for _ in 0..times {
        let out = get(chain, path, StatusCode::INTERNAL_SERVER_ERROR).await;
        assert!(out.called);
    }
}

#[tokio::test]
async fn opens_after_the_threshold_and_refuses_with_retry_after() {
    let (chain, time) = breaker(&CircuitBreakerConfig::default());
    fail_times(&chain, "/orders", 4).await;
    assert!(
        get(&chain, "/orders", StatusCode::OK).await.called,
        "4 < 5: closed"
    );
    fail_times(&chain, "/orders", 5).await;

    let out = get(&chain, "/orders", StatusCode::OK).await;
    assert!(!out.called, "an open breaker does not call the handler");
    assert_eq!(out.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(out.headers["retry-after"], "30");
    assert_eq!(out.headers["content-type"], "application/problem+json");
    let body: serde_json::Value = serde_json::from_slice(&out.body).unwrap();
    assert_eq!(body["status"], 503);
    assert!(body["detail"].as_str().unwrap().contains("GET /orders"));

    time.advance(Duration::from_millis(10_500));
    let out = get(&chain, "/orders", StatusCode::OK).await;
    assert_eq!(out.headers["retry-after"], "20", "19.5 s left, rounded up");
    assert!(
        get(&chain, "/other", StatusCode::OK).await.called,
        "per route"
    );
}

#[tokio::test]
async fn half_open_trials_close_it_or_a_failure_reopens_it() {
    let config = CircuitBreakerConfig {
        failure_threshold: 2,
        ..CircuitBreakerConfig::default()
    };
    let (chain, time) = breaker(&config);
    fail_times(&chain, "/pay", 2).await;
    time.advance(Duration::from_secs(30));
    // One failed trial opens it again for another reset_timeout.
    let out = get(&chain, "/pay", StatusCode::BAD_GATEWAY).await;
    assert!(out.called);
    let out = get(&chain, "/pay", StatusCode::OK).await;
    assert!(!out.called);
    assert_eq!(out.headers["retry-after"], "30");

    time.advance(Duration::from_secs(30));
    for _ in 0..3 {
        assert!(get(&chain, "/pay", StatusCode::OK).await.called, "a trial");
    }
    // Closed again: failures count from zero.
    fail_times(&chain, "/pay", 1).await;
    assert!(get(&chain, "/pay", StatusCode::OK).await.called);
}

#[tokio::test]
async fn only_the_failure_codes_count() {
    let config = CircuitBreakerConfig {
        failure_threshold: 1,
        failure_codes: vec![503],
        ..CircuitBreakerConfig::default()
    };
    let (chain, _time) = breaker(&config);
    for status in [
        StatusCode::NOT_FOUND,
        StatusCode::BAD_REQUEST,
        StatusCode::INTERNAL_SERVER_ERROR,
    ] {
        get(&chain, "/x", status).await;
    }
    assert!(get(&chain, "/x", StatusCode::OK).await.called);
    get(&chain, "/x", StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(!get(&chain, "/x", StatusCode::OK).await.called);
}

#[tokio::test]
async fn a_route_template_is_one_breaker_for_all_its_paths() {
    let config = CircuitBreakerConfig {
        failure_threshold: 2,
        ..CircuitBreakerConfig::default()
    };
    let (chain, _time) = breaker(&config);
    for path in ["/users/1", "/users/2"] {
        let request = request("GET", path, &[]);
        let mut exchange = Exchange::new(&request, None);
        exchange.route = Some("/users/{id}".into());
        let response = chain
            .run_with(request, &mut exchange, |_| async {
                let mut response = Response::new(ResponseBody::Empty);
                *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                response
            })
            .await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
    let request = request("GET", "/users/3", &[]);
    let mut exchange = Exchange::new(&request, None);
    exchange.route = Some("/users/{id}".into());
    let response = chain
        .run_with(request, &mut exchange, |_| async {
            Response::new(ResponseBody::Empty)
        })
        .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        get(&chain, "/users/3", StatusCode::OK).await.called,
        "without the template, the path is its own breaker"
    );
    let post = run(&chain, request_post("/users/1"), None, StatusCode::OK, "").await;
    assert!(post.called, "the method is part of the route");
}

fn request_post(path: &str) -> cello_http::Request {
    request("POST", path, &[])
}

#[tokio::test]
async fn a_cancelled_trial_gives_its_place_back() {
    let config = CircuitBreakerConfig {
        failure_threshold: 1,
        half_open_target: 1,
        ..CircuitBreakerConfig::default()
    };
    let (chain, time) = breaker(&config);
    fail_times(&chain, "/slow", 1).await;
    time.advance(Duration::from_secs(30));
    {
        let pending = chain.run(request("GET", "/slow", &[]), None, |_| {
            std::future::pending::<Response>()
        });
        let mut pending = std::pin::pin!(pending);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert!(matches!(pending.as_mut().poll(&mut cx), Poll::Pending));
        let refused = get(&chain, "/slow", StatusCode::OK).await;
        assert!(!refused.called, "the only trial place is taken");
    } // the client went away: the request is dropped
    assert!(get(&chain, "/slow", StatusCode::OK).await.called);
}

#[tokio::test]
async fn a_panicking_handler_counts_as_a_failure() {
    let config = CircuitBreakerConfig {
        failure_threshold: 1,
        ..CircuitBreakerConfig::default()
    };
    let (chain, _time) = breaker(&config);
    let run = chain.run(request("GET", "/boom", &[]), None, |_| async {
        panic!("the handler failed");
    });
    let mut run = std::pin::pin!(run);
    let mut cx = Context::from_waker(std::task::Waker::noop());
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = run.as_mut().poll(&mut cx);
    }));
    assert!(caught.is_err());
    assert!(!get(&chain, "/boom", StatusCode::OK).await.called);
}

#[tokio::test]
async fn the_refusal_passes_through_the_outer_layers() {
    let (clock, _time) = clock::manual();
    let config = CircuitBreakerConfig {
        failure_threshold: 1,
        ..CircuitBreakerConfig::default()
    };
    let chain = chain(vec![
        CircuitBreaker::new(&config)
            .unwrap()
            .with_clock(clock)
            .into(),
        RequestId::new(&RequestIdConfig::default()).unwrap().into(),
    ]);
    fail_times(&chain, "/", 1).await;
    let out = get(&chain, "/", StatusCode::OK).await;
    assert_eq!(out.status, StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = serde_json::from_slice(&out.body).unwrap();
    assert_eq!(
        body["request_id"],
        out.headers["x-request-id"].to_str().unwrap()
    );
}

#[test]
fn bad_configurations_are_refused_with_a_reason() {
    let cases = [
        (
            CircuitBreakerConfig {
                failure_threshold: 0,
                ..CircuitBreakerConfig::default()
            },
            "failure_threshold must be at least 1",
        ),
        (
            CircuitBreakerConfig {
                reset_timeout: Duration::ZERO,
                ..CircuitBreakerConfig::default()
            },
            "reset_timeout must be more than 0",
        ),
        (
            CircuitBreakerConfig {
                half_open_target: 0,
                ..CircuitBreakerConfig::default()
            },
            "half_open_target must be at least 1",
        ),
        (
            CircuitBreakerConfig {
                failure_codes: vec![500, 600],
                ..CircuitBreakerConfig::default()
            },
            "600 is not an HTTP status",
        ),
        (
            CircuitBreakerConfig {
                failure_codes: vec![],
                ..CircuitBreakerConfig::default()
            },
            "could never open",
        ),
        (
            CircuitBreakerConfig {
                max_routes: 0,
                ..CircuitBreakerConfig::default()
            },
            "max_routes must be at least 1",
        ),
    ];
    for (config, message) in cases {
        let error = CircuitBreaker::new(&config).unwrap_err().to_string();
        assert!(error.contains(message), "{error:?} lacks {message:?}");
    }
}
