//! The response cache on a real Redis (127.0.0.1:6379, or `CELLO_TEST_REDIS_URL`): two
//! chains built from the same config stand for two workers.
//!
//! Each test uses a key prefix of its own and deletes its keys at the end. TTLs are
//! minutes long and only checked against their bounds, so no result depends on how
//! fast the machine runs the test.

use std::cell::Cell;
use std::time::Duration;

use bytes::Bytes;
use cello_http::{Request, RequestBody, Response, ResponseBody};
use cello_middleware::{Cache, CacheConfig, Chain, Layer, RedisStoreConfig, StoreConfig};
use http::{HeaderMap, HeaderValue, StatusCode};
use redis::Commands;

use crate::support::{chain_of, clean, closed_port, inspect, keys, prefix, redis_config};

fn config(prefix: &str) -> CacheConfig {
    CacheConfig {
        store: StoreConfig::Redis(redis_config(prefix)),
        ..CacheConfig::default()
    }
}

/// One worker's chain: its own cache layer, its own connection.
fn worker(config: &CacheConfig) -> Chain {
    chain_of(Cache::new(config).unwrap())
}

fn cache(chain: &Chain) -> &Cache {
    chain
        .layers()
        .iter()
        .find_map(|layer| match layer {
            Layer::Cache(cache) => Some(cache),
            _ => None,
        })
        .unwrap()
}

fn request(method: &str, path: &str, headers: &[(&str, &str)]) -> Request {
    let mut builder = http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "example.com");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(RequestBody::Full(Bytes::new())).unwrap()
}

struct Served {
    headers: HeaderMap,
    body: Bytes,
    called: bool,
}

impl Served {
    fn x_cache(&self) -> Option<&str> {
        self.headers.get("x-cache").map(|v| v.to_str().unwrap())
    }
}

/// Runs `request` through `chain` over a handler answering `body` with `headers`.
async fn serve(
    chain: &Chain,
    request: Request,
    body: &'static str,
    headers: &[(&'static str, &'static str)],
) -> Served {
    let called = Cell::new(false);
    let response = chain
        .run(request, None, |_| async {
            called.set(true);
            let mut response =
                Response::new(ResponseBody::full(Bytes::from_static(body.as_bytes())));
            for (name, value) in headers {
                response
                    .headers_mut()
                    .append(*name, HeaderValue::from_static(value));
            }
            response
        })
        .await;
    let (parts, body) = response.into_parts();
    assert_eq!(parts.status, StatusCode::OK);
    Served {
        headers: parts.headers,
        body: body.collect_bytes().await.unwrap(),
        called: called.get(),
    }
}

#[tokio::test]
async fn two_workers_share_entries_stored_as_one_binary_value_with_a_ttl() {
    let prefix = prefix("shared");
    let config = config(&prefix);
    let (first, second) = (worker(&config), worker(&config));
    let tags = [("x-cache-tags", "users"), ("content-type", "text/plain")];
    let miss = serve(&first, request("GET", "/users?page=1", &[]), "list", &tags).await;
    assert_eq!(miss.x_cache(), Some("MISS"));
    assert!(miss.headers.get("x-cache-tags").is_none());

    let hit = serve(&second, request("GET", "/users?page=1", &[]), "??", &tags).await;
    assert!(!hit.called, "the other worker's entry");
    assert_eq!((hit.x_cache(), &hit.body[..]), (Some("HIT"), &b"list"[..]));
    assert_eq!(hit.headers["content-type"], "text/plain");
    assert!(hit.headers["age"].to_str().unwrap().parse::<u64>().is_ok());
    assert!(hit.headers.get("x-cache-tags").is_none());
    let head = serve(&second, request("HEAD", "/users?page=1", &[]), "", &[]).await;
    assert!(!head.called && head.body.is_empty());
    assert_eq!(head.headers["content-length"], "4");

    let entries = keys(&format!("{prefix}cache:e:"));
    assert_eq!(entries.len(), 1, "{entries:?}");
    let mut redis = inspect();
    let value: Vec<u8> = redis.get(&entries[0]).unwrap();
    assert_eq!(&value[..2], b"C1");
    assert!(value.ends_with(b"list"), "the body as it is, at the end");
    let ttl: i64 = redis.pttl(&entries[0]).unwrap();
    assert!(ttl > 0 && ttl <= 300_000, "{ttl}");
    let members: Vec<String> = redis.smembers(format!("{prefix}cache:t:users")).unwrap();
    assert_eq!(members, entries);
    let ttl: i64 = redis.pttl(format!("{prefix}cache:t:users")).unwrap();
    assert!(ttl > 0 && ttl <= 300_000, "{ttl}");
    clean(&prefix);
}

#[tokio::test]
async fn an_invalidation_from_one_worker_reaches_the_entries_of_all() {
    let prefix = prefix("invalidate");
    let config = config(&prefix);
    let (first, second) = (worker(&config), worker(&config));
    serve(
        &first,
        request("GET", "/users/1", &[]),
        "one",
        &[("x-cache-tags", "users,user:1")],
    )
    .await;
    serve(
        &first,
        request("GET", "/users/2", &[]),
        "two",
        &[("x-cache-tags", "users")],
    )
    .await;
    serve(
        &first,
        request("GET", "/feed", &[]),
        "feed",
        &[("x-cache-tags", "feed")],
    )
    .await;

    assert_eq!(
        cache(&second)
            .invalidate(&["users", "user:1"])
            .await
            .unwrap(),
        2
    );
    assert!(
        serve(&first, request("GET", "/users/1", &[]), "new", &[])
            .await
            .called
    );
    assert!(
        serve(&first, request("GET", "/users/2", &[]), "new", &[])
            .await
            .called
    );
    assert!(
        !serve(&first, request("GET", "/feed", &[]), "new", &[])
            .await
            .called
    );
    assert!(
        keys(&format!("{prefix}cache:t:user")).is_empty(),
        "the sets went too"
    );

    let _: () = inspect().set(format!("{prefix}other"), "kept").unwrap();
    cache(&first).clear().await.unwrap();
    assert_eq!(keys(&prefix), [format!("{prefix}other")]);
    clean(&prefix);
}

#[tokio::test]
async fn vary_and_route_ttls_work_across_workers() {
    let prefix = prefix("vary");
    let config = config(&prefix);
    let (first, second) = (worker(&config), worker(&config));
    let in_language = |language| request("GET", "/", &[("accept-language", language)]);
    let vary = [("vary", "Accept-Language"), ("x-cache-ttl", "60")];
    serve(&first, in_language("en"), "hello", &vary).await;
    serve(&first, in_language("fr"), "bonjour", &vary).await;
    let french = serve(&second, in_language("fr"), "?", &vary).await;
    assert_eq!(
        (french.x_cache(), &french.body[..]),
        (Some("HIT"), &b"bonjour"[..])
    );
    assert!(
        serve(&second, in_language("de"), "hallo", &vary)
            .await
            .called
    );
    let entries = keys(&format!("{prefix}cache:e:"));
    assert_eq!(entries.len(), 3);
    for entry in entries {
        let ttl: i64 = inspect().pttl(&entry).unwrap();
        assert!(ttl > 0 && ttl <= 60_000, "the route's X-Cache-TTL: {ttl}");
    }
    clean(&prefix);
}

#[tokio::test]
async fn a_redis_that_is_down_is_a_miss_never_an_error() {
    let config = CacheConfig {
        store: StoreConfig::Redis(RedisStoreConfig {
            url: format!("redis://127.0.0.1:{}/0", closed_port()),
            timeout: Duration::from_millis(200),
            ..RedisStoreConfig::default()
        }),
        ..CacheConfig::default()
    };
    let chain = worker(&config);
    for _ in 0..2 {
        let out = serve(&chain, request("GET", "/", &[]), "fresh", &[]).await;
        assert!(out.called);
        assert_eq!(
            (out.x_cache(), &out.body[..]),
            (Some("MISS"), &b"fresh"[..])
        );
    }
    let error = cache(&chain).invalidate(&["users"]).await.unwrap_err();
    assert!(error.to_string().contains("127.0.0.1"), "{error}");
}

#[test]
fn per_user_entries_are_refused_on_redis() {
    let config = CacheConfig {
        cache_authenticated: true,
        ..config("refused")
    };
    let error = Cache::new(&config).unwrap_err().to_string();
    assert!(error.contains("use the memory store"), "{error}");
}
