//! The time as layers read it: the monotonic system clock in production, a clock the
//! test moves by hand in unit tests, so that no test depends on how fast the machine is.

use std::time::Instant;

/// Where a layer reads the time.
#[derive(Clone, Debug, Default)]
pub(crate) enum Clock {
    /// The monotonic system clock.
    #[default]
    System,
    /// A clock that moves only when the test says so.
    #[cfg(test)]
    Manual(std::rc::Rc<std::cell::Cell<Instant>>),
}

impl Clock {
    pub(crate) fn now(&self) -> Instant {
        match self {
            Self::System => Instant::now(),
            #[cfg(test)]
            Self::Manual(now) => now.get(),
        }
    }
}

/// A manual clock and the handle that moves it.
#[cfg(test)]
pub(crate) fn manual() -> (Clock, ManualTime) {
    let now = std::rc::Rc::new(std::cell::Cell::new(Instant::now()));
    (Clock::Manual(now.clone()), ManualTime(now))
}

/// Moves a [`Clock::Manual`].
#[cfg(test)]
#[derive(Clone, Debug)]
pub(crate) struct ManualTime(std::rc::Rc<std::cell::Cell<Instant>>);

#[cfg(test)]
impl ManualTime {
    pub(crate) fn advance(&self, by: std::time::Duration) {
        self.0.set(self.0.get() + by);
    }
}
