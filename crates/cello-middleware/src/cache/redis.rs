//! The Redis cache backend: entries shared by every worker, on the Redis store (its
//! prefix, its connection, its handling of outages).
//!
//! Keys, under the store's prefix:
//!
//! - `cache:v:<base>` → the `Vary` names of the URL's answers, comma-separated: the first
//!   GET of a lookup, which tells it the request headers that pick the entry. It lives as
//!   long as the URL's longest-lived entry.
//! - `cache:e:<base> <variant>` → the entry ([`codec`](super::codec)), with its TTL.
//! - `cache:t:<tag>` → the set of the keys of the entries with that tag, living as long as
//!   its longest-lived entry. An invalidation deletes the members and the set in one
//!   script, whichever worker runs it, so it reaches the entries of every worker.
//!
//! Bytes of keys outside printable ASCII, and `%` and space, are written `%XX`. A store
//! is one script (the names, the entry and its tags together), so an invalidation never
//! meets an entry that is stored but not yet in its tag's set.

use std::fmt::Write as _;
use std::rc::Rc;
use std::sync::LazyLock;

use http::{HeaderMap, HeaderName};
use redis::Script;

use super::backend::CacheBackend;
use super::codec;
use super::entry::CachedResponse;
use super::key::variant;
use crate::clock::Clock;
use crate::error::StoreError;
use crate::store::RedisStore;

static STORE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
-- KEYS[1]: the URL's Vary names, KEYS[2]: the entry, KEYS[3..]: its tags' sets.
-- ARGV[1]: the names, ARGV[2]: the entry, ARGV[3]: its TTL in milliseconds.
local ttl = tonumber(ARGV[3])
local names_ttl = ttl
if redis.call('GET', KEYS[1]) == ARGV[1] then
  names_ttl = math.max(ttl, redis.call('PTTL', KEYS[1]))
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', names_ttl)
redis.call('SET', KEYS[2], ARGV[2], 'PX', ttl)
for i = 3, #KEYS do
  redis.call('SADD', KEYS[i], KEYS[2])
  if redis.call('PTTL', KEYS[i]) < ttl then
    redis.call('PEXPIRE', KEYS[i], ttl)
  end
end
return 1
",
    )
});

static INVALIDATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
-- KEYS: tags' sets. Deletes their entries and them; returns how many entries went.
local dropped = 0
for i = 1, #KEYS do
  local members = redis.call('SMEMBERS', KEYS[i])
  for first = 1, #members, 500 do
    local last = math.min(first + 499, #members)
    dropped = dropped + redis.call('DEL', unpack(members, first, last))
  end
  redis.call('DEL', KEYS[i])
end
return dropped
",
    )
});

static CLEAR: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
-- ARGV[1]: the pattern of the cache's keys.
local cursor = '0'
local dropped = 0
repeat
  local reply = redis.call('SCAN', cursor, 'MATCH', ARGV[1], 'COUNT', 1000)
  cursor = reply[1]
  for _, key in ipairs(reply[2]) do
    dropped = dropped + redis.call('DEL', key)
  end
until cursor == '0'
return dropped
",
    )
});

pub(crate) struct RedisCache {
    store: RedisStore,
}

impl RedisCache {
    pub(crate) fn new(store: RedisStore) -> Self {
        Self { store }
    }
}

impl CacheBackend for RedisCache {
    async fn lookup(
        &self,
        base: &[u8],
        request: &HeaderMap,
        clock: &Clock,
    ) -> Option<Rc<CachedResponse>> {
        let base = escape(base);
        // A failing Redis is a miss; the store reports the outage once.
        let names = self.store.get(&names_key(&base)).await.ok()??;
        let names = std::str::from_utf8(&names)
            .ok()?
            .split(',')
            .filter(|name| !name.is_empty())
            .map(|name| HeaderName::from_bytes(name.as_bytes()).ok())
            .collect::<Option<Vec<_>>>()?;
        let key = entry_key(&base, &variant(&names, request));
        let bytes = self.store.get(&key).await.ok()??;
        codec::decode(&bytes, clock.now(), clock.since_epoch()).map(Rc::new)
    }

    async fn store(
        &self,
        base: Box<[u8]>,
        vary: Vec<HeaderName>,
        request: &HeaderMap,
        entry: CachedResponse,
    ) {
        let base = escape(&base);
        let names_key = names_key(&base);
        let entry_key = entry_key(&base, &variant(&vary, request));
        let tag_keys: Vec<String> = entry.tags.iter().map(|tag| tag_key(tag)).collect();
        let mut keys = vec![names_key.as_str(), entry_key.as_str()];
        keys.extend(tag_keys.iter().map(String::as_str));
        let names: Vec<&str> = vary.iter().map(HeaderName::as_str).collect();
        let args = [
            names.join(",").into_bytes(),
            codec::encode(&entry),
            ttl_millis(entry.ttl()).to_string().into_bytes(),
        ];
        // Not stored: the next request computes the answer again.
        let _: Result<i64, StoreError> = self.store.invoke(&STORE, &keys, &args).await;
    }

    async fn invalidate(&self, tags: &[&str]) -> Result<usize, StoreError> {
        if tags.is_empty() {
            return Ok(0);
        }
        let keys: Vec<String> = tags.iter().map(|tag| tag_key(tag)).collect();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let dropped: i64 = self.store.invoke(&INVALIDATE, &keys, &[""; 0]).await?;
        Ok(usize::try_from(dropped).unwrap_or_default())
    }

    async fn clear(&self) -> Result<(), StoreError> {
        let mut pattern = String::new();
        for ch in self.store.key("").chars() {
            if matches!(ch, '*' | '?' | '[' | ']' | '\\') {
                pattern.push('\\');
            }
            pattern.push(ch);
        }
        pattern.push_str("cache:*");
        let _: i64 = self.store.invoke(&CLEAR, &[], &[pattern]).await?;
        Ok(())
    }
}

/// A TTL in whole milliseconds, at least 1 (Redis refuses `PX 0`).
fn ttl_millis(ttl: std::time::Duration) -> u64 {
    u64::try_from(ttl.as_nanos().div_ceil(1_000_000))
        .unwrap_or(u64::MAX)
        .max(1)
}

fn names_key(base: &str) -> String {
    format!("cache:v:{base}")
}

fn entry_key(base: &str, variant: &[u8]) -> String {
    format!("cache:e:{base} {}", escape(variant))
}

fn tag_key(tag: &str) -> String {
    format!("cache:t:{}", escape(tag.as_bytes()))
}

/// `bytes` as key text: printable ASCII as it is, other bytes, `%` and space as `%XX`.
fn escape(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len());
    for &byte in bytes {
        if byte.is_ascii_graphic() && byte != b'%' {
            text.push(char::from(byte));
        } else {
            let _ = write!(text, "%{byte:02X}");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_printable_and_unambiguous() {
        assert_eq!(
            escape(b"GET example.com /a?b=%20"),
            "GET%20example.com%20/a?b=%2520"
        );
        assert_eq!(
            entry_key("GET%20h%20/", b"\x01gzip\n\x00\n"),
            "cache:e:GET%20h%20/ %01gzip%0A%00%0A"
        );
        assert_eq!(tag_key("user 7"), "cache:t:user%207");
    }
}
