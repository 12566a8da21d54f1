//! The decisions of `algorithm.rs` for Redis: one Lua script per decision, so that the
//! read, the arithmetic and the write happen with no other client in between, on the
//! server's clock. `redis::Script` sends `EVALSHA` and loads the script on `NOSCRIPT`
//! (a restarted or flushed server), so the source crosses the network once per server.

use std::sync::LazyLock;

use redis::Script;

use super::algorithm::{Decision, Limit};
use super::config::MAX_WINDOW_SECS;
use crate::error::StoreError;
use crate::store::RedisStore;

static TOKEN_BUCKET: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("token_bucket.lua")));
static SLIDING_WINDOW: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("sliding_window.lua")));

/// Charges one request to `key` under `limit`, in Redis.
pub(crate) async fn decide(
    store: &RedisStore,
    key: &str,
    limit: &Limit,
) -> Result<Decision, StoreError> {
    let (script, args) = match *limit {
        Limit::TokenBucket {
            capacity,
            refill_rate,
        } => (
            &*TOKEN_BUCKET,
            [
                capacity.to_string(),
                // Display never writes an exponent, which Lua's tonumber would read too.
                refill_rate.to_string(),
                (MAX_WINDOW_SECS * 1000).to_string(),
            ],
        ),
        Limit::SlidingWindow {
            max_requests,
            window_secs,
        } => (
            &*SLIDING_WINDOW,
            [
                max_requests.to_string(),
                (window_secs * 1_000_000).to_string(),
                // Two requests in the same microsecond must be two members.
                format!("{:016x}", fastrand::u64(..)),
            ],
        ),
    };
    let reply: Vec<i64> = store.invoke(script, &[key], &args).await?;
    match *reply.as_slice() {
        [allowed @ (0 | 1), remaining, reset_ms] if remaining >= 0 && reset_ms >= 0 => {
            Ok(Decision {
                allowed: allowed == 1,
                remaining: remaining.unsigned_abs(),
                reset_ms: reset_ms.unsigned_abs(),
            })
        }
        _ => Err(StoreError::Reply {
            store: format!("redis at {}", store.address()),
            what: "a rate-limit script",
            reply: format!("{reply:?}"),
        }),
    }
}
