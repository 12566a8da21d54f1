//! The adaptive part of the adaptive algorithm: the share of 5xx responses over the last
//! seconds, and the bucket capacity it leads to.
//!
//! Measured per worker, over the responses that worker sent: with Redis the bucket is
//! shared, but each worker passes the capacity it measured, so while workers disagree
//! the bucket follows whichever charged last. Responses to requests the layer refused
//! (429) are not counted: they are the limit working, not the app failing.

use std::cell::RefCell;

use http::StatusCode;
use tokio::time::Instant;

/// Seconds of responses the error rate is measured over.
const WINDOW_SECS: usize = 10;
/// Fewer responses than this in the window say nothing: the capacity stays.
const MIN_SAMPLES: u64 = 20;

/// The capacity of an adaptive bucket, following the error rate.
#[derive(Debug)]
pub(crate) struct Adaptive {
    capacity: f64,
    min_capacity: f64,
    error_threshold: f64,
    state: RefCell<State>,
}

#[derive(Debug)]
struct State {
    /// Where seconds are counted from: the first request (after the fork, on tokio's
    /// clock, so paused time works in tests).
    epoch: Option<Instant>,
    slots: [Slot; WINDOW_SECS],
    effective: f64,
    /// The second of the last adjustment.
    adjusted: u64,
}

#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    second: u64,
    responses: u64,
    errors: u64,
}

impl Adaptive {
    pub(crate) fn new(capacity: u64, min_capacity: u64, error_threshold: f64) -> Self {
        Self {
            capacity: capacity as f64,
            min_capacity: min_capacity as f64,
            error_threshold,
            state: RefCell::new(State {
                epoch: None,
                slots: [Slot::default(); WINDOW_SECS],
                effective: capacity as f64,
                adjusted: 0,
            }),
        }
    }

    /// The capacity now. At most once a second it moves: halfway down to the minimum
    /// while the error rate is over the threshold, a tenth of the way back up otherwise.
    pub(crate) fn capacity(&self, now: Instant) -> u64 {
        let mut state = self.state.borrow_mut();
        let second = state.second(now);
        if second > state.adjusted {
            state.adjusted = second;
            let (responses, errors) = state.counts(second);
            if responses >= MIN_SAMPLES && errors as f64 / responses as f64 > self.error_threshold {
                state.effective = self.min_capacity + (state.effective - self.min_capacity) / 2.0;
            } else {
                let step = (self.capacity - self.min_capacity) / 10.0;
                state.effective = (state.effective + step).min(self.capacity);
            }
        }
        (state.effective.floor() as u64).max(self.min_capacity as u64)
    }

    /// Counts one response the app gave.
    pub(crate) fn record(&self, status: StatusCode, now: Instant) {
        let mut state = self.state.borrow_mut();
        let second = state.second(now);
        let slot = &mut state.slots[second as usize % WINDOW_SECS];
        if slot.second != second {
            *slot = Slot {
                second,
                ..Slot::default()
            };
        }
        slot.responses += 1;
        slot.errors += u64::from(status.is_server_error());
    }
}

impl State {
    fn second(&mut self, now: Instant) -> u64 {
        let epoch = *self.epoch.get_or_insert(now);
        now.duration_since(epoch).as_secs()
    }

    /// Responses and errors of the window that ends with `second`.
    fn counts(&self, second: u64) -> (u64, u64) {
        self.slots
            .iter()
            .filter(|slot| slot.second + WINDOW_SECS as u64 > second && slot.second <= second)
            .fold((0, 0), |(responses, errors), slot| {
                (responses + slot.responses, errors + slot.errors)
            })
    }
}
