//! Server-side sessions: the cookie holds a random id and its signature, the data (a
//! JSON object) lives in a store under `session:<id>`.
//!
//! - **The cookie** is `<id>.<signature>`: 256 random bits from the operating system, in
//!   base64url, and their HMAC-SHA256 under the secret. A cookie that is malformed,
//!   badly signed or names a session the store no longer has is no session: the request
//!   goes on with a new, empty one, never an error. Only signed ids reach the store, and
//!   an id read from the store (by whoever can read Redis) is not a cookie without the
//!   secret.
//! - **Loaded** in `before` (one store read, for requests carrying the cookie), handed
//!   to the handler as a [`SessionHandle`] in the request's extensions.
//! - **Saved** in `after`, only when it changed: written for `max_age` seconds and sent
//!   back as `Set-Cookie` with the same `Max-Age`. A session never changed sets no
//!   cookie and writes nothing; one emptied or destroyed is deleted and its cookie
//!   expired. A response that read the session gets `Vary: Cookie`.
//! - **New ids** (against session fixation): [`SessionHandle::regenerate`], and by
//!   itself whenever one of the auth keys (`user_id`, `role`, ...) is set to a new value
//!   or removed. The data moves to the new id and the old one is deleted.
//! - **Size**: a change that would take the JSON past `max_session_size` is refused
//!   where it is made ([`SessionError::TooLarge`], a `ValueError` in Python), so the
//!   handler knows at once; the response is never changed after the fact.
//! - **Store failures** (Redis down) answer 503 with `Retry-After: 1`: going on with an
//!   empty session would log users out, and a lost save would undo a login or a logout
//!   the response claims.

mod config;
mod handle;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cello_http::{problem_response, Request, Response};
use http::header::{RETRY_AFTER, SET_COOKIE};
use http::{HeaderValue, StatusCode};
use serde_json::{Map, Value};

pub use self::config::{SessionConfig, MAX_AGE_LIMIT};
use self::handle::{Limits, Save};
pub use self::handle::{SessionError, SessionHandle};
use crate::chain::Exchange;
use crate::cookie::{CookieSpec, CookieWriter};
use crate::error::ConfigError;
use crate::secret::{random_token, SigningKey};
use crate::store::{MemoryStoreConfig, Store, StoreConfig};
use crate::vary::add_vary;

/// What the signature covers besides the id.
const LABEL: &str = "cello-session";
/// Random bytes in an id: 256 bits, 43 characters of base64url.
const ID_BYTES: usize = 32;
const ID_LENGTH: usize = 43;
/// Cookies of our name tried per request; a browser sends one or two.
const MAX_CANDIDATES: usize = 4;

/// The session layer.
#[derive(Debug)]
pub struct Session {
    signer: SigningKey,
    cookie: CookieWriter,
    store: Store,
    max_age: u64,
    limits: Arc<Limits>,
}

impl Session {
    /// Validates `config` and makes its store (a Redis store connects on first use, in
    /// the worker). With the memory store, `max_sessions` is its size.
    pub fn new(config: &SessionConfig) -> Result<Self, ConfigError> {
        let store = match &config.store {
            StoreConfig::Memory(_) => {
                if config.max_sessions == 0 {
                    return Err(ConfigError::invalid(
                        "session max_sessions must be at least 1 (the most sessions each \
                         worker keeps in memory; 100000 is the default)",
                    ));
                }
                Store::new(&StoreConfig::Memory(MemoryStoreConfig {
                    max_entries: config.max_sessions,
                }))?
            }
            #[allow(unreachable_patterns)] // without the `redis` feature, memory is all
            other => Store::new(other)?,
        };
        Self::with_store(config, store)
    }

    /// As [`Session::new`], over a store the caller made (to share it with other layers);
    /// `config.store` and `max_sessions` are not used.
    pub fn with_store(config: &SessionConfig, store: Store) -> Result<Self, ConfigError> {
        let signer = SigningKey::new("session", &config.secret)?;
        let cookie = CookieWriter::new(&CookieSpec {
            what: "session",
            name: &config.cookie_name,
            path: &config.cookie_path,
            domain: config.cookie_domain.as_deref(),
            secure: config.cookie_secure,
            http_only: config.cookie_http_only,
            same_site: config.cookie_same_site,
        })?;
        if !(1..=MAX_AGE_LIMIT).contains(&config.max_age) {
            return Err(ConfigError::invalid(format!(
                "session max_age must be from 1 to {MAX_AGE_LIMIT} seconds (400 days, the \
                 most browsers keep a cookie), got {}; 86400 is a day",
                config.max_age
            )));
        }
        if config.max_session_size < 2 {
            return Err(ConfigError::invalid(format!(
                "session max_session_size must be at least 2 bytes (\"{{}}\", the empty \
                 session), got {}; 65536 is the default",
                config.max_session_size
            )));
        }
        let auth_keys = config
            .auth_keys
            .clone()
            .unwrap_or_else(SessionConfig::default_auth_keys);
        Ok(Self {
            signer,
            cookie,
            store,
            max_age: config.max_age,
            limits: Arc::new(Limits {
                auth_keys: auth_keys.into_iter().map(String::into_boxed_str).collect(),
                max_size: config.max_session_size,
            }),
        })
    }

    /// The store the sessions live in.
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) async fn before(
        &self,
        request: &mut Request,
        exchange: &mut Exchange,
    ) -> Option<Response> {
        let mut cookie_sent = false;
        let mut loaded = None;
        let candidates: Vec<&str> = self
            .cookie
            .values(request.headers())
            .take(MAX_CANDIDATES)
            .collect();
        for value in candidates {
            cookie_sent = true;
            let Some(id) = self.verify(value) else {
                continue;
            };
            match self.store.get(&store_key(id)).await {
                Ok(Some(bytes)) => {
                    // Data that is not a JSON object (another program's key?) is no session.
                    if let Ok(data) = serde_json::from_slice::<Map<String, Value>>(&bytes) {
                        loaded = Some((Box::from(id), data));
                        break;
                    }
                }
                Ok(None) => {}
                // The store has logged it (once per outage).
                Err(_) => return Some(unavailable("loaded")),
            }
        }
        let handle = SessionHandle::new(loaded, cookie_sent, self.limits.clone());
        request.extensions_mut().insert(handle.clone());
        exchange.session = Some(handle);
        None
    }

    pub(crate) async fn after(&self, exchange: &mut Exchange, response: &mut Response) {
        let Some(handle) = exchange.session.take() else {
            return;
        };
        if handle.was_accessed() {
            add_vary(response.headers_mut(), "Cookie");
        }
        let ttl = Duration::from_secs(self.max_age);
        match handle.plan() {
            Save::Nothing => {}
            Save::Remove {
                delete,
                expire_cookie,
            } => {
                if let Some(id) = delete {
                    // A session that stays in the store after a logout could still be
                    // used with a stolen cookie: the client must know it failed.
                    if self.store.delete(&store_key(&id)).await.is_err() {
                        *response = unavailable("ended");
                        return;
                    }
                }
                if expire_cookie {
                    response
                        .headers_mut()
                        .append(SET_COOKIE, self.cookie.expire());
                }
            }
            Save::Write { id, delete, data } => {
                let id = id.map_or_else(random_token::<ID_BYTES>, String::from);
                if self
                    .store
                    .set(&store_key(&id), Bytes::from(data), ttl)
                    .await
                    .is_err()
                {
                    *response = unavailable("saved");
                    return;
                }
                if let Some(old) = delete {
                    // Failing here leaves the old id holding the data from before the
                    // change (not the login), until its TTL: nothing to undo.
                    let _ = self.store.delete(&store_key(&old)).await;
                }
                let value = format!("{id}.{}", self.signer.sign(LABEL, id.as_bytes()));
                response
                    .headers_mut()
                    .append(SET_COOKIE, self.cookie.set(&value, Some(self.max_age)));
            }
        }
    }

    /// The id of a well-formed, well-signed cookie value.
    fn verify<'a>(&self, value: &'a str) -> Option<&'a str> {
        let (id, signature) = value.split_once('.')?;
        let well_formed = id.len() == ID_LENGTH
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        (well_formed && self.signer.verify(LABEL, id.as_bytes(), signature)).then_some(id)
    }

    /// The cookie value for `id`, for tests.
    #[cfg(test)]
    pub(crate) fn cookie_value(&self, id: &str) -> String {
        format!("{id}.{}", self.signer.sign(LABEL, id.as_bytes()))
    }
}

fn store_key(id: &str) -> String {
    format!("session:{id}")
}

/// 503 for a session the store could not load or save (`what`).
fn unavailable(what: &str) -> Response {
    let mut response = problem_response(
        StatusCode::SERVICE_UNAVAILABLE,
        &format!("the session could not be {what} (its store is unavailable): retry in a moment"),
    );
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    response
}
