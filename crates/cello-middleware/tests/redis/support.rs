//! What every Redis test needs: where Redis is, a key prefix of the test's own, a
//! connection of the test's own to look at and delete its keys, and a port nothing
//! listens on.

use std::net::TcpListener;

use cello_middleware::{Chain, Layer, RedisStoreConfig};
use redis::Commands;

pub fn url() -> String {
    std::env::var("CELLO_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into())
}

/// A prefix no other test, run or program uses.
pub fn prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("cello-test:{test}:{}:{nanos:x}:", std::process::id())
}

/// The Redis at [`url`], every key under `prefix`.
pub fn redis_config(prefix: &str) -> RedisStoreConfig {
    RedisStoreConfig {
        url: url(),
        key_prefix: prefix.into(),
        ..RedisStoreConfig::default()
    }
}

/// A plain connection of the test's own, to look at and clean up the keys.
pub fn inspect() -> redis::Connection {
    redis::Client::open(url())
        .unwrap()
        .get_connection()
        .expect("Redis must run on 127.0.0.1:6379 (or at CELLO_TEST_REDIS_URL)")
}

/// The keys that start with `prefix`.
pub fn keys(prefix: &str) -> Vec<String> {
    inspect().keys(format!("{prefix}*")).unwrap()
}

pub fn clean(prefix: &str) {
    let keys = keys(prefix);
    if !keys.is_empty() {
        let _: () = inspect().del(keys).unwrap();
    }
}

/// A chain of this one layer (a chain of one layer is never empty, so never `None`).
pub fn chain_of(layer: impl Into<Layer>) -> Chain {
    Chain::new(vec![layer.into()]).unwrap().unwrap()
}

/// A port nothing listens on: bound, then let go.
pub fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
