//! What the cache needs from the place it keeps entries.
//!
//! Reads may wait (the layer's `before` is async); writes may not: they happen in the
//! layer's `after`, which is synchronous, so a networked backend (Redis) sends them
//! from a task of its own and the client does not wait for them. A backend that fails
//! answers a lookup with "not there" (the handler runs) and drops a write: a cache
//! that is down must not turn into errors.
//!
//! The in-memory backend is [`MemoryCache`](super::memory::MemoryCache), per worker.
//! A Redis backend keeps, under a key prefix: `vary:<base>` → the `Vary` names (so a
//! lookup knows which request headers pick the variant), `entry:<base><variant>` →
//! the serialized answer with the entry's TTL, and `tag:<t>` → the set of entry keys,
//! so that an invalidation from any worker deletes the entries of all of them.

use std::rc::Rc;

use http::{HeaderMap, HeaderName};
use std::time::Instant;

use super::entry::CachedResponse;

pub(crate) trait CacheBackend {
    /// The fresh entry stored under `base` for a request with `request` headers (the
    /// entry's `Vary` names pick the headers that matter), if there is one.
    async fn lookup(
        &self,
        base: &[u8],
        request: &HeaderMap,
        now: Instant,
    ) -> Option<Rc<CachedResponse>>;

    /// Stores `entry` under `base`, for requests whose headers named in `vary`
    /// (lower-case, sorted) have the values that `request` has.
    fn store(
        &self,
        base: Box<[u8]>,
        vary: Vec<HeaderName>,
        request: &HeaderMap,
        entry: CachedResponse,
    );

    /// Drops every entry tagged with one of `tags`; how many were dropped.
    fn invalidate(&self, tags: &[&str]) -> usize;

    /// Drops every entry.
    fn clear(&self);

    /// How many entries are kept (expired ones not yet dropped included).
    fn len(&self) -> usize;
}
