//! A response cache: `GET` answers kept for `ttl` (or the route's `@cache(ttl=...)`)
//! and served again without calling the handler; `HEAD` is answered from them.
//!
//! - **Key**: the host, path and query, and the request headers the answer's `Vary`
//!   names (`key.rs`). The compression layer sits inside this one, so an entry is
//!   stored as it was encoded and keyed by `Accept-Encoding` through its `Vary`.
//! - **Never stored**: answers other than 200 (a 404 or a redirect would be one entry
//!   per path a scanner tries, and a 404 can turn into a 200 a moment later); streamed
//!   bodies; answers with `Set-Cookie`, with `Cache-Control: no-store`, `private` or
//!   `no-cache`, or with `Vary: *`; answers larger than `max_entry_size`.
//! - **Not used** by requests with `Authorization` or a session cookie, unless
//!   `cache_authenticated`, and then per credential; nor by excluded paths or requests
//!   with `Cache-Control: no-store`. `Cache-Control: no-cache` (or `max-age=0`, or
//!   `Pragma: no-cache`) skips the lookup and stores the fresh answer.
//! - Answers get `X-Cache: HIT` (with `Age`) or `X-Cache: MISS`; an `If-None-Match`
//!   naming a cached `ETag` gets 304. The route headers `X-Cache-TTL` and
//!   `X-Cache-Tags` are read and removed.
//! - **Where**: by default **per worker process**, in memory, bounded in entries and
//!   bytes (least recently used forgotten first), and [`Cache::invalidate`] reaches the
//!   worker it runs in only. With the Redis store (feature `redis`) the entries are
//!   shared by every worker, and an invalidation from any of them drops them for all;
//!   `cache_authenticated` is refused there, since per-user entries would put users'
//!   credentials into keys that whoever reads the Redis can read.

mod backend;
#[cfg(feature = "redis")]
mod codec;
mod config;
mod entry;
mod key;
mod memory;
#[cfg(feature = "redis")]
mod redis;
mod rules;

use cello_http::{Request, Response};
use http::Method;

use crate::chain::Exchange;
use crate::clock::Clock;
use crate::error::{ConfigError, StoreError};
use crate::store::StoreConfig;
use backend::{Backend, CacheBackend};
use config::Methods;
pub use config::{CacheConfig, MAX_TTL};
use entry::{CachedResponse, MISS, X_CACHE};
use memory::MemoryCache;
use rules::{X_CACHE_TAGS, X_CACHE_TTL};

/// What `before` decided, for `after`.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// Answered from the cache.
    Hit,
    /// Not in the cache (or not looked up): the answer to a GET may be stored under
    /// `base`, with the request's headers for its `Vary`.
    Miss {
        base: Box<[u8]>,
        request: Option<http::HeaderMap>,
    },
}

/// The response-cache layer.
pub struct Cache {
    backend: Backend,
    ttl: std::time::Duration,
    methods: Methods,
    exclude_paths: Box<[Box<str>]>,
    cache_authenticated: bool,
    session_cookies: Box<[Box<str>]>,
    max_entry_size: usize,
    clock: Clock,
}

impl Cache {
    /// Validates `config`.
    pub fn new(config: &CacheConfig) -> Result<Self, ConfigError> {
        let methods = config.validate()?;
        let boxed = |list: &[String]| list.iter().map(|s| s.as_str().into()).collect();
        let backend = match &config.store {
            StoreConfig::Memory(_) => {
                Backend::Memory(MemoryCache::new(config.max_entries, config.max_size))
            }
            #[cfg(feature = "redis")]
            StoreConfig::Redis(redis) => Backend::Redis(redis::RedisCache::new(
                crate::store::RedisStore::new(redis)?,
            )),
        };
        Ok(Self {
            backend,
            ttl: config.ttl,
            methods,
            exclude_paths: boxed(&config.exclude_paths),
            cache_authenticated: config.cache_authenticated,
            session_cookies: boxed(&config.session_cookies),
            max_entry_size: config.max_entry_size,
            clock: Clock::default(),
        })
    }

    #[cfg(test)]
    pub(crate) fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Drops the entries tagged with any of `tags` (`@cache(tags=[...])`); how many
    /// were dropped. In memory: this worker's entries only. In Redis: every worker's.
    pub async fn invalidate(&self, tags: &[&str]) -> Result<usize, StoreError> {
        self.backend.invalidate(tags).await
    }

    /// Drops every entry (this worker's in memory; every worker's in Redis).
    pub async fn clear(&self) -> Result<(), StoreError> {
        self.backend.clear().await
    }

    /// Whether the entries are shared by the workers (Redis) rather than kept by each.
    pub fn is_shared(&self) -> bool {
        !matches!(self.backend, Backend::Memory(_))
    }

    #[cfg(test)]
    pub(crate) fn memory(&self) -> &MemoryCache {
        match &self.backend {
            Backend::Memory(memory) => memory,
            #[cfg(feature = "redis")]
            Backend::Redis(_) => panic!("not a memory cache"),
        }
    }

    pub(crate) async fn before(
        &self,
        request: &mut Request,
        exchange: &mut Exchange,
    ) -> Option<Response> {
        let head = match *request.method() {
            Method::GET if self.methods.get => false,
            Method::HEAD if self.methods.head => true,
            _ => return None,
        };
        if rules::excluded(request.uri().path(), &self.exclude_paths) {
            return None;
        }
        let directives = rules::request_directives(request.headers());
        if directives.no_store {
            return None;
        }
        let credentials = rules::credentials(request.headers(), &self.session_cookies);
        if credentials.is_some() && !self.cache_authenticated {
            return None;
        }
        let base = key::base(request, credentials.as_deref());
        if !directives.no_cache {
            let found = self.backend.lookup(&base, request.headers(), &self.clock);
            if let Some(entry) = found.await {
                exchange.cache = Some(Lookup::Hit);
                return Some(entry.answer(request.headers(), head, self.clock.now()));
            }
        }
        exchange.cache = Some(Lookup::Miss {
            base,
            // Only a GET's answer is stored; a HEAD's has no body to keep.
            request: (!head).then(|| request.headers().clone()),
        });
        None
    }

    pub(crate) async fn after(&self, exchange: &mut Exchange, response: &mut Response) {
        let headers = response.headers_mut();
        let route_ttl = headers.remove(X_CACHE_TTL);
        let route_tags: Vec<_> = match headers.entry(X_CACHE_TAGS) {
            http::header::Entry::Occupied(entry) => entry.remove_entry_mult().1.collect(),
            http::header::Entry::Vacant(_) => Vec::new(),
        };
        let Some(Lookup::Miss { base, request }) = exchange.cache.take() else {
            return; // a hit, or a request the cache is not for
        };
        if let Some(request) = request {
            self.store(base, &request, response, route_ttl.as_ref(), &route_tags)
                .await;
        }
        response.headers_mut().insert(X_CACHE, MISS);
    }

    async fn store(
        &self,
        base: Box<[u8]>,
        request: &http::HeaderMap,
        response: &Response,
        route_ttl: Option<&http::HeaderValue>,
        route_tags: &[http::HeaderValue],
    ) {
        let Ok(vary) = rules::check_storable(response, self.max_entry_size) else {
            return;
        };
        let Ok(ttl) = rules::ttl(route_ttl.map(http::HeaderValue::as_bytes), self.ttl) else {
            return;
        };
        let body = match response.body() {
            cello_http::ResponseBody::Full(Some(body)) => body.clone(),
            _ => bytes::Bytes::new(),
        };
        let tags = rules::tags(route_tags.iter().map(http::HeaderValue::as_bytes));
        let entry = CachedResponse::new(
            response.status(),
            response.headers(),
            body,
            (self.clock.now(), self.clock.since_epoch()),
            ttl,
            tags,
        );
        self.backend.store(base, vary, request, entry).await;
    }
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("ttl", &self.ttl)
            .field("shared", &self.is_shared())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
