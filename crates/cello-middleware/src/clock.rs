//! The time as layers read it: the system's clocks in production, a clock the test
//! moves by hand in unit tests, so that no test depends on how fast the machine is.

use std::time::{Duration, Instant, SystemTime};

/// Where a layer reads the time.
#[derive(Clone, Debug, Default)]
pub(crate) enum Clock {
    /// The monotonic clock, and the wall clock for times other processes read.
    #[default]
    System,
    /// A clock that moves only when the test says so.
    #[cfg(test)]
    Manual(std::rc::Rc<ManualState>),
}

#[cfg(test)]
#[derive(Debug)]
pub(crate) struct ManualState {
    start: Instant,
    start_wall: SystemTime,
    elapsed: std::cell::Cell<Duration>,
}

impl Clock {
    /// For durations within this process.
    pub(crate) fn now(&self) -> Instant {
        match self {
            Self::System => Instant::now(),
            #[cfg(test)]
            Self::Manual(state) => state.start + state.elapsed.get(),
        }
    }

    /// Since the Unix epoch: for times that other workers read (a shared cache's
    /// `Age`). `Duration::ZERO` if the system clock is set before 1970.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn since_epoch(&self) -> Duration {
        let wall = match self {
            Self::System => SystemTime::now(),
            #[cfg(test)]
            Self::Manual(state) => state.start_wall + state.elapsed.get(),
        };
        wall.duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
    }
}

/// A manual clock and the handle that moves it.
#[cfg(test)]
pub(crate) fn manual() -> (Clock, ManualTime) {
    let state = std::rc::Rc::new(ManualState {
        start: Instant::now(),
        start_wall: SystemTime::now(),
        elapsed: std::cell::Cell::new(Duration::ZERO),
    });
    (Clock::Manual(state.clone()), ManualTime(state))
}

/// Moves a [`Clock::Manual`].
#[cfg(test)]
#[derive(Clone, Debug)]
pub(crate) struct ManualTime(std::rc::Rc<ManualState>);

#[cfg(test)]
impl ManualTime {
    pub(crate) fn advance(&self, by: Duration) {
        self.0.elapsed.set(self.0.elapsed.get() + by);
    }
}
