//! Sessions in a real Redis (127.0.0.1:6379, or `CELLO_TEST_REDIS_URL`): what one worker
//! saves, another reads. Each worker is played by a `Session` layer of its own, with its
//! own connection, over one key prefix; the prefix is the test's own and its keys are
//! deleted at the end.

use std::cell::RefCell;
use std::rc::Rc;

use bytes::Bytes;
use cello_http::{Request, RequestBody, Response, ResponseBody};
use cello_middleware::{
    Chain, RedisStoreConfig, Session, SessionConfig, SessionHandle, StoreConfig,
};
use http::StatusCode;
use redis::Commands;
use serde_json::{json, Map, Value};

use crate::support::{chain_of, clean, closed_port, inspect, keys, prefix, url};

const SECRET: &[u8] = b"a secret shared by every worker, 32+ bytes";

/// A worker: a chain of one session layer with its own Redis store.
fn worker(url: String, prefix: &str) -> Chain {
    let config = SessionConfig {
        secret: SECRET.to_vec(),
        max_age: 600,
        store: StoreConfig::Redis(RedisStoreConfig {
            url,
            key_prefix: prefix.into(),
            ..RedisStoreConfig::default()
        }),
        ..SessionConfig::default()
    };
    chain_of(Session::new(&config).unwrap())
}

/// What a request saw and what came back.
struct Seen {
    status: StatusCode,
    cookie: Option<String>,
    data: Option<(bool, Map<String, Value>)>,
}

/// Sends a request with `cookie` to `chain`; the handler records the session it got,
/// then does `work` with it.
async fn call(
    chain: &Chain,
    cookie: Option<&str>,
    work: impl FnOnce(&SessionHandle) + 'static,
) -> Seen {
    let mut builder = http::Request::builder().uri("/");
    if let Some(cookie) = cookie {
        builder = builder.header("cookie", format!("session_id={cookie}"));
    }
    let request = builder.body(RequestBody::empty()).unwrap();
    let seen = Rc::new(RefCell::new(None));
    let record = seen.clone();
    let response = chain
        .run(request, None, |request: Request| async move {
            let session = request.extensions().get::<SessionHandle>().unwrap().clone();
            *record.borrow_mut() = Some((session.is_new(), session.data()));
            work(&session);
            Response::new(ResponseBody::full(Bytes::new()))
        })
        .await;
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|line| line.to_str().ok())
        .and_then(|line| line.strip_prefix("session_id="))
        .and_then(|rest| rest.split(';').next())
        .map(str::to_owned);
    Seen {
        status: response.status(),
        cookie,
        data: seen.take(),
    }
}

fn id_of(cookie: &str) -> &str {
    cookie.split_once('.').unwrap().0
}

#[tokio::test]
async fn a_session_saved_by_one_worker_is_read_by_another() {
    let prefix = prefix("session");
    let (first, second) = (worker(url(), &prefix), worker(url(), &prefix));

    let saved = call(&first, None, |session| {
        session.insert("cart", json!([1, 2])).unwrap();
    })
    .await;
    assert_eq!(saved.status, StatusCode::OK);
    let cookie = saved.cookie.expect("a session cookie");
    let key = format!("{prefix}session:{}", id_of(&cookie));
    assert_eq!(keys(&prefix), std::slice::from_ref(&key));
    let stored: String = inspect().get(&key).unwrap();
    assert_eq!(stored, r#"{"cart":[1,2]}"#);
    let ttl: i64 = inspect().pttl(&key).unwrap();
    assert!((1..=600_000).contains(&ttl), "the TTL is max_age: {ttl} ms");

    // The other worker reads it, changes it; the first sees the change.
    let read = call(&second, Some(&cookie), |session| {
        session.insert("cart", json!([1, 2, 3])).unwrap();
    })
    .await;
    let (new, data) = read.data.unwrap();
    assert!(!new);
    assert_eq!(data["cart"], json!([1, 2]));
    assert_eq!(read.cookie.as_deref(), Some(cookie.as_str()), "same id");
    let (_, data) = call(&first, Some(&cookie), |_| {}).await.data.unwrap();
    assert_eq!(data["cart"], json!([1, 2, 3]));

    // A login on the second worker gives a new id; the old one is gone for both.
    let login = call(&second, Some(&cookie), |session| {
        session.insert("user_id", json!(42)).unwrap();
    })
    .await
    .cookie
    .unwrap();
    assert_ne!(id_of(&login), id_of(&cookie));
    assert_eq!(
        keys(&prefix),
        [format!("{prefix}session:{}", id_of(&login))]
    );
    let (new, _) = call(&first, Some(&cookie), |_| {}).await.data.unwrap();
    assert!(new, "the old id no longer loads");
    let (_, data) = call(&first, Some(&login), |_| {}).await.data.unwrap();
    assert_eq!(data["user_id"], json!(42));

    // Destroyed by the first worker: gone from Redis.
    let logout = call(&first, Some(&login), SessionHandle::destroy).await;
    assert_eq!(logout.cookie.as_deref(), Some(""), "the cookie is expired");
    assert!(keys(&prefix).is_empty());
    clean(&prefix);
}

#[tokio::test]
async fn an_unreachable_redis_answers_503() {
    // A port nothing listens on: connections are refused at once.
    let port = closed_port();
    let down = worker(format!("redis://127.0.0.1:{port}/0"), "cello-test:down:");
    // Any well-signed cookie makes the layer ask the store; sign one with a live worker.
    let prefix = prefix("session-down");
    let cookie = call(&worker(url(), &prefix), None, |session| {
        session.insert("a", json!(1)).unwrap();
    })
    .await
    .cookie
    .unwrap();
    let seen = call(&down, Some(&cookie), |_| {}).await;
    assert_eq!(seen.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(seen.data.is_none(), "the handler did not run");
    // A request without a cookie needs no store, and a change to its new session cannot
    // be saved: 503 rather than a login that silently did not happen.
    let seen = call(&down, None, |session| {
        session.insert("user_id", json!(1)).unwrap();
    })
    .await;
    assert_eq!(seen.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(seen.data.is_some(), "the handler ran");
    clean(&prefix);
}
