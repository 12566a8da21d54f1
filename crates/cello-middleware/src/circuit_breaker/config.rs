//! The circuit breaker's options and their checks.

use std::time::Duration;

use crate::error::ConfigError;

/// The longest `reset_timeout` accepted: past a day, a route that recovered would stay
/// refused for longer than anyone would wait for it.
pub const MAX_RESET_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// Options of the circuit breaker; the defaults are the original's
/// `enable_circuit_breaker()`.
#[derive(Clone, Debug)]
pub struct CircuitBreakerConfig {
    /// Consecutive failures of one route that open its breaker.
    pub failure_threshold: u32,
    /// How long an open breaker refuses requests before it lets trial requests through.
    pub reset_timeout: Duration,
    /// Successful trial requests that close a half-open breaker; it also bounds the
    /// trial requests let through at once.
    pub half_open_target: u32,
    /// Response statuses that count as failures (others count as successes).
    pub failure_codes: Vec<u16>,
    /// The most routes tracked at once per worker; past it, the least recently used is
    /// forgotten (a forgotten open breaker is closed again).
    pub max_routes: usize,
}

impl Default for CircuitBreakerConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            reset_timeout: Duration::from_secs(30),
            half_open_target: 3,
            failure_codes: vec![500, 502, 503, 504],
            max_routes: 10_000,
        }
    }
}

impl CircuitBreakerConfig {
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.failure_threshold == 0 {
            return Err(ConfigError::invalid(
                "circuit breaker failure_threshold must be at least 1 (the number of \
                 consecutive failures that opens a route's breaker; the default is 5)",
            ));
        }
        if self.reset_timeout.is_zero() || self.reset_timeout > MAX_RESET_TIMEOUT {
            return Err(ConfigError::invalid(format!(
                "circuit breaker reset_timeout must be more than 0 and at most {} seconds \
                 (how long an open breaker refuses requests; the default is 30), not {} s",
                MAX_RESET_TIMEOUT.as_secs(),
                self.reset_timeout.as_secs_f64()
            )));
        }
        if self.half_open_target == 0 {
            return Err(ConfigError::invalid(
                "circuit breaker half_open_target must be at least 1 (the successful trial \
                 requests that close a half-open breaker; the default is 3)",
            ));
        }
        if self.failure_codes.is_empty() {
            return Err(ConfigError::invalid(
                "circuit breaker failure_codes is empty, so the breaker could never open: \
                 list the statuses that count as failures, like [500, 502, 503, 504]",
            ));
        }
        if let Some(code) = self
            .failure_codes
            .iter()
            .find(|code| !(100..=599).contains(*code))
        {
            return Err(ConfigError::invalid(format!(
                "circuit breaker failure_codes: {code} is not an HTTP status (100 to 599)"
            )));
        }
        if self.max_routes == 0 {
            return Err(ConfigError::invalid(
                "circuit breaker max_routes must be at least 1 (it bounds the memory used \
                 for per-route state; the default is 10000)",
            ));
        }
        Ok(())
    }
}
