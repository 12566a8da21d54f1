//! Rate limits: token bucket, sliding window and adaptive, over a store kept per worker
//! (memory) or shared by the workers (Redis).
//!
//! `before` charges the request to its key (client IP, a header, or the route) with one
//! atomic decision of the store; over the limit it answers 429 problem+json with
//! `Retry-After`, and the handler is not called. `after` puts the `RateLimit` and
//! `RateLimit-Policy` fields (and `X-RateLimit-*`) on every charged response, 429s
//! included. Exempt paths are neither charged nor given the fields.
//!
//! When the store fails (Redis down) the request is let through (fail open, the
//! default) or refused with 503 (fail closed); the store logs the outage once.

mod adaptive;
mod algorithm;
mod config;
mod headers;
mod key;
#[cfg(feature = "redis")]
mod scripts;
#[cfg(test)]
mod tests;

use cello_http::{problem_response, Request, Response};
use http::StatusCode;
use tokio::time::Instant;

use self::adaptive::Adaptive;
use self::algorithm::Limit;
pub use self::config::{OnStoreError, RateLimitAlgorithm, RateLimitConfig, RateLimitKey};
use self::headers::Fields;
use self::key::Keying;
use crate::chain::Exchange;
use crate::error::ConfigError;
use crate::store::Store;

/// The decision made in `before`, turned into headers in `after`.
#[derive(Debug)]
pub(crate) struct Verdict {
    allowed: bool,
    fields: Fields,
}

/// The rate-limit layer.
#[derive(Debug)]
pub struct RateLimit {
    limit: Limit,
    /// Boxed: its window of counts is most of its size, and most limits are not adaptive.
    adaptive: Option<Box<Adaptive>>,
    keying: Keying,
    exempt: Box<[Box<str>]>,
    store: Store,
    on_store_error: OnStoreError,
}

impl RateLimit {
    /// Validates `config` and makes its store (which connects nothing yet: a Redis store
    /// connects on first use, in the worker).
    pub fn new(config: RateLimitConfig) -> Result<Self, ConfigError> {
        let store = Store::new(&config.store)?;
        Self::with_store(config, store)
    }

    /// As [`RateLimit::new`], over a store the caller made (to share it with other
    /// layers); `config.store` is not used.
    pub fn with_store(config: RateLimitConfig, store: Store) -> Result<Self, ConfigError> {
        let RateLimitConfig {
            algorithm,
            key,
            trusted_proxies,
            trust_x_real_ip,
            exempt_paths,
            store: _,
            on_store_error,
        } = config;
        let (limit, adaptive) = config::validate(&algorithm)?;
        Ok(Self {
            limit,
            adaptive: adaptive.map(Box::new),
            keying: Keying::new(&key, &trusted_proxies, trust_x_real_ip)?,
            exempt: config::exempt_paths(&exempt_paths)?,
            store,
            on_store_error,
        })
    }

    /// The store the layer counts in.
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) async fn before(
        &self,
        request: &mut Request,
        exchange: &mut Exchange,
    ) -> Option<Response> {
        if self.is_exempt(request.uri().path()) {
            return None;
        }
        let limit = match (&self.adaptive, self.limit) {
            (Some(adaptive), Limit::TokenBucket { refill_rate, .. }) => Limit::TokenBucket {
                capacity: adaptive.capacity(Instant::now()),
                refill_rate,
            },
            (_, limit) => limit,
        };
        let key = self.keying.key(limit.tag(), request, exchange);
        let decision = match algorithm::decide(&self.store, &key, &limit).await {
            Ok(decision) => decision,
            // The store has logged it (once per outage).
            Err(_) => return self.store_failed(),
        };
        let mut fields = Fields {
            quota: limit.quota(),
            window_secs: limit.window_secs(),
            remaining: decision.remaining,
            reset_secs: decision.reset_ms.div_ceil(1000),
        };
        if decision.allowed {
            exchange.rate_limit = Some(Verdict {
                allowed: true,
                fields,
            });
            return None;
        }
        // Never 0 ("retry now" would be wrong), and `t` says the same as `Retry-After`.
        fields.reset_secs = fields.reset_secs.max(1);
        exchange.rate_limit = Some(Verdict {
            allowed: false,
            fields,
        });
        let wait = fields.reset_secs;
        let unit = if wait == 1 { "second" } else { "seconds" };
        let mut response = problem_response(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("too many requests: retry after {wait} {unit}"),
        );
        headers::retry_after(&mut response, wait);
        Some(response)
    }

    pub(crate) fn after(&self, exchange: &mut Exchange, response: &mut Response) {
        let Some(verdict) = exchange.rate_limit.take() else {
            return;
        };
        headers::add(response, &verdict.fields);
        if let (true, Some(adaptive)) = (verdict.allowed, &self.adaptive) {
            adaptive.record(response.status(), Instant::now());
        }
    }

    fn store_failed(&self) -> Option<Response> {
        match self.on_store_error {
            OnStoreError::FailOpen => None,
            OnStoreError::FailClosed => {
                let mut response = problem_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the rate limit cannot be checked right now (its store is unavailable): \
                     retry in a moment",
                );
                headers::retry_after(&mut response, 1);
                Some(response)
            }
        }
    }

    /// `path` is an exempt path or under one.
    fn is_exempt(&self, path: &str) -> bool {
        self.exempt.iter().any(|exempt| {
            path.strip_prefix(&**exempt)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
    }
}
