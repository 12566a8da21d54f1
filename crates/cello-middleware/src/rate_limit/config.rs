//! The options of the rate limit, and their validation.

use super::adaptive::Adaptive;
use super::algorithm::Limit;
use crate::error::ConfigError;
use crate::store::StoreConfig;

/// Options of the rate-limit layer. [`RateLimitConfig::default`]: a token bucket of 100
/// requests refilling 100 a minute, per client IP, in each worker's memory, failing open.
#[derive(Clone, Debug)]
pub struct RateLimitConfig {
    /// How requests are counted.
    pub algorithm: RateLimitAlgorithm,
    /// Whose requests are counted together.
    pub key: RateLimitKey,
    /// Proxies whose `X-Forwarded-For` is believed: IP addresses (`10.0.0.7`, `::1`) or
    /// networks (`10.0.0.0/8`). Empty (the default): the header is ignored and the
    /// client is the socket's peer.
    pub trusted_proxies: Vec<String>,
    /// Whether a trusted proxy's `X-Real-IP` names the client (nginx's `real_ip`
    /// style). It is read only when the peer is a trusted proxy, and wins over
    /// `X-Forwarded-For`. Default: off.
    pub trust_x_real_ip: bool,
    /// Paths never counted nor limited: each one and the paths under it (`/health`
    /// covers `/health/live`). Default: `/metrics` and `/health`.
    pub exempt_paths: Vec<String>,
    /// Where the counts live: per worker in memory (the default), or in Redis, shared.
    pub store: StoreConfig,
    /// What a request gets when the store fails (Redis down): let through (the default)
    /// or refused with 503.
    pub on_store_error: OnStoreError,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            algorithm: RateLimitAlgorithm::TokenBucket {
                capacity: 100,
                refill_rate: 100.0 / 60.0,
            },
            key: RateLimitKey::ClientIp,
            trusted_proxies: Vec::new(),
            trust_x_real_ip: false,
            exempt_paths: vec!["/metrics".into(), "/health".into()],
            store: StoreConfig::default(),
            on_store_error: OnStoreError::FailOpen,
        }
    }
}

/// The counting algorithm. Counts are signed so that a negative number from Python gets
/// the message below rather than an overflow error.
#[derive(Clone, Debug, PartialEq)]
pub enum RateLimitAlgorithm {
    /// A bucket of `capacity` tokens, refilled at `refill_rate` tokens per second; each
    /// request takes one. Allows bursts of `capacity`, then `refill_rate` per second.
    TokenBucket { capacity: i64, refill_rate: f64 },
    /// At most `max_requests` in any `window_secs` seconds (a log of the requests
    /// counted; costs one entry per counted request, so keep `max_requests` modest).
    SlidingWindow { max_requests: i64, window_secs: i64 },
    /// A token bucket whose capacity halves toward `min_capacity`, once a second, while
    /// more than `error_threshold` (a share, 0.5 = half) of the recent responses are 5xx,
    /// and grows back by a tenth of the way once a second when they are not. The error
    /// rate is measured by each worker over its own responses of the last 10 seconds
    /// (at least 20 of them), even when the bucket is in Redis.
    Adaptive {
        capacity: i64,
        refill_rate: f64,
        min_capacity: i64,
        error_threshold: f64,
    },
}

/// What identifies a client.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum RateLimitKey {
    /// The client's IP address: the socket's peer, or, when the peer is a trusted proxy,
    /// the right-most address of `X-Forwarded-For` that is not a trusted proxy.
    #[default]
    ClientIp,
    /// The value of this request header (an API key); requests without it are counted
    /// by client IP.
    Header(String),
    /// The route the request matched (its path when the route is not known): one
    /// limit per endpoint, shared by all clients.
    Route,
}

/// What happens to a request when the store cannot be asked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnStoreError {
    /// Let it through, unlimited and without rate-limit headers: a Redis outage must
    /// not become an outage of the app.
    #[default]
    FailOpen,
    /// Refuse it with 503 and `Retry-After: 1`: for limits that protect something
    /// that must not be overrun.
    FailClosed,
}

/// The longest window (and bucket refill time) honoured: 30 days.
pub(crate) const MAX_WINDOW_SECS: i64 = 30 * 24 * 3600;

/// Checks `algorithm`: the limit the store decides over, and the adaptive part if any.
pub(crate) fn validate(
    algorithm: &RateLimitAlgorithm,
) -> Result<(Limit, Option<Adaptive>), ConfigError> {
    match *algorithm {
        RateLimitAlgorithm::TokenBucket {
            capacity,
            refill_rate,
        } => Ok((token_bucket(capacity, refill_rate)?, None)),
        RateLimitAlgorithm::SlidingWindow {
            max_requests,
            window_secs,
        } => {
            let max_requests = at_least_one("max_requests", max_requests, "requests per window")?;
            if !(1..=MAX_WINDOW_SECS).contains(&window_secs) {
                return Err(ConfigError::invalid(format!(
                    "rate limit window_secs must be a whole number of seconds from 1 to \
                     {MAX_WINDOW_SECS} (30 days), got {window_secs}; for 100 requests a \
                     minute use max_requests=100, window_secs=60"
                )));
            }
            Ok((
                Limit::SlidingWindow {
                    max_requests,
                    window_secs: window_secs.unsigned_abs(),
                },
                None,
            ))
        }
        RateLimitAlgorithm::Adaptive {
            capacity,
            refill_rate,
            min_capacity,
            error_threshold,
        } => {
            let limit = token_bucket(capacity, refill_rate)?;
            if min_capacity < 1 || min_capacity > capacity {
                return Err(ConfigError::invalid(format!(
                    "rate limit min_capacity must be from 1 to capacity ({capacity}), got \
                     {min_capacity}: it is the smallest burst allowed while the app fails"
                )));
            }
            if !(error_threshold > 0.0 && error_threshold <= 1.0) {
                return Err(ConfigError::invalid(format!(
                    "rate limit error_threshold must be a share of responses above 0 and at \
                     most 1 (0.5 means half of them are 5xx), got {error_threshold}"
                )));
            }
            let adaptive = Adaptive::new(
                capacity.unsigned_abs(),
                min_capacity.unsigned_abs(),
                error_threshold,
            );
            Ok((limit, Some(adaptive)))
        }
    }
}

fn token_bucket(capacity: i64, refill_rate: f64) -> Result<Limit, ConfigError> {
    let capacity = at_least_one("capacity", capacity, "requests in a burst")?;
    // NaN fails the comparison too.
    if !(refill_rate > 0.0 && refill_rate.is_finite()) {
        return Err(ConfigError::invalid(format!(
            "rate limit refill_rate must be a positive number of tokens per second, got \
             {refill_rate}; for 100 requests a minute use capacity=100, refill_rate=100/60"
        )));
    }
    Ok(Limit::TokenBucket {
        capacity,
        refill_rate,
    })
}

fn at_least_one(name: &str, value: i64, meaning: &str) -> Result<u64, ConfigError> {
    if value < 1 {
        return Err(ConfigError::invalid(format!(
            "rate limit {name} must be at least 1 (the number of {meaning}), got {value}"
        )));
    }
    Ok(value.unsigned_abs())
}

/// Checks the exempt paths: each must be an absolute path; a trailing `/` is dropped so
/// that `/health/` and `/health` mean the same.
pub(crate) fn exempt_paths(paths: &[String]) -> Result<Box<[Box<str>]>, ConfigError> {
    paths
        .iter()
        .map(|path| {
            if !path.starts_with('/') {
                return Err(ConfigError::invalid(format!(
                    "rate limit exempt path {path:?} must start with \"/\", like \"/health\""
                )));
            }
            let trimmed = path.trim_end_matches('/');
            Ok(if trimmed.is_empty() { "/" } else { trimmed }.into())
        })
        .collect()
}
