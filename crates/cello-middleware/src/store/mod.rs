//! Stores: where layers keep state that outlives one request (rate-limit buckets now;
//! sessions, cached responses and circuit-breaker counters later).
//!
//! Two backends behind one [`Store`]:
//!
//! - [`MemoryStore`]: a bounded map with expiring entries, **per worker process**. With
//!   several workers each keeps its own state, so a limit of N is N per worker.
//! - `RedisStore` (cargo feature `redis`): one Redis shared by every worker. It connects
//!   on first use, inside the worker, never in the process that forks the workers.
//!
//! The common operations ([`Store::get`], [`Store::set`], [`Store::delete`],
//! [`Store::increment`]) work on both. A layer that needs a read-modify-write decision
//! to be atomic writes it twice: as a closure over its own typed state for the memory
//! store ([`MemoryStore::update`]), and as a Lua script for Redis
//! (`RedisStore::invoke`). The rate limit does that for its algorithms.
//!
//! A store is a cheap handle (`Clone`); layers of one worker may share one. It is not
//! `Send`: each worker builds its own from a [`StoreConfig`], which is plain data.

pub mod memory;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(test)]
mod tests;

use std::time::Duration;

use bytes::Bytes;

pub use self::memory::{MemoryStore, MemoryStoreConfig};
#[cfg(feature = "redis")]
pub use self::redis::{RedisStore, RedisStoreConfig};
use crate::error::{ConfigError, StoreError};

/// Which store to build, and its options: plain data, validated at start-up and built
/// in each worker.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum StoreConfig {
    /// State kept in each worker's memory.
    Memory(MemoryStoreConfig),
    /// State kept in Redis, shared by the workers.
    #[cfg(feature = "redis")]
    Redis(RedisStoreConfig),
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self::Memory(MemoryStoreConfig::default())
    }
}

/// A store, memory or Redis.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Store {
    Memory(MemoryStore),
    #[cfg(feature = "redis")]
    Redis(RedisStore),
}

impl Store {
    /// The store `config` describes. Nothing is connected yet: a Redis store connects on
    /// its first command.
    pub fn new(config: &StoreConfig) -> Result<Self, ConfigError> {
        Ok(match config {
            StoreConfig::Memory(config) => Self::Memory(MemoryStore::new(config)?),
            #[cfg(feature = "redis")]
            StoreConfig::Redis(config) => Self::Redis(RedisStore::new(config)?),
        })
    }

    /// The bytes under `key`, if there are any and they have not expired.
    pub async fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        match self {
            Self::Memory(store) => store.get(key),
            #[cfg(feature = "redis")]
            Self::Redis(store) => store.get(key).await,
        }
    }

    /// Keeps `value` under `key` for `ttl` (rounded up to whole milliseconds).
    pub async fn set(&self, key: &str, value: Bytes, ttl: Duration) -> Result<(), StoreError> {
        match self {
            Self::Memory(store) => store.set(key, value, ttl),
            #[cfg(feature = "redis")]
            Self::Redis(store) => store.set(key, value, ttl).await,
        }
    }

    /// Removes `key`; whether it was there.
    pub async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        match self {
            Self::Memory(store) => Ok(store.delete(key)),
            #[cfg(feature = "redis")]
            Self::Redis(store) => store.delete(key).await,
        }
    }

    /// Adds `by` to the counter under `key` and returns the new value. A counter that did
    /// not exist starts at 0 and expires `ttl` after this call; later increments keep
    /// that expiry (a fixed window, as a circuit breaker counts failures).
    pub async fn increment(&self, key: &str, by: i64, ttl: Duration) -> Result<i64, StoreError> {
        match self {
            Self::Memory(store) => store.increment(key, by, ttl),
            #[cfg(feature = "redis")]
            Self::Redis(store) => store.increment(key, by, ttl).await,
        }
    }
}
