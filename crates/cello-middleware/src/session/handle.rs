//! The session of one request, as the handler sees it: a JSON object behind a lock, with
//! what the layer's `after` step needs to know (changed? new id? destroyed?).

use std::fmt;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::{Map, Value};

/// What every session of a layer shares: the keys whose change means a new identity, and
/// the size limit.
#[derive(Debug)]
pub(crate) struct Limits {
    pub auth_keys: Box<[Box<str>]>,
    pub max_size: usize,
}

/// A change the session refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The data would no longer fit in `max_session_size`.
    #[error(
        "the session would hold {size} bytes of JSON with {key:?}, over max_session_size \
         ({max} bytes): keep large data in a database and only its id in the session, or \
         raise max_session_size"
    )]
    TooLarge {
        key: String,
        size: usize,
        max: usize,
    },
}

/// The session of the request being handled, in the request's extensions.
///
/// A cheap handle (`Clone`, `Send + Sync`): clones share one session. Changes are saved
/// by the session layer once the response is made, and only when there were changes.
#[derive(Clone)]
pub struct SessionHandle(Arc<Mutex<SessionState>>);

struct SessionState {
    data: Map<String, Value>,
    /// The sum, over the entries, of the JSON length of `"key":value`.
    entries_size: usize,
    /// The id the data was loaded under; `None` for a new session.
    stored_id: Option<Box<str>>,
    /// Whether the request carried a session cookie at all (even a bad one).
    cookie_sent: bool,
    /// The data changed (or a new id was asked for): it must be saved.
    dirty: bool,
    /// The handler looked at the session: the response depends on the cookie.
    accessed: bool,
    /// Save under a new id and delete the old one.
    regenerate: bool,
    limits: Arc<Limits>,
}

/// What the layer does with a session once the response is made.
#[derive(Debug, PartialEq)]
pub(crate) enum Save {
    /// Unchanged: nothing to write, no cookie.
    Nothing,
    /// Emptied or destroyed: delete `delete` from the store, and expire the cookie if
    /// the browser has one.
    Remove {
        delete: Option<Box<str>>,
        expire_cookie: bool,
    },
    /// Write `data` under `id` (a new id when `id` is `None`), then delete `delete` (the
    /// id given up by a regeneration).
    Write {
        id: Option<Box<str>>,
        delete: Option<Box<str>>,
        data: Vec<u8>,
    },
}

impl SessionHandle {
    /// A session loaded from the store under `stored_id` (`None`: a new, empty one).
    pub(crate) fn new(
        loaded: Option<(Box<str>, Map<String, Value>)>,
        cookie_sent: bool,
        limits: Arc<Limits>,
    ) -> Self {
        let (stored_id, data) = match loaded {
            Some((id, data)) => (Some(id), data),
            None => (None, Map::new()),
        };
        let entries_size = data.iter().map(|(k, v)| entry_size(k, v)).sum();
        Self(Arc::new(Mutex::new(SessionState {
            data,
            entries_size,
            stored_id,
            cookie_sent,
            dirty: false,
            accessed: false,
            regenerate: false,
            limits,
        })))
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<Value> {
        let mut state = self.lock();
        state.accessed = true;
        state.data.get(key).cloned()
    }

    /// Puts `value` under `key`, returning what was there. Refused, with nothing
    /// changed, when the session would grow past `max_session_size`. Setting one of the
    /// auth keys to a new value gives the session a new id when it is saved.
    pub fn insert(
        &self,
        key: impl Into<String>,
        value: Value,
    ) -> Result<Option<Value>, SessionError> {
        let key = key.into();
        let mut state = self.lock();
        state.accessed = true;
        let old_entry = state
            .data
            .get(&key)
            .map(|old| (old == &value, entry_size(&key, old)));
        if let Some((true, _)) = old_entry {
            return Ok(Some(value));
        }
        let new_entry = entry_size(&key, &value);
        let count = state.data.len() + usize::from(old_entry.is_none());
        let entries = state.entries_size - old_entry.map_or(0, |(_, size)| size) + new_entry;
        let size = total_size(entries, count);
        if size > state.limits.max_size {
            return Err(SessionError::TooLarge {
                key,
                size,
                max: state.limits.max_size,
            });
        }
        if state.is_auth_key(&key) {
            state.regenerate = true;
        }
        state.entries_size = entries;
        state.dirty = true;
        Ok(state.data.insert(key, value))
    }

    /// Removes `key`, returning its value. Removing an auth key gives the session a new
    /// id when it is saved.
    pub fn remove(&self, key: &str) -> Option<Value> {
        let mut state = self.lock();
        state.accessed = true;
        let value = state.data.remove(key)?;
        state.entries_size -= entry_size(key, &value);
        state.dirty = true;
        if state.is_auth_key(key) {
            state.regenerate = true;
        }
        Some(value)
    }

    /// Removes every key (a new id follows if one of them was an auth key).
    pub fn clear(&self) {
        let mut state = self.lock();
        state.accessed = true;
        if state.data.is_empty() {
            return;
        }
        if state.data.keys().any(|key| state.is_auth_key(key)) {
            state.regenerate = true;
        }
        state.data.clear();
        state.entries_size = 0;
        state.dirty = true;
    }

    /// The keys, in order.
    pub fn keys(&self) -> Vec<String> {
        let mut state = self.lock();
        state.accessed = true;
        state.data.keys().cloned().collect()
    }

    /// A copy of the whole session.
    pub fn data(&self) -> Map<String, Value> {
        let mut state = self.lock();
        state.accessed = true;
        state.data.clone()
    }

    /// Whether `key` is set.
    pub fn contains(&self, key: &str) -> bool {
        let mut state = self.lock();
        state.accessed = true;
        state.data.contains_key(key)
    }

    /// How many keys are set.
    pub fn len(&self) -> usize {
        let mut state = self.lock();
        state.accessed = true;
        state.data.len()
    }

    /// Whether no key is set.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps the data under a new id and deletes the old one, when the session is saved:
    /// call it when the user's privileges change (the auth keys do it by themselves), so
    /// that an id planted or seen before is worth nothing after.
    pub fn regenerate(&self) {
        let mut state = self.lock();
        state.regenerate = true;
        state.dirty = true;
    }

    /// Ends the session: its data is dropped, it is deleted from the store and the
    /// browser's cookie expires. Keys set afterwards start a new session, with a new id.
    pub fn destroy(&self) {
        let mut state = self.lock();
        state.accessed = true;
        state.data.clear();
        state.entries_size = 0;
        state.regenerate = true;
        state.dirty = true;
    }

    /// Whether there are changes to save.
    pub fn is_dirty(&self) -> bool {
        self.lock().dirty
    }

    /// Whether the session was not loaded from the store (no cookie, or one whose
    /// session has expired or was never ours).
    pub fn is_new(&self) -> bool {
        self.lock().stored_id.is_none()
    }

    /// Whether the handler looked at or changed the session.
    pub(crate) fn was_accessed(&self) -> bool {
        self.lock().accessed
    }

    /// What to save, decided once the response is made. The handle is left as it was:
    /// the layer calls this once per request.
    pub(crate) fn plan(&self) -> Save {
        let state = self.lock();
        if !state.dirty {
            return Save::Nothing;
        }
        if state.data.is_empty() {
            return Save::Remove {
                delete: state.stored_id.clone(),
                expire_cookie: state.cookie_sent || state.stored_id.is_some(),
            };
        }
        let data = serde_json::to_vec(&state.data).expect("a JSON map always serializes");
        if state.regenerate {
            Save::Write {
                id: None,
                delete: state.stored_id.clone(),
                data,
            }
        } else {
            Save::Write {
                id: state.stored_id.clone(),
                delete: None,
                data,
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, SessionState> {
        // A panic while holding the lock leaves the map whole (every change above is
        // one call on it), so the state is still good to use.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Neither the id nor the values: a debug print of a request must not leak a session.
impl fmt::Debug for SessionHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("SessionHandle")
            .field("keys", &state.data.len())
            .field("new", &state.stored_id.is_none())
            .field("dirty", &state.dirty)
            .finish_non_exhaustive()
    }
}

impl SessionState {
    fn is_auth_key(&self, key: &str) -> bool {
        self.limits.auth_keys.iter().any(|auth| &**auth == key)
    }
}

/// The length of `{"a":1,"b":2}` from the entries' lengths and their count.
fn total_size(entries_size: usize, count: usize) -> usize {
    2 + entries_size + count.saturating_sub(1)
}

/// The JSON length of `"key":value`.
fn entry_size(key: &str, value: &Value) -> usize {
    json_len(|count| serde_json::to_writer(count, key))
        + 1
        + json_len(|count| serde_json::to_writer(count, value))
}

/// How many bytes `write` writes.
fn json_len(write: impl FnOnce(&mut Count) -> serde_json::Result<()>) -> usize {
    let mut count = Count(0);
    write(&mut count).expect("JSON strings and values always serialize");
    count.0
}

struct Count(usize);

impl io::Write for Count {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0 += bytes.len();
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The size the session's data would have in the store, for tests.
#[cfg(test)]
pub(crate) fn serialized_size(handle: &SessionHandle) -> usize {
    let state = handle.lock();
    total_size(state.entries_size, state.data.len())
}
