//! Values that must stay on the thread that made them (a Tokio `LocalSet`, `Rc`s),
//! held by Python objects that the garbage collector may drop on any thread.

use std::mem::ManuallyDrop;

use pyo3::exceptions::PyRuntimeError;
use pyo3::PyResult;

thread_local! {
    static THREAD_MARK: u8 = const { 0 };
}

fn thread_mark() -> usize {
    THREAD_MARK.with(|mark| std::ptr::from_ref(mark) as usize)
}

/// Owns a `T` that may only be touched on its creating thread.
///
/// Access from another thread is a Python `RuntimeError` rather than a crash, and a
/// drop on another thread leaks the value instead of running its destructor there
/// (pyo3's `unsendable` would panic in that case, which Python reports as an
/// unraisable error whenever a collection happens elsewhere).
pub struct ThreadBound<T> {
    owner: usize,
    value: ManuallyDrop<T>,
}

// SAFETY: the value is only reachable through `get`, which checks that the caller is
// on the owning thread, and it is only dropped on that thread.
unsafe impl<T> Send for ThreadBound<T> {}
// SAFETY: as above: shared references never reach the value off its thread.
unsafe impl<T> Sync for ThreadBound<T> {}

impl<T> ThreadBound<T> {
    pub fn new(value: T) -> Self {
        Self {
            owner: thread_mark(),
            value: ManuallyDrop::new(value),
        }
    }

    /// The value, if called on its thread.
    pub fn get(&self) -> PyResult<&T> {
        if self.owner == thread_mark() {
            Ok(&self.value)
        } else {
            Err(PyRuntimeError::new_err(
                "this Cello event-loop object belongs to another thread; use it from the thread that created it",
            ))
        }
    }
}

impl<T> Drop for ThreadBound<T> {
    fn drop(&mut self) {
        if self.owner == thread_mark() {
            // SAFETY: dropped exactly once, here, on the owning thread.
            unsafe { ManuallyDrop::drop(&mut self.value) };
        }
    }
}
