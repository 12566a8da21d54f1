//! The breakers of one worker, one per route, as a state machine that is told the time
//! (so tests drive it without a clock).
//!
//! - **Closed**: requests go through; a failure adds one to the route's count, a
//!   success sets it back to 0; `failure_threshold` in a row open the breaker. A
//!   closed breaker with no failures is not stored at all, so routes that never fail
//!   (and random paths that 404) cost one map lookup and no memory.
//! - **Open** until `reset_timeout` has passed: requests are refused.
//! - **Half-open**: at most `half_open_target` trial requests go through (in flight and
//!   succeeded together); that many successes close the breaker, one failure opens it
//!   again for another `reset_timeout`; the others are refused meanwhile.
//!
//! Each half-open spell has a generation, so that a trial's outcome only counts for the
//! spell it was let through in, and outcomes of requests let through while closed are
//! ignored once the breaker is open (they say nothing about the recovery).

use std::time::Duration;

use std::time::Instant;

use super::CircuitBreakerConfig;
use crate::lru::Lru;

/// Whether a request may go to the handler.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Let through while closed.
    Closed,
    /// Let through as a trial of the half-open spell of this generation.
    Trial(u64),
    /// Refused; worth retrying after this long.
    Refused(Duration),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    HalfOpen {
        generation: u64,
        in_flight: u32,
        successes: u32,
    },
}

/// When a half-open breaker has all its trials out, a refused client is told to come
/// back in a second: the trials' answers are what decides, and they are usually quick.
const HALF_OPEN_RETRY: Duration = Duration::from_secs(1);

pub(crate) struct Breakers {
    routes: Lru<Box<str>, State>,
    max_routes: usize,
    failure_threshold: u32,
    reset_timeout: Duration,
    half_open_target: u32,
    generations: u64,
}

impl Breakers {
    pub(crate) fn new(config: &CircuitBreakerConfig) -> Self {
        Self {
            routes: Lru::new(),
            max_routes: config.max_routes,
            failure_threshold: config.failure_threshold,
            reset_timeout: config.reset_timeout,
            half_open_target: config.half_open_target,
            generations: 0,
        }
    }

    /// How many routes have state (failures, open or half-open).
    pub(crate) fn len(&self) -> usize {
        self.routes.len()
    }

    pub(crate) fn admit(&mut self, route: &str, now: Instant) -> Admission {
        let Some(state) = self.routes.get_mut(route) else {
            return Admission::Closed;
        };
        if let State::Open { until } = *state {
            if now < until {
                return Admission::Refused(until - now);
            }
            self.generations += 1;
            *state = State::HalfOpen {
                generation: self.generations,
                in_flight: 0,
                successes: 0,
            };
        }
        match state {
            State::Closed { .. } => Admission::Closed,
            State::Open { .. } => unreachable!("turned half-open above"),
            State::HalfOpen {
                generation,
                in_flight,
                successes,
            } => {
                if *in_flight + *successes < self.half_open_target {
                    *in_flight += 1;
                    Admission::Trial(*generation)
                } else {
                    Admission::Refused(HALF_OPEN_RETRY)
                }
            }
        }
    }

    /// Records the outcome of a request let through with `admission`.
    pub(crate) fn record(
        &mut self,
        route: &str,
        admission: &Admission,
        failed: bool,
        now: Instant,
    ) {
        let open = State::Open {
            until: now + self.reset_timeout,
        };
        let current = self.routes.get_mut(route).map(|state| *state);
        // `None`: no change; `Some(None)`: closed with no failures, not stored.
        let next = match (admission, current) {
            (Admission::Closed, None | Some(State::Closed { .. })) => {
                let failures = match current {
                    Some(State::Closed { failures }) => failures,
                    _ => 0,
                };
                if !failed {
                    current.map(|_| None)
                } else if failures + 1 >= self.failure_threshold {
                    Some(Some(open))
                } else {
                    Some(Some(State::Closed {
                        failures: failures + 1,
                    }))
                }
            }
            (
                Admission::Trial(trial),
                Some(State::HalfOpen {
                    generation,
                    in_flight,
                    successes,
                }),
            ) if *trial == generation => {
                if failed {
                    Some(Some(open))
                } else if successes + 1 >= self.half_open_target {
                    Some(None)
                } else {
                    Some(Some(State::HalfOpen {
                        generation,
                        in_flight: in_flight.saturating_sub(1),
                        successes: successes + 1,
                    }))
                }
            }
            // An outcome from before the breaker opened; a trial of an earlier spell.
            _ => None,
        };
        match next {
            None => {}
            Some(None) => {
                self.routes.remove(route);
            }
            Some(Some(state)) => {
                if let Some(slot) = self.routes.get_mut(route) {
                    *slot = state;
                } else {
                    self.routes.insert(route.into(), state);
                    self.forget_past_bound();
                }
            }
        }
    }

    /// A trial request let through never reported back (its client went away and the
    /// request was dropped): its place goes back to the half-open spell.
    pub(crate) fn release(&mut self, route: &str, admission: &Admission) {
        let Admission::Trial(trial) = admission else {
            return;
        };
        if let Some(State::HalfOpen {
            generation,
            in_flight,
            ..
        }) = self.routes.get_mut(route)
        {
            if generation == trial {
                *in_flight = in_flight.saturating_sub(1);
            }
        }
    }

    /// Forgets the least recently used routes past `max_routes`.
    fn forget_past_bound(&mut self) {
        while self.routes.len() > self.max_routes {
            self.routes.pop_oldest();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breakers(threshold: u32, target: u32) -> Breakers {
        Breakers::new(&CircuitBreakerConfig {
            failure_threshold: threshold,
            reset_timeout: Duration::from_secs(30),
            half_open_target: target,
            max_routes: 2,
            ..CircuitBreakerConfig::default()
        })
    }

    #[test]
    fn opens_after_consecutive_failures_only() {
        let mut b = breakers(3, 1);
        let t = Instant::now();
        for failed in [true, true, false, true, true] {
            let admission = b.admit("r", t);
            assert_eq!(admission, Admission::Closed);
            b.record("r", &admission, failed, t);
        }
        assert_eq!(
            b.admit("r", t),
            Admission::Closed,
            "the success reset the count"
        );
        b.record("r", &Admission::Closed, true, t);
        assert_eq!(b.admit("r", t), Admission::Refused(Duration::from_secs(30)));
        assert_eq!(
            b.admit("r", t + Duration::from_secs(12)),
            Admission::Refused(Duration::from_secs(18))
        );
        assert_eq!(b.admit("other", t), Admission::Closed);
    }

    #[test]
    fn half_open_lets_a_bounded_number_of_trials_through() {
        let mut b = breakers(1, 2);
        let t = Instant::now();
        b.record("r", &Admission::Closed, true, t);
        let later = t + Duration::from_secs(30);
        let first = b.admit("r", later);
        let second = b.admit("r", later);
        assert!(matches!(first, Admission::Trial(_)));
        assert_eq!(first, second);
        assert_eq!(b.admit("r", later), Admission::Refused(HALF_OPEN_RETRY));
        b.record("r", &first, false, later);
        assert_eq!(b.admit("r", later), Admission::Refused(HALF_OPEN_RETRY));
        b.record("r", &second, false, later);
        assert_eq!(b.admit("r", later), Admission::Closed);
        assert_eq!(
            b.len(),
            0,
            "a closed breaker with no failures is not stored"
        );
    }

    #[test]
    fn a_failed_trial_reopens_and_stale_outcomes_are_ignored() {
        let mut b = breakers(1, 2);
        let t = Instant::now();
        b.record("r", &Admission::Closed, true, t);
        let later = t + Duration::from_secs(31);
        let trial = b.admit("r", later);
        let other = b.admit("r", later);
        b.record("r", &trial, true, later);
        assert_eq!(
            b.admit("r", later),
            Admission::Refused(Duration::from_secs(30))
        );
        b.record("r", &other, false, later); // from the failed spell: ignored
        b.record("r", &Admission::Closed, false, later); // from before it opened
        assert_eq!(
            b.admit("r", later),
            Admission::Refused(Duration::from_secs(30))
        );
        let again = later + Duration::from_secs(30);
        let next = b.admit("r", again);
        assert_ne!(next, trial, "a new spell has a new generation");
        b.release("r", &next);
        assert!(
            matches!(b.admit("r", again), Admission::Trial(_)),
            "released place"
        );
    }

    #[test]
    fn routes_past_the_bound_are_forgotten_oldest_first() {
        let mut b = breakers(1, 1);
        let t = Instant::now();
        for route in ["a", "b", "c"] {
            b.record(route, &Admission::Closed, true, t);
        }
        assert_eq!(b.len(), 2);
        assert_eq!(b.admit("a", t), Admission::Closed, "forgotten, so closed");
        assert!(matches!(b.admit("c", t), Admission::Refused(_)));
    }
}
