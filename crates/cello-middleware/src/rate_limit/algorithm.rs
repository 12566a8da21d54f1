//! The algorithms: one decision per request, made atomically by the store. Here in Rust
//! for the memory store; `scripts.rs` has the same decisions in Lua for Redis.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use super::config::MAX_WINDOW_SECS;
use crate::error::StoreError;
use crate::store::Store;

/// A validated limit, what a store decides over. The adaptive algorithm is a token
/// bucket whose capacity the layer lowers and raises.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Limit {
    TokenBucket { capacity: u64, refill_rate: f64 },
    SlidingWindow { max_requests: u64, window_secs: u64 },
}

impl Limit {
    /// The quota (`q` of `RateLimit-Policy`).
    pub(crate) fn quota(&self) -> u64 {
        match *self {
            Self::TokenBucket { capacity, .. } => capacity,
            Self::SlidingWindow { max_requests, .. } => max_requests,
        }
    }

    /// The window (`w`), in whole seconds: for a bucket, the time it takes to refill
    /// from empty.
    pub(crate) fn window_secs(&self) -> u64 {
        match *self {
            Self::TokenBucket {
                capacity,
                refill_rate,
            } => seconds(capacity as f64 / refill_rate).max(1),
            Self::SlidingWindow { window_secs, .. } => window_secs,
        }
    }

    /// Part of the key, so that a bucket and a log never meet under one key.
    pub(crate) fn tag(&self) -> &'static str {
        match self {
            Self::TokenBucket { .. } => "tb",
            Self::SlidingWindow { .. } => "sw",
        }
    }
}

/// One decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Decision {
    pub(crate) allowed: bool,
    /// Requests still allowed now (`r`).
    pub(crate) remaining: u64,
    /// Milliseconds until more quota is available: the next whole token, or the oldest
    /// counted request leaving the window; 0 when the quota is whole.
    pub(crate) reset_ms: u64,
}

/// Charges one request to `key` under `limit`.
pub(crate) async fn decide(
    store: &Store,
    key: &str,
    limit: &Limit,
) -> Result<Decision, StoreError> {
    match (store, *limit) {
        (
            Store::Memory(memory),
            Limit::TokenBucket {
                capacity,
                refill_rate,
            },
        ) => memory.update(key, |bucket, now| {
            take_token(bucket, now, capacity as f64, refill_rate)
        }),
        (
            Store::Memory(memory),
            Limit::SlidingWindow {
                max_requests,
                window_secs,
            },
        ) => memory.update(key, |log, now| {
            count_request(log, now, max_requests, Duration::from_secs(window_secs))
        }),
        #[cfg(feature = "redis")]
        (Store::Redis(redis), limit) => super::scripts::decide(redis, key, &limit).await,
    }
}

/// A token bucket as the memory store keeps it.
pub(crate) struct Bucket {
    tokens: f64,
    updated: Instant,
}

fn take_token(
    bucket: &mut Option<Bucket>,
    now: Instant,
    capacity: f64,
    refill_rate: f64,
) -> (Decision, Duration) {
    // A missing bucket is a full one: that is why it may expire once it would be full.
    let tokens = bucket.as_ref().map_or(capacity, |bucket| {
        let refilled = now.duration_since(bucket.updated).as_secs_f64() * refill_rate;
        (bucket.tokens + refilled).min(capacity)
    });
    let allowed = tokens >= 1.0;
    let tokens = if allowed { tokens - 1.0 } else { tokens };
    *bucket = Some(Bucket {
        tokens,
        updated: now,
    });
    let whole = tokens.floor();
    let reset = if tokens < capacity {
        (whole + 1.0 - tokens) / refill_rate
    } else {
        0.0
    };
    let decision = Decision {
        allowed,
        remaining: whole as u64,
        reset_ms: milliseconds(reset),
    };
    let until_full = (capacity - tokens) / refill_rate;
    let ttl = Duration::from_secs_f64(until_full.clamp(0.001, MAX_WINDOW_SECS as f64));
    (decision, ttl)
}

/// A sliding log: the times of the requests counted in the window, oldest first.
fn count_request(
    log: &mut Option<VecDeque<Instant>>,
    now: Instant,
    max_requests: u64,
    window: Duration,
) -> (Decision, Duration) {
    let log = log.get_or_insert_with(VecDeque::new);
    while log
        .front()
        .is_some_and(|&oldest| now.duration_since(oldest) >= window)
    {
        log.pop_front();
    }
    let allowed = (log.len() as u64) < max_requests;
    if allowed {
        log.push_back(now);
    }
    let reset = log.front().map_or(Duration::ZERO, |&oldest| {
        window - now.duration_since(oldest)
    });
    let decision = Decision {
        allowed,
        remaining: max_requests.saturating_sub(log.len() as u64),
        reset_ms: u64::try_from(reset.as_micros().div_ceil(1000)).unwrap_or(u64::MAX),
    };
    (decision, window)
}

/// Whole milliseconds, rounded up.
fn milliseconds(seconds: f64) -> u64 {
    round_up(seconds * 1000.0)
}

/// Whole seconds, rounded up.
pub(crate) fn seconds(seconds: f64) -> u64 {
    round_up(seconds)
}

/// Rounds up, forgiving the last bits of floating-point error: 100 / (100 / 60) is
/// 60.000000000000007 and must give 60, not 61.
fn round_up(value: f64) -> u64 {
    (value - 1e-6).ceil().max(0.0) as u64
}
