//! What the cache needs from the place it keeps entries, and the two places.
//!
//! A backend that fails answers a lookup with "not there" (the handler runs) and drops
//! a write: a cache that is down must not turn into errors. Only an invalidation
//! reports a failure, since its caller must know that stale entries may remain.
//!
//! - [`MemoryCache`]: per worker, an LRU bounded in entries and bytes.
//! - [`RedisCache`](super::redis::RedisCache) (feature `redis`): shared by the workers,
//!   on the Redis store; see that module for its keys.

use std::rc::Rc;

use http::{HeaderMap, HeaderName};

use super::entry::CachedResponse;
use super::memory::MemoryCache;
#[cfg(feature = "redis")]
use super::redis::RedisCache;
use crate::clock::Clock;
use crate::error::StoreError;

pub(crate) trait CacheBackend {
    /// The fresh entry stored under `base` for a request with `request` headers (the
    /// entry's `Vary` names pick the headers that matter), if there is one.
    async fn lookup(
        &self,
        base: &[u8],
        request: &HeaderMap,
        clock: &Clock,
    ) -> Option<Rc<CachedResponse>>;

    /// Stores `entry` under `base`, for requests whose headers named in `vary`
    /// (lower-case, sorted) have the values that `request` has.
    async fn store(
        &self,
        base: Box<[u8]>,
        vary: Vec<HeaderName>,
        request: &HeaderMap,
        entry: CachedResponse,
    );

    /// Drops every entry tagged with one of `tags`; how many were dropped.
    async fn invalidate(&self, tags: &[&str]) -> Result<usize, StoreError>;

    /// Drops every entry.
    async fn clear(&self) -> Result<(), StoreError>;
}

/// The backend a cache was configured with.
pub(crate) enum Backend {
    Memory(MemoryCache),
    #[cfg(feature = "redis")]
    Redis(RedisCache),
}

impl CacheBackend for Backend {
    async fn lookup(
        &self,
        base: &[u8],
        request: &HeaderMap,
        clock: &Clock,
    ) -> Option<Rc<CachedResponse>> {
        match self {
            Self::Memory(memory) => memory.lookup(base, request, clock).await,
            #[cfg(feature = "redis")]
            Self::Redis(redis) => redis.lookup(base, request, clock).await,
        }
    }

    async fn store(
        &self,
        base: Box<[u8]>,
        vary: Vec<HeaderName>,
        request: &HeaderMap,
        entry: CachedResponse,
    ) {
        match self {
            Self::Memory(memory) => memory.store(base, vary, request, entry).await,
            #[cfg(feature = "redis")]
            Self::Redis(redis) => redis.store(base, vary, request, entry).await,
        }
    }

    async fn invalidate(&self, tags: &[&str]) -> Result<usize, StoreError> {
        match self {
            Self::Memory(memory) => memory.invalidate(tags).await,
            #[cfg(feature = "redis")]
            Self::Redis(redis) => redis.invalidate(tags).await,
        }
    }

    async fn clear(&self) -> Result<(), StoreError> {
        match self {
            Self::Memory(memory) => memory.clear().await,
            #[cfg(feature = "redis")]
            Self::Redis(redis) => redis.clear().await,
        }
    }
}
