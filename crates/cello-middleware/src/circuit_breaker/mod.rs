//! A circuit breaker per route: after `failure_threshold` consecutive failures (answers
//! whose status is in `failure_codes`) a route is refused with 503 for
//! `reset_timeout`, without calling its handler, so that a failing dependency gets
//! room to recover and clients get a fast answer instead of a slow error.
//!
//! - The route is `Exchange::route` (the route template) when the caller set it,
//!   otherwise the request's path, and in both cases the method: `GET /users/{id}`.
//!   Without templates every path is its own breaker; the map of routes is bounded
//!   (`max_routes`, least recently used forgotten first), and a route that has not
//!   failed is not stored at all, so random paths cost no memory.
//! - The refusal is a problem+json 503 with `Retry-After` (the seconds left, rounded
//!   up); it still passes through the layers outside this one (CORS, request id).
//! - State is **per worker process**: with four workers, each opens its own breaker
//!   after its own `failure_threshold` failures.
//! - A trial request whose client went away before the answer gives its place back
//!   (its ticket is dropped without an outcome), so a half-open breaker cannot
//!   be left waiting for answers that never come. A handler that panics counts as a
//!   failure: the server answers that request with a 500.

mod config;
mod state;

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use cello_http::{problem_response, Request, Response};
use http::header::RETRY_AFTER;
use http::{HeaderValue, StatusCode};

use crate::chain::Exchange;
use crate::clock::Clock;
use crate::error::ConfigError;
pub use config::{CircuitBreakerConfig, MAX_RESET_TIMEOUT};
use state::{Admission, Breakers};

/// The circuit-breaker layer; its breakers live as long as the worker's chain.
pub struct CircuitBreaker {
    breakers: Rc<RefCell<Breakers>>,
    failure_codes: Box<[u16]>,
    clock: Clock,
}

impl CircuitBreaker {
    /// Validates `config`.
    pub fn new(config: &CircuitBreakerConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            breakers: Rc::new(RefCell::new(Breakers::new(config))),
            failure_codes: config.failure_codes.clone().into_boxed_slice(),
            clock: Clock::default(),
        })
    }

    #[cfg(test)]
    pub(crate) fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// How many routes have state in this worker: some failures, open or half-open.
    pub fn tracked_routes(&self) -> usize {
        self.breakers.borrow().len()
    }

    pub(crate) fn before(
        &self,
        request: &mut Request,
        exchange: &mut Exchange,
    ) -> Option<Response> {
        let route = route_key(exchange, request);
        let admission = self.breakers.borrow_mut().admit(&route, self.clock.now());
        if let Admission::Refused(wait) = admission {
            return Some(refusal(&route, wait));
        }
        exchange.circuit_breaker = Some(Ticket {
            breakers: self.breakers.clone(),
            clock: self.clock.clone(),
            route,
            admission: Some(admission),
        });
        None
    }

    pub(crate) fn after(&self, exchange: &mut Exchange, response: &mut Response) {
        let Some(mut ticket) = exchange.circuit_breaker.take() else {
            return; // refused here: nothing was tried
        };
        let Some(admission) = ticket.admission.take() else {
            return;
        };
        let failed = self.failure_codes.contains(&response.status().as_u16());
        self.breakers
            .borrow_mut()
            .record(&ticket.route, &admission, failed, self.clock.now());
    }
}

impl fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("failure_codes", &self.failure_codes)
            .finish_non_exhaustive()
    }
}

/// A request let through, whose outcome `after` records. Dropped without one, it
/// counts as a failure if the handler panicked (the server answers 500), and
/// otherwise (the request was cancelled) gives a trial's place back.
pub(crate) struct Ticket {
    breakers: Rc<RefCell<Breakers>>,
    clock: Clock,
    route: Box<str>,
    /// `None` once recorded.
    admission: Option<Admission>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        // Not borrowed unless the panic came from inside the breakers themselves.
        if let (Some(admission), Ok(mut breakers)) =
            (self.admission.take(), self.breakers.try_borrow_mut())
        {
            if std::thread::panicking() {
                breakers.record(&self.route, &admission, true, self.clock.now());
            } else {
                breakers.release(&self.route, &admission);
            }
        }
    }
}

impl fmt::Debug for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ticket")
            .field("route", &self.route)
            .field("admission", &self.admission)
            .finish_non_exhaustive()
    }
}

/// `GET /users/{id}` with a route template, `GET /users/7` without.
fn route_key(exchange: &Exchange, request: &Request) -> Box<str> {
    let method = exchange.method.as_str();
    let target = exchange
        .route
        .as_deref()
        .unwrap_or_else(|| request.uri().path());
    let mut key = String::with_capacity(method.len() + 1 + target.len());
    key.push_str(method);
    key.push(' ');
    key.push_str(target);
    key.into_boxed_str()
}

fn refusal(route: &str, wait: Duration) -> Response {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let seconds = seconds.max(1);
    let mut response = problem_response(
        StatusCode::SERVICE_UNAVAILABLE,
        &format!(
            "{route} is failing, so its circuit breaker is open and it is not called; \
             try again in {seconds} s"
        ),
    );
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(seconds));
    response
}

#[cfg(test)]
mod tests;
