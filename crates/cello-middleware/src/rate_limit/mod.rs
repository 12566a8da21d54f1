//! Rate limits (token bucket, sliding window, adaptive) over a store shared by the
//! workers (Redis) or kept per worker (memory).
//! STUB: the algorithms and stores arrive in the next commit.

use cello_http::{Request, Response};

use crate::chain::Exchange;
use crate::error::ConfigError;

/// Options of the rate-limit layer.
#[derive(Clone, Debug, Default)]
pub struct RateLimitConfig {}

/// The decision made in `before`, turned into headers in `after`.
#[derive(Debug)]
pub(crate) struct Verdict;

/// The rate-limit layer.
#[derive(Debug)]
pub struct RateLimit {}

impl RateLimit {
    /// Validates `config`.
    pub fn new(_config: RateLimitConfig) -> Result<Self, ConfigError> {
        Ok(Self {})
    }

    pub(crate) async fn before(
        &self,
        _request: &mut Request,
        _exchange: &mut Exchange,
    ) -> Option<Response> {
        None
    }

    pub(crate) fn after(&self, _exchange: &mut Exchange, _response: &mut Response) {}
}
