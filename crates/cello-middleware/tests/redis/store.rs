//! The Redis store against a real Redis (127.0.0.1:6379, or `CELLO_TEST_REDIS_URL`).
//!
//! Each test uses a key prefix of its own, so tests running at once (and other
//! programs using the same Redis) never meet, and deletes its keys at the end. Limits
//! refill so slowly (a token per 1000 s, windows of an hour) that no count depends on
//! how fast the machine runs the test.

use std::net::TcpListener;
use std::time::Duration;

use bytes::Bytes;
use cello_http::{ConnInfo, Request, RequestBody, Response, ResponseBody};
use cello_middleware::{
    Chain, OnStoreError, RateLimit, RateLimitAlgorithm, RateLimitConfig, RedisStoreConfig, Store,
    StoreConfig, StoreError,
};
use http::StatusCode;
use redis::Commands;

use crate::support::{chain_of, clean, closed_port, inspect, keys, prefix, redis_config, url};

/// The rate limit of one worker: its own store, its own connection.
fn worker(algorithm: RateLimitAlgorithm, prefix: &str, on_store_error: OnStoreError) -> Chain {
    let layer = RateLimit::new(RateLimitConfig {
        algorithm,
        store: StoreConfig::Redis(redis_config(prefix)),
        on_store_error,
        ..RateLimitConfig::default()
    })
    .unwrap();
    chain_of(layer)
}

fn request() -> Request {
    http::Request::builder()
        .uri("/items")
        .body(RequestBody::Full(Bytes::new()))
        .unwrap()
}

fn conn() -> ConnInfo {
    ConnInfo {
        peer: "192.0.2.7:40000".parse().unwrap(),
        local: "127.0.0.1:8000".parse().unwrap(),
        secure: false,
    }
}

/// Runs one request; the response and whether the handler ran.
async fn send(chain: &Chain) -> (Response, bool) {
    let mut called = false;
    let response = chain
        .run(request(), Some(conn()), |_| {
            called = true;
            async { Response::new(ResponseBody::Empty) }
        })
        .await;
    (response, called)
}

fn header(response: &Response, name: &str) -> String {
    response.headers()[name].to_str().unwrap().to_owned()
}

async fn two_workers_share_one_limit(algorithm: RateLimitAlgorithm, quota: usize, test: &str) {
    let prefix = prefix(test);
    let workers = [
        worker(algorithm.clone(), &prefix, OnStoreError::FailOpen),
        worker(algorithm, &prefix, OnStoreError::FailOpen),
    ];
    let mut allowed = 0;
    for round in 0..quota * 2 + 3 {
        let (response, called) = send(&workers[round % 2]).await;
        match response.status() {
            StatusCode::OK => {
                assert!(called);
                allowed += 1;
                let remaining = quota - allowed;
                assert_eq!(
                    header(&response, "x-ratelimit-remaining"),
                    remaining.to_string()
                );
            }
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(!called);
                let retry_after: u64 = header(&response, "retry-after").parse().unwrap();
                assert!(retry_after >= 1, "{retry_after}");
                assert!(header(&response, "ratelimit").starts_with("\"default\";r=0;t="));
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(
        allowed, quota,
        "exactly the quota, in total over both workers"
    );
    clean(&prefix);
}

#[tokio::test]
async fn two_workers_share_one_token_bucket() {
    let bucket = RateLimitAlgorithm::TokenBucket {
        capacity: 5,
        refill_rate: 0.001,
    };
    two_workers_share_one_limit(bucket, 5, "bucket").await;
}

#[tokio::test]
async fn two_workers_share_one_sliding_window() {
    let window = RateLimitAlgorithm::SlidingWindow {
        max_requests: 4,
        window_secs: 3600,
    };
    two_workers_share_one_limit(window, 4, "window").await;
}

#[tokio::test]
async fn retry_after_comes_from_the_server_clock() {
    let prefix = prefix("retry");
    let chain = worker(
        RateLimitAlgorithm::TokenBucket {
            capacity: 1,
            refill_rate: 0.001,
        },
        &prefix,
        OnStoreError::FailOpen,
    );
    assert_eq!(send(&chain).await.0.status(), StatusCode::OK);
    let (response, _) = send(&chain).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    // A token every 1000 s: at most 1000 s to wait, and no test runs for minutes.
    let retry_after: u64 = header(&response, "retry-after").parse().unwrap();
    assert!((900..=1000).contains(&retry_after), "{retry_after}");
    assert_eq!(
        header(&response, "ratelimit-policy"),
        "\"default\";q=1;w=1000"
    );
    clean(&prefix);
}

#[tokio::test]
async fn keys_get_a_ttl_and_expire() {
    let prefix = prefix("ttl");
    let bucket = worker(
        RateLimitAlgorithm::TokenBucket {
            capacity: 10,
            refill_rate: 1.0,
        },
        &prefix,
        OnStoreError::FailOpen,
    );
    send(&bucket).await;
    let window = worker(
        RateLimitAlgorithm::SlidingWindow {
            max_requests: 10,
            window_secs: 1,
        },
        &prefix,
        OnStoreError::FailOpen,
    );
    send(&window).await;
    let mut redis = inspect();
    let bucket_key = format!("{prefix}rl:tb:ip:192.0.2.7");
    let window_key = format!("{prefix}rl:sw:ip:192.0.2.7");
    // The bucket is one token short: it may go once that token is back (1 s).
    let ttl: i64 = redis.pttl(&bucket_key).unwrap();
    assert!((1..=1000).contains(&ttl), "bucket pttl {ttl}");
    let ttl: i64 = redis.pttl(&window_key).unwrap();
    assert!((1..=1000).contains(&ttl), "window pttl {ttl}");
    // Both TTLs are at most a second: past it, both keys are gone, however slow we are.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(keys(&prefix).is_empty(), "{:?}", keys(&prefix));
}

#[tokio::test]
async fn the_common_operations_work_on_redis() {
    let prefix = prefix("ops");
    let store = Store::new(&StoreConfig::Redis(redis_config(&prefix))).unwrap();
    let hour = Duration::from_secs(3600);
    store
        .set("session", Bytes::from_static(b"data"), hour)
        .await
        .unwrap();
    assert_eq!(
        store.get("session").await.unwrap().as_deref(),
        Some(&b"data"[..])
    );
    assert_eq!(store.get("missing").await.unwrap(), None);
    assert_eq!(store.increment("failures", 2, hour).await.unwrap(), 2);
    assert_eq!(store.increment("failures", 3, hour).await.unwrap(), 5);
    let ttl: i64 = inspect().pttl(format!("{prefix}failures")).unwrap();
    assert!((1..=3_600_000).contains(&ttl), "counter pttl {ttl}");
    assert!(store.delete("session").await.unwrap());
    assert!(!store.delete("session").await.unwrap());
    // Counting on text is an error of that command, not an outage: the next one runs.
    store
        .set("text", Bytes::from_static(b"abc"), hour)
        .await
        .unwrap();
    let error = store.increment("text", 1, hour).await.unwrap_err();
    assert!(matches!(error, StoreError::Redis { .. }), "{error}");
    assert_eq!(
        store.get("text").await.unwrap().as_deref(),
        Some(&b"abc"[..])
    );
    clean(&prefix);
}

fn unreachable(on_store_error: OnStoreError) -> Chain {
    let layer = RateLimit::new(RateLimitConfig {
        store: StoreConfig::Redis(RedisStoreConfig {
            url: format!("redis://127.0.0.1:{}/0", closed_port()),
            ..RedisStoreConfig::default()
        }),
        on_store_error,
        ..RateLimitConfig::default()
    })
    .unwrap();
    chain_of(layer)
}

#[tokio::test]
async fn unreachable_redis_fails_open_by_default() {
    let chain = unreachable(OnStoreError::default());
    // The first request finds the port closed; the next fail at once for a second.
    for _ in 0..3 {
        let (response, called) = send(&chain).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(called);
        assert!(!response.headers().contains_key("ratelimit"));
    }
}

#[tokio::test]
async fn unreachable_redis_fails_closed_when_asked() {
    let chain = unreachable(OnStoreError::FailClosed);
    for _ in 0..3 {
        let (response, called) = send(&chain).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(!called);
        assert_eq!(header(&response, "retry-after"), "1");
    }
}

#[tokio::test]
async fn store_errors_say_which_redis_failed() {
    let port = closed_port();
    let store = Store::new(&StoreConfig::Redis(RedisStoreConfig {
        url: format!("redis://127.0.0.1:{port}/0"),
        // Long enough that the second call is inside it on any machine.
        retry_interval: Duration::from_secs(3600),
        ..RedisStoreConfig::default()
    }))
    .unwrap();
    let first = store.get("k").await.unwrap_err();
    assert!(matches!(first, StoreError::Redis { .. }), "{first}");
    assert!(
        first.to_string().contains(&format!("127.0.0.1:{port}")),
        "{first}"
    );
    // Within the retry interval the store is not tried again.
    let second = store.get("k").await.unwrap_err();
    assert!(matches!(second, StoreError::Down { .. }), "{second}");
}

#[tokio::test]
async fn nothing_connects_before_the_first_request() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let chain = chain_of(
        RateLimit::new(RateLimitConfig {
            store: StoreConfig::Redis(RedisStoreConfig {
                url: format!("redis://127.0.0.1:{port}/0"),
                timeout: Duration::from_millis(100),
                ..RedisStoreConfig::default()
            }),
            ..RateLimitConfig::default()
        })
        .unwrap(),
    );
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    let error = listener.accept().unwrap_err();
    assert_eq!(
        error.kind(),
        std::io::ErrorKind::WouldBlock,
        "connected before use"
    );
    // This listener never answers: the request waits for the timeout, then fails open.
    let (response, called) = send(&chain).await;
    assert!(called);
    assert_eq!(response.status(), StatusCode::OK);
    assert!(listener.accept().is_ok(), "the first request connects");
}

/// A TCP relay to Redis that the test can cut and restore, on a port of its own.
struct Relay {
    port: u16,
    tasks: tokio::task::JoinSet<()>,
}

impl Relay {
    async fn start(port: u16) -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let target = url()
            .trim_start_matches("redis://")
            .split('/')
            .next()
            .unwrap()
            .to_owned();
        let mut tasks = tokio::task::JoinSet::new();
        tasks.spawn(async move {
            // Connections live inside this task's set: aborting it cuts them all.
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                let target = target.clone();
                connections.spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Self { port, tasks }
    }

    async fn cut(mut self) -> u16 {
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
        self.port
    }
}

#[tokio::test]
async fn the_store_reconnects_once_redis_is_back() {
    let prefix = prefix("reconnect");
    let relay = Relay::start(0).await;
    let retry_interval = Duration::from_millis(50);
    let layer = RateLimit::new(RateLimitConfig {
        algorithm: RateLimitAlgorithm::TokenBucket {
            capacity: 3,
            refill_rate: 0.001,
        },
        store: StoreConfig::Redis(RedisStoreConfig {
            url: format!("redis://127.0.0.1:{}/0", relay.port),
            key_prefix: prefix.clone(),
            retry_interval,
            ..RedisStoreConfig::default()
        }),
        ..RateLimitConfig::default()
    })
    .unwrap();
    let chain = chain_of(layer);
    let (response, _) = send(&chain).await;
    assert_eq!(header(&response, "x-ratelimit-remaining"), "2");

    let port = relay.cut().await;
    let (response, called) = send(&chain).await;
    assert!(called, "fails open");
    assert!(!response.headers().contains_key("ratelimit"));

    let _relay = Relay::start(port).await;
    // Past the retry interval the next request connects again; the bucket was kept.
    tokio::time::sleep(retry_interval * 2).await;
    let (response, _) = send(&chain).await;
    assert_eq!(header(&response, "x-ratelimit-remaining"), "1");
    clean(&prefix);
}
