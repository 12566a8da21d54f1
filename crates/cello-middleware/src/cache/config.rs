//! The response cache's options and their checks.

use std::time::Duration;

use http::Method;

use crate::error::ConfigError;
use crate::store::StoreConfig;

/// The longest time an entry is kept, whatever `ttl` or a route's `X-Cache-TTL` says.
pub const MAX_TTL: Duration = Duration::from_secs(365 * 24 * 3600);

/// Options of the response cache; the defaults are the original's `enable_caching()`.
#[derive(Clone, Debug)]
pub struct CacheConfig {
    /// How long an answer is served from the cache, unless its route says otherwise
    /// (`@cache(ttl=...)`, which sends `X-Cache-TTL`).
    pub ttl: Duration,
    /// The methods answered from the cache: `GET`, and `HEAD` (answered from `GET`
    /// entries, so it needs `GET` too).
    pub methods: Vec<String>,
    /// Paths never cached: each one and everything under it (`/admin` covers
    /// `/admin` and `/admin/users`, not `/administrators`).
    pub exclude_paths: Vec<String>,
    /// Whether requests with `Authorization` or a session cookie use the cache. Their
    /// entries are then kept per credential (the header and the cookies' values are in
    /// the key), never shared between users.
    pub cache_authenticated: bool,
    /// The cookies that make a request authenticated (the session layer's cookie).
    pub session_cookies: Vec<String>,
    /// The most entries kept per worker; past it the least recently used go first.
    pub max_entries: usize,
    /// Answers larger than this (headers and body, in bytes) are not stored.
    pub max_entry_size: usize,
    /// The most bytes of entries kept per worker; past it the least recently used go.
    pub max_size: usize,
    /// Where entries are kept: in each worker's memory (the default; `max_entries` and
    /// `max_size` bound it, the memory store's own options are not used), or in Redis,
    /// shared by the workers (Redis's `maxmemory` bounds it; entries expire there).
    pub store: StoreConfig,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(300),
            methods: vec!["GET".into(), "HEAD".into()],
            exclude_paths: Vec::new(),
            cache_authenticated: false,
            session_cookies: vec!["session_id".into()],
            max_entries: 10_000,
            max_entry_size: 1024 * 1024,
            max_size: 64 * 1024 * 1024,
            store: StoreConfig::default(),
        }
    }
}

/// The methods the cache answers, checked.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Methods {
    pub get: bool,
    pub head: bool,
}

impl CacheConfig {
    pub(crate) fn validate(&self) -> Result<Methods, ConfigError> {
        if self.ttl.is_zero() || self.ttl > MAX_TTL {
            return Err(ConfigError::invalid(format!(
                "cache ttl must be more than 0 and at most {} seconds (one year), not {} s; \
                 to cache nothing, do not enable caching",
                MAX_TTL.as_secs(),
                self.ttl.as_secs_f64()
            )));
        }
        let mut methods = Methods {
            get: false,
            head: false,
        };
        for method in &self.methods {
            match Method::from_bytes(method.to_ascii_uppercase().as_bytes()) {
                Ok(Method::GET) => methods.get = true,
                Ok(Method::HEAD) => methods.head = true,
                _ => {
                    return Err(ConfigError::invalid(format!(
                        "cache methods: {method:?} cannot be cached; only GET and HEAD can \
                         (a cached POST, PUT or DELETE would skip its effect)"
                    )))
                }
            }
        }
        if !methods.get {
            return Err(ConfigError::invalid(
                "cache methods must include \"GET\": entries are made from GET answers \
                 (HEAD is answered from them)",
            ));
        }
        if let Some(path) = self.exclude_paths.iter().find(|p| !p.starts_with('/')) {
            return Err(ConfigError::invalid(format!(
                "cache exclude_paths: {path:?} must start with \"/\", like \"/admin\""
            )));
        }
        if let Some(name) = self
            .session_cookies
            .iter()
            .find(|name| name.is_empty() || name.bytes().any(|b| b"=;, \t".contains(&b)))
        {
            return Err(ConfigError::invalid(format!(
                "cache session_cookies: {name:?} is not a cookie name"
            )));
        }
        if self.max_entries == 0 || self.max_entry_size == 0 {
            return Err(ConfigError::invalid(
                "cache max_entries and max_entry_size must be at least 1 (they bound the \
                 memory the cache may use; the defaults are 10000 entries of 1 MiB)",
            ));
        }
        if self.max_size < self.max_entry_size {
            return Err(ConfigError::invalid(format!(
                "cache max_size ({} bytes) is smaller than max_entry_size ({} bytes): \
                 raise max_size or lower max_entry_size",
                self.max_size, self.max_entry_size
            )));
        }
        #[cfg(feature = "redis")]
        if self.cache_authenticated && matches!(self.store, StoreConfig::Redis(_)) {
            return Err(ConfigError::invalid(
                "cache_authenticated=True keeps entries per credential, and with the Redis \
                 store the credentials would become part of Redis keys that anyone who can \
                 read the Redis can read: use the memory store for per-user caching, or \
                 leave cache_authenticated off",
            ));
        }
        Ok(methods)
    }
}
