use std::time::Duration;

use bytes::Bytes;
use cello_http::{Request, Response, ResponseBody};
use http::{HeaderMap, StatusCode};
use serde_json::{json, Value};

use super::handle::serialized_size;
use super::{Session, SessionConfig, SessionError, SessionHandle};
use crate::chain::Chain;
use crate::cookie::SameSite;
use crate::store::{MemoryStore, MemoryStoreConfig, Store};
use crate::test_support::{chain, request};

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-test";

fn config() -> SessionConfig {
    SessionConfig {
        secret: SECRET.to_vec(),
        ..SessionConfig::default()
    }
}

fn sessions(config: &SessionConfig) -> Chain {
    chain(vec![Session::new(config).unwrap().into()])
}

struct Outcome {
    status: StatusCode,
    headers: HeaderMap,
}

impl Outcome {
    /// The value the response sets the session cookie to, if it does.
    fn cookie(&self) -> Option<String> {
        let line = self.headers.get("set-cookie")?.to_str().unwrap();
        let value = line.strip_prefix("session_id=")?.split(';').next()?;
        Some(value.to_owned())
    }
}

/// Runs a request carrying `cookie` through `chain` to a handler that does `work` with
/// the session.
async fn call(
    chain: &Chain,
    cookie: Option<&str>,
    work: impl FnOnce(&SessionHandle) + 'static,
) -> Outcome {
    let header = cookie.map(|value| format!("theme=dark; session_id={value}"));
    let headers: Vec<(&str, &str)> = header.iter().map(|h| ("cookie", h.as_str())).collect();
    let response = chain
        .run(
            request("GET", "/", &headers),
            None,
            |request: Request| async move {
                let handle = request
                    .extensions()
                    .get::<SessionHandle>()
                    .expect("the layer puts the session in the extensions")
                    .clone();
                work(&handle);
                Response::new(ResponseBody::full(Bytes::from_static(b"ok")))
            },
        )
        .await;
    Outcome {
        status: response.status(),
        headers: response.headers().clone(),
    }
}

/// The session the next request with `cookie` sees.
async fn load(chain: &Chain, cookie: &str) -> (bool, serde_json::Map<String, Value>) {
    let seen = std::rc::Rc::new(std::cell::RefCell::new(None));
    let out = seen.clone();
    let outcome = call(chain, Some(cookie), move |session| {
        *out.borrow_mut() = Some((session.is_new(), session.data()));
    })
    .await;
    assert_eq!(outcome.status, StatusCode::OK);
    seen.take().unwrap()
}

fn id_of(cookie: &str) -> &str {
    cookie.split_once('.').unwrap().0
}

fn limits() -> std::sync::Arc<super::Limits> {
    std::sync::Arc::new(super::Limits {
        auth_keys: Box::new([]),
        max_size: 1 << 20,
    })
}

#[test]
fn the_handle_can_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<SessionHandle>();
}

#[test]
fn a_debug_print_shows_neither_the_id_nor_the_values() {
    let mut data = serde_json::Map::new();
    data.insert("password".into(), json!("hunter2"));
    let handle = SessionHandle::new(Some(("the-session-id".into(), data)), true, limits());
    let text = format!("{handle:?}");
    assert!(
        !text.contains("hunter2") && !text.contains("the-session-id"),
        "{text}"
    );
    assert!(text.contains("keys: 1"), "{text}");
}

#[tokio::test]
async fn an_untouched_session_sets_no_cookie_and_writes_nothing() {
    let memory = MemoryStore::new(&MemoryStoreConfig::default()).unwrap();
    let layer = Session::with_store(&config(), Store::Memory(memory.clone())).unwrap();
    let chain = chain(vec![layer.into()]);
    let untouched = call(&chain, None, |_| {}).await;
    assert!(untouched.headers.get("set-cookie").is_none());
    assert!(untouched.headers.get("vary").is_none());
    let read = call(&chain, None, |session| {
        assert_eq!(session.get("user_id"), None);
        assert!(session.is_new());
    })
    .await;
    assert!(read.headers.get("set-cookie").is_none());
    assert_eq!(read.headers["vary"], "Cookie");
    assert!(memory.is_empty());
}

#[tokio::test]
async fn a_changed_session_is_saved_and_loaded_by_the_next_request() {
    let chain = sessions(&config());
    let first = call(&chain, None, |session| {
        session.insert("cart", json!([1, 2])).unwrap();
        assert!(session.is_dirty());
    })
    .await;
    let line = first.headers["set-cookie"].to_str().unwrap();
    assert!(
        line.ends_with("; Max-Age=86400; Path=/; Secure; HttpOnly; SameSite=Lax"),
        "{line}"
    );
    let cookie = first.cookie().unwrap();
    assert_eq!(id_of(&cookie).len(), 43, "256 random bits in base64url");
    let (new, data) = load(&chain, &cookie).await;
    assert!(!new);
    assert_eq!(data["cart"], json!([1, 2]));
    // Read again without a change: nothing written, no cookie.
    let again = call(&chain, Some(&cookie), |session| {
        assert_eq!(session.get("cart"), Some(json!([1, 2])));
        session.insert("cart", json!([1, 2])).unwrap();
        assert!(!session.is_dirty(), "the same value is no change");
    })
    .await;
    assert_eq!(again.cookie(), None);
    // A change keeps the id.
    let changed = call(&chain, Some(&cookie), |session| {
        session.insert("theme", json!("dark")).unwrap();
    })
    .await;
    assert_eq!(changed.cookie().as_deref(), Some(cookie.as_str()));
}

#[tokio::test]
async fn tampered_or_malformed_cookies_are_no_session() {
    let chain = sessions(&config());
    let saved = call(&chain, None, |session| {
        session.insert("user_id", json!(7)).unwrap();
    })
    .await;
    let cookie = saved.cookie().unwrap();
    let (id, signature) = cookie.split_once('.').unwrap();
    let mut flipped = signature.to_owned().into_bytes();
    flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
    let flipped = format!("{id}.{}", String::from_utf8(flipped).unwrap());
    let other_id = format!("{}{}", &id[..42], if id.ends_with('A') { 'B' } else { 'A' });
    let moved = format!("{other_id}.{signature}");
    let other_secret = Session::new(&SessionConfig {
        secret: vec![b'x'; 32],
        ..config()
    })
    .unwrap()
    .cookie_value(id);
    for bad in [
        flipped.as_str(),
        moved.as_str(),
        id,
        other_secret.as_str(),
        "",
        ".",
        "garbage",
        "a.b.c",
        &"x".repeat(4000),
    ] {
        let (new, data) = load(&chain, bad).await;
        assert!(new, "{bad:?} must not load a session");
        assert!(data.is_empty());
    }
    // The genuine cookie still works.
    assert_eq!(load(&chain, &cookie).await.1["user_id"], json!(7));
}

#[tokio::test]
async fn a_signed_id_the_store_does_not_know_gets_a_new_id() {
    let layer = Session::new(&config()).unwrap();
    let planted = layer.cookie_value(&"A".repeat(43));
    let chain = chain(vec![layer.into()]);
    let out = call(&chain, Some(&planted), |session| {
        assert!(session.is_new());
        session.insert("theme", json!("dark")).unwrap();
    })
    .await;
    let cookie = out.cookie().unwrap();
    assert_ne!(
        id_of(&cookie),
        "A".repeat(43),
        "a client's id is never adopted"
    );
}

#[tokio::test]
async fn regenerate_moves_the_data_to_a_new_id_and_forgets_the_old_one() {
    let chain = sessions(&config());
    let first = call(&chain, None, |session| {
        session.insert("cart", json!(3)).unwrap();
    })
    .await;
    let old = first.cookie().unwrap();
    let second = call(&chain, Some(&old), SessionHandle::regenerate).await;
    let new = second.cookie().unwrap();
    assert_ne!(id_of(&new), id_of(&old));
    assert_eq!(load(&chain, &new).await.1["cart"], json!(3));
    let (fresh, data) = load(&chain, &old).await;
    assert!(fresh && data.is_empty(), "the old id no longer loads");
}

#[tokio::test]
async fn an_auth_key_change_regenerates_by_itself() {
    let chain = sessions(&config());
    let anonymous = call(&chain, None, |session| {
        session.insert("cart", json!(1)).unwrap();
    })
    .await
    .cookie()
    .unwrap();
    // Login: the id an attacker may have planted before is worth nothing after.
    let login = call(&chain, Some(&anonymous), |session| {
        session.insert("user_id", json!(42)).unwrap();
    })
    .await
    .cookie()
    .unwrap();
    assert_ne!(id_of(&login), id_of(&anonymous));
    assert!(load(&chain, &anonymous).await.1.is_empty());
    // Setting it to the same value is no change; another key keeps the id.
    let same = call(&chain, Some(&login), |session| {
        session.insert("user_id", json!(42)).unwrap();
        session.insert("page", json!(2)).unwrap();
    })
    .await
    .cookie()
    .unwrap();
    assert_eq!(id_of(&same), id_of(&login));
    // Logout by removing the key: a new id again.
    let logout = call(&chain, Some(&login), |session| {
        session.remove("user_id");
    })
    .await
    .cookie()
    .unwrap();
    assert_ne!(id_of(&logout), id_of(&login));
    let (_, data) = load(&chain, &logout).await;
    assert_eq!(data.get("user_id"), None);
    assert_eq!(data["cart"], json!(1));
}

#[tokio::test]
async fn custom_auth_keys_replace_the_defaults() {
    let chain = sessions(&SessionConfig {
        auth_keys: Some(vec!["member".into()]),
        ..config()
    });
    let first = call(&chain, None, |session| {
        session.insert("user_id", json!(1)).unwrap();
    })
    .await
    .cookie()
    .unwrap();
    let second = call(&chain, Some(&first), |session| {
        session.insert("user_id", json!(2)).unwrap();
    })
    .await
    .cookie()
    .unwrap();
    assert_eq!(id_of(&first), id_of(&second));
    let third = call(&chain, Some(&first), |session| {
        session.insert("member", json!(true)).unwrap();
    })
    .await
    .cookie()
    .unwrap();
    assert_ne!(id_of(&third), id_of(&first));
}

#[tokio::test]
async fn destroy_deletes_the_session_and_expires_the_cookie() {
    let chain = sessions(&config());
    let cookie = call(&chain, None, |session| {
        session.insert("user_id", json!(1)).unwrap();
    })
    .await
    .cookie()
    .unwrap();
    let out = call(&chain, Some(&cookie), SessionHandle::destroy).await;
    let line = out.headers["set-cookie"].to_str().unwrap();
    assert!(line.starts_with("session_id=; Max-Age=0; Path=/"), "{line}");
    assert!(
        load(&chain, &cookie).await.0,
        "the old cookie no longer loads"
    );
    // Keys set after destroy start a new session.
    let restarted = call(&chain, Some(&cookie), |session| {
        session.destroy();
        session.insert("theme", json!("light")).unwrap();
    })
    .await;
    assert!(restarted
        .cookie()
        .is_some_and(|c| id_of(&c) != id_of(&cookie)));
}

#[tokio::test]
async fn clearing_a_session_removes_it() {
    let chain = sessions(&config());
    let cookie = call(&chain, None, |session| {
        session.insert("theme", json!("dark")).unwrap();
    })
    .await
    .cookie()
    .unwrap();
    let out = call(&chain, Some(&cookie), SessionHandle::clear).await;
    assert_eq!(out.cookie().as_deref(), Some(""), "expired");
    assert!(load(&chain, &cookie).await.0);
    // A new session emptied again before the response: nothing to expire.
    let out = call(&chain, None, |session| {
        session.insert("a", json!(1)).unwrap();
        session.remove("a");
    })
    .await;
    assert!(out.headers.get("set-cookie").is_none());
}

#[tokio::test]
async fn changes_past_max_session_size_are_refused_where_they_are_made() {
    let chain = sessions(&SessionConfig {
        max_session_size: 64,
        ..config()
    });
    let out = call(&chain, None, |session| {
        session.insert("a", json!("x".repeat(20))).unwrap();
        let error = session.insert("b", json!("y".repeat(40))).unwrap_err();
        let SessionError::TooLarge { key, size, max } = &error;
        assert_eq!((key.as_str(), *size, *max), ("b", 75, 64));
        assert!(error.to_string().contains("max_session_size"), "{error}");
        assert_eq!(session.get("b"), None, "nothing changed");
        // Replacing a value frees its room first.
        session.insert("a", json!("z".repeat(50))).unwrap();
    })
    .await;
    assert!(out.cookie().is_some());
}

#[test]
fn the_tracked_size_is_the_size_of_the_json() {
    let handle = SessionHandle::new(None, false, limits());
    assert_eq!(serialized_size(&handle), 2);
    let values = [
        json!(1),
        json!("quote \" and \u{e9}"),
        json!({"nested": [1, null, true]}),
        json!(null),
        json!(-2.5),
    ];
    for (i, value) in values.iter().enumerate() {
        handle.insert(format!("key{i}\n"), value.clone()).unwrap();
        assert_eq!(
            serialized_size(&handle),
            serde_json::to_vec(&handle.data()).unwrap().len()
        );
    }
    handle.insert("key1\n", json!(12345)).unwrap();
    handle.remove("key0\n");
    assert_eq!(
        serialized_size(&handle),
        serde_json::to_vec(&handle.data()).unwrap().len()
    );
    handle.clear();
    assert_eq!(serialized_size(&handle), 2);
}

#[tokio::test(start_paused = true)]
async fn sessions_expire_max_age_after_their_last_change() {
    let chain = sessions(&SessionConfig {
        max_age: 60,
        ..config()
    });
    let cookie = call(&chain, None, |session| {
        session.insert("a", json!(1)).unwrap();
    })
    .await
    .cookie()
    .unwrap();
    tokio::time::advance(Duration::from_secs(59)).await;
    assert!(!load(&chain, &cookie).await.0);
    tokio::time::advance(Duration::from_secs(1)).await;
    assert!(load(&chain, &cookie).await.0, "expired");
}

#[tokio::test]
async fn a_failing_store_answers_503() {
    let memory = MemoryStore::new(&MemoryStoreConfig::default()).unwrap();
    let layer = Session::with_store(&config(), Store::Memory(memory.clone())).unwrap();
    let id = "B".repeat(43);
    let cookie = layer.cookie_value(&id);
    // Another layer's value of another kind under the key: the store refuses to read it.
    memory
        .update::<u32, ()>(&format!("session:{id}"), |state, _| {
            *state = Some(1);
            ((), Duration::from_secs(60))
        })
        .unwrap();
    let chain = chain(vec![layer.into()]);
    let response = chain
        .run(
            request("GET", "/", &[("cookie", &format!("session_id={cookie}"))]),
            None,
            |_| async { Response::new(ResponseBody::full(Bytes::from_static(b"handler"))) },
        )
        .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "1");
}

#[test]
fn bad_configurations_are_refused_with_advice() {
    let error = |config: SessionConfig| Session::new(&config).unwrap_err().to_string();
    let message = error(SessionConfig::default());
    assert!(message.contains("none was given"), "{message}");
    assert!(message.contains("secrets.token_urlsafe(48)"), "{message}");
    assert!(error(SessionConfig {
        secret: vec![1; 31],
        ..config()
    })
    .contains("at least 32 bytes"));
    assert!(error(SessionConfig {
        cookie_secure: false,
        cookie_same_site: SameSite::None,
        ..config()
    })
    .contains("SameSite=None requires Secure"));
    assert!(error(SessionConfig {
        cookie_name: "__Host-sid".into(),
        cookie_domain: Some("example.com".into()),
        ..config()
    })
    .contains("__Host-"));
    assert!(error(SessionConfig {
        max_age: 0,
        ..config()
    })
    .contains("max_age"));
    assert!(error(SessionConfig {
        max_sessions: 0,
        ..config()
    })
    .contains("max_sessions"));
    assert!(error(SessionConfig {
        cookie_name: "my session".into(),
        ..config()
    })
    .contains("not a cookie name"));
    let debug = format!("{:?}", config());
    assert!(
        !debug.contains("0123456789abcdef"),
        "the secret is not printed"
    );
}

#[test]
fn default_auth_keys_are_the_originals() {
    let keys = SessionConfig::default_auth_keys();
    assert_eq!(keys.len(), 13);
    assert_eq!(keys[0], "user_id");
    assert_eq!(keys[12], "roles");
}
