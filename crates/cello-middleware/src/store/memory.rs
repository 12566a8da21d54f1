//! The memory store: a map of expiring entries in the worker's own memory, bounded in
//! entries.
//!
//! Each worker process has its own: with four workers a limit of N lets 4 × N requests
//! through. Time is tokio's clock, so tests can pause and advance it.
//!
//! Expired entries are dropped when read and swept when the map is full. When a sweep
//! frees too little, arbitrary live entries are dropped until an eighth of the room is
//! free again: the sweep is O(n) but happens at most once per n/8 new keys, and a full
//! map forgets some keys (for a rate limit: those clients start afresh) rather than
//! growing without bound.

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use crate::error::{ConfigError, StoreError};

/// Options of the memory store.
#[derive(Clone, Debug)]
pub struct MemoryStoreConfig {
    /// The most entries kept (one per client key for a rate limit).
    pub max_entries: usize,
}

impl Default for MemoryStoreConfig {
    fn default() -> Self {
        Self {
            max_entries: 100_000,
        }
    }
}

/// A worker's in-memory store; clones share the same map.
#[derive(Clone)]
pub struct MemoryStore {
    entries: Rc<RefCell<Entries>>,
}

struct Entries {
    map: HashMap<Box<str>, Entry>,
    max_entries: usize,
}

struct Entry {
    value: Box<dyn Any>,
    expires_at: Instant,
}

/// The longest TTL honoured; longer ones are cut to it (and `Instant` cannot overflow).
const MAX_TTL: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

impl MemoryStore {
    /// An empty store.
    pub fn new(config: &MemoryStoreConfig) -> Result<Self, ConfigError> {
        if config.max_entries == 0 {
            return Err(ConfigError::invalid(
                "memory store max_entries must be at least 1 (it bounds the memory the \
                 store may use; 100000 is the default)",
            ));
        }
        Ok(Self {
            entries: Rc::new(RefCell::new(Entries {
                map: HashMap::new(),
                max_entries: config.max_entries,
            })),
        })
    }

    /// How many entries are held, expired ones not yet swept included.
    pub fn len(&self) -> usize {
        self.entries.borrow().map.len()
    }

    /// Whether the store holds no entry at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs `update` on the state of type `S` under `key` (`None` when there is none or it
    /// has expired) and keeps what it leaves for the TTL it returns; leaving `None`
    /// removes the key. Atomic: a worker runs one task at a time and nothing here awaits.
    /// The second argument of `update` is the time now, on tokio's clock.
    pub fn update<S: 'static, R>(
        &self,
        key: &str,
        update: impl FnOnce(&mut Option<S>, Instant) -> (R, Duration),
    ) -> Result<R, StoreError> {
        let now = Instant::now();
        // The entry is taken out while `update` runs, so no borrow is held across it.
        let taken = self.entries.borrow_mut().map.remove_entry(key);
        let (key, mut state) = match taken {
            Some((key, entry)) if entry.expires_at > now => match entry.value.downcast::<S>() {
                Ok(state) => (key, Some(*state)),
                Err(value) => {
                    let text = key.to_string();
                    let expires_at = entry.expires_at;
                    self.entries
                        .borrow_mut()
                        .map
                        .insert(key, Entry { value, expires_at });
                    return Err(StoreError::WrongKind { key: text });
                }
            },
            Some((key, _expired)) => (key, None),
            None => (Box::from(key), None),
        };
        let (result, ttl) = update(&mut state, now);
        if let Some(state) = state {
            self.entries
                .borrow_mut()
                .insert(key, Box::new(state), expiry(now, ttl), now);
        }
        Ok(result)
    }

    pub(crate) fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        let now = Instant::now();
        let mut entries = self.entries.borrow_mut();
        let Some(entry) = entries.map.get(key) else {
            return Ok(None);
        };
        if entry.expires_at <= now {
            entries.map.remove(key);
            return Ok(None);
        }
        match entry.value.downcast_ref::<Bytes>() {
            Some(bytes) => Ok(Some(bytes.clone())),
            None => Err(StoreError::WrongKind {
                key: key.to_owned(),
            }),
        }
    }

    pub(crate) fn set(&self, key: &str, value: Bytes, ttl: Duration) -> Result<(), StoreError> {
        let now = Instant::now();
        let mut entries = self.entries.borrow_mut();
        let key = match entries.map.remove_entry(key) {
            Some((key, _old)) => key,
            None => Box::from(key),
        };
        entries.insert(key, Box::new(value), expiry(now, ttl), now);
        Ok(())
    }

    pub(crate) fn delete(&self, key: &str) -> bool {
        let now = Instant::now();
        self.entries
            .borrow_mut()
            .map
            .remove(key)
            .is_some_and(|entry| entry.expires_at > now)
    }

    pub(crate) fn increment(&self, key: &str, by: i64, ttl: Duration) -> Result<i64, StoreError> {
        let now = Instant::now();
        let mut entries = self.entries.borrow_mut();
        if let Some(entry) = entries.map.get_mut(key) {
            if entry.expires_at > now {
                let Some(counter) = entry.value.downcast_mut::<i64>() else {
                    return Err(StoreError::WrongKind {
                        key: key.to_owned(),
                    });
                };
                *counter = counter.saturating_add(by);
                return Ok(*counter);
            }
        }
        entries.map.remove(key);
        entries.insert(Box::from(key), Box::new(by), expiry(now, ttl), now);
        Ok(by)
    }
}

impl Entries {
    /// Inserts an entry whose key is not in the map, making room first when it is full.
    fn insert(&mut self, key: Box<str>, value: Box<dyn Any>, expires_at: Instant, now: Instant) {
        if self.map.len() >= self.max_entries {
            self.make_room(now);
        }
        self.map.insert(key, Entry { value, expires_at });
    }

    fn make_room(&mut self, now: Instant) {
        self.map.retain(|_, entry| entry.expires_at > now);
        let target = self.max_entries - self.max_entries.div_ceil(8);
        let mut excess = self.map.len().saturating_sub(target);
        if excess > 0 {
            self.map.retain(|_, _| {
                let keep = excess == 0;
                excess = excess.saturating_sub(1);
                keep
            });
        }
    }
}

fn expiry(now: Instant, ttl: Duration) -> Instant {
    now + ttl.min(MAX_TTL)
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("MemoryStore");
        if let Ok(entries) = self.entries.try_borrow() {
            out.field("entries", &entries.map.len())
                .field("max_entries", &entries.max_entries);
        }
        out.finish_non_exhaustive()
    }
}
