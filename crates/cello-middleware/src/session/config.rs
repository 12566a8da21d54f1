//! The options of the session layer.

use std::fmt;

use crate::cookie::SameSite;
use crate::store::StoreConfig;

/// The longest `max_age`: 400 days, the most browsers keep a cookie (RFC 6265bis).
pub const MAX_AGE_LIMIT: u64 = 400 * 24 * 3600;

/// Options of the session layer; the defaults are the original framework's, plus a
/// `secret`, which has none and must be given.
#[derive(Clone)]
pub struct SessionConfig {
    /// The cookie that carries the session id.
    pub cookie_name: String,
    /// The cookie's `Path`.
    pub cookie_path: String,
    /// The cookie's `Domain`; `None` (the default): this host only, no subdomains.
    pub cookie_domain: Option<String>,
    /// Whether the cookie is `Secure` (sent over HTTPS only; browsers also accept it on
    /// `http://localhost`).
    pub cookie_secure: bool,
    /// Whether the cookie is `HttpOnly` (hidden from scripts).
    pub cookie_http_only: bool,
    /// The cookie's `SameSite`.
    pub cookie_same_site: SameSite,
    /// Seconds a session lives after its last change: its TTL in the store and the
    /// cookie's `Max-Age`, both renewed each time it is saved.
    pub max_age: u64,
    /// The most sessions the memory store keeps per worker (its `max_entries`); past it
    /// some sessions are forgotten. Not used with Redis, whose own memory policy rules.
    pub max_sessions: usize,
    /// The most bytes of JSON a session may hold; a change past it is refused.
    pub max_session_size: usize,
    /// Keys whose change (login, logout, a new role) gives the session a new id; `None`
    /// (the default): [`SessionConfig::default_auth_keys`].
    pub auth_keys: Option<Vec<String>>,
    /// The key that signs the session cookies: at least 32 bytes, the same in every
    /// worker and across restarts, kept out of the source.
    pub secret: Vec<u8>,
    /// Where sessions live: each worker's memory (the default; a session is then known
    /// to the worker that made it only), or Redis, shared by every worker.
    pub store: StoreConfig,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            cookie_name: "session_id".into(),
            cookie_path: "/".into(),
            cookie_domain: None,
            cookie_secure: true,
            cookie_http_only: true,
            cookie_same_site: SameSite::Lax,
            max_age: 86_400,
            max_sessions: 100_000,
            max_session_size: 65_536,
            auth_keys: None,
            secret: Vec::new(),
            store: StoreConfig::default(),
        }
    }
}

impl SessionConfig {
    /// The keys that identify a user, the original framework's list: a change to one of
    /// them is a login, a logout or a change of privileges.
    pub fn default_auth_keys() -> Vec<String> {
        [
            "user_id",
            "userid",
            "uid",
            "user",
            "username",
            "account_id",
            "email",
            "auth",
            "authenticated",
            "is_authenticated",
            "logged_in",
            "role",
            "roles",
        ]
        .map(String::from)
        .to_vec()
    }
}

impl fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionConfig")
            .field("cookie_name", &self.cookie_name)
            .field("cookie_path", &self.cookie_path)
            .field("cookie_domain", &self.cookie_domain)
            .field("cookie_secure", &self.cookie_secure)
            .field("cookie_http_only", &self.cookie_http_only)
            .field("cookie_same_site", &self.cookie_same_site)
            .field("max_age", &self.max_age)
            .field("max_sessions", &self.max_sessions)
            .field("max_session_size", &self.max_session_size)
            .field("auth_keys", &self.auth_keys)
            .field(
                "secret",
                &format_args!("<{} bytes, redacted>", self.secret.len()),
            )
            .field("store", &self.store)
            .finish()
    }
}
