//! Which request a handler is handling, for code that is not handed it
//! (`BackgroundTasks()`): a thread-local for sync handlers (read through
//! `_cello.current_request()`, no Python call per request), the context variable
//! `cello.background.current_request` for async handlers' tasks.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use crate::request::PyRequest;

static CURRENT_REQUEST: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

thread_local! {
    /// The request a sync handler on this thread is handling (`BackgroundTasks()`
    /// finds it through `_cello.current_request()`; no Python call per request).
    static HANDLING: std::cell::RefCell<Option<Py<PyRequest>>> = const { std::cell::RefCell::new(None) };
}

/// The request whose sync handler is running on this thread, if any.
#[pyfunction]
pub fn current_request(py: Python<'_>) -> Option<Py<PyRequest>> {
    HANDLING.with(|slot| slot.borrow().as_ref().map(|request| request.clone_ref(py)))
}

/// Runs a sync handler `call` with `request` registered as this thread's current one.
pub(crate) fn with_current_request<T>(
    py: Python<'_>,
    request: &Py<PyRequest>,
    call: impl FnOnce() -> PyResult<T>,
) -> PyResult<T> {
    let previous = HANDLING.with(|slot| slot.replace(Some(request.clone_ref(py))));
    let result = call();
    let finished = HANDLING.with(|slot| slot.replace(previous));
    drop(finished);
    result
}

/// Runs `call` (which starts an async handler's task) with the context variable
/// `cello.background.current_request` set, so the task, which copies the context,
/// still knows its request after it suspends.
pub(crate) fn with_request_context<T>(
    py: Python<'_>,
    request: &Py<PyRequest>,
    call: impl FnOnce() -> PyResult<T>,
) -> PyResult<T> {
    let variable = CURRENT_REQUEST.get_or_try_init(py, || {
        py.import(intern!(py, "cello.background"))?
            .getattr(intern!(py, "current_request"))
            .map(Bound::unbind)
    })?;
    let variable = variable.bind(py);
    let token = variable.call_method1(intern!(py, "set"), (request,))?;
    let result = call();
    variable.call_method1(intern!(py, "reset"), (token,))?;
    result
}
