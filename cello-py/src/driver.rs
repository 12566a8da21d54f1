//! One worker's event loop: a current-thread Tokio runtime that also drives asyncio.
//!
//! The worker's asyncio loop uses a selector (`cello._loop.TokioSelector`) whose
//! `select()` calls [`PyDriver::wait`]: while asyncio would block, Tokio runs the HTTP
//! server on the same thread. So sync handlers, async handlers and every asyncio
//! callback run on one thread, with real asyncio tasks, and no thread hop per request.
//! `wait` returns to asyncio when its own file descriptors are ready (the epoll fd
//! of its inner selector becomes readable), when its next timer is due, or when a
//! request handler scheduled asyncio work (`LoopShared::after_python`).

use std::cell::{Cell, RefCell};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::time::Duration;

use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use tokio::io::unix::AsyncFd;
use tokio::runtime::Runtime;
use tokio::sync::Notify;
use tokio::task::LocalSet;

use crate::thread_bound::ThreadBound;

/// What request handling shares with the asyncio side of the loop.
pub struct LoopShared {
    wake: Notify,
    ready: RefCell<Option<Py<PyAny>>>,
    scheduled: RefCell<Option<Py<PyAny>>>,
    scheduled_len: Cell<isize>,
    pub asyncio_loop: RefCell<Option<Py<PyAny>>>,
}

impl LoopShared {
    fn new() -> Self {
        Self {
            wake: Notify::new(),
            ready: RefCell::new(None),
            scheduled: RefCell::new(None),
            scheduled_len: Cell::new(0),
            asyncio_loop: RefCell::new(None),
        }
    }

    /// Called after Python code ran inside `wait`: if that code scheduled asyncio
    /// callbacks or timers, `wait` must return so asyncio runs them.
    pub fn after_python(&self, py: Python<'_>) {
        let ready = self.ready.borrow();
        let scheduled = self.scheduled.borrow();
        let (Some(ready), Some(scheduled)) = (ready.as_ref(), scheduled.as_ref()) else {
            self.wake.notify_one();
            return;
        };
        // SAFETY: both are live Python objects we hold references to, and the GIL is held.
        let (ready_len, scheduled_len) = unsafe {
            (
                ffi::PyObject_Size(ready.as_ptr()),
                ffi::PyObject_Size(scheduled.as_ptr()),
            )
        };
        let _ = py;
        if ready_len != 0 || scheduled_len != self.scheduled_len.get() {
            self.wake.notify_one();
        }
    }
}

/// The per-worker driver. Usable only on the thread that created it.
#[pyclass(name = "Driver", module = "cello._cello", frozen)]
pub struct PyDriver {
    inner: ThreadBound<DriverState>,
}

/// The driver's Tokio runtime. Dropped inside another runtime's context (a driver
/// collected by Python's garbage collector while a newer loop's driver runs Python), it is
/// shut down in the background: a plain drop there panics ("Cannot drop a runtime in a
/// context where blocking is not allowed").
pub struct DriverRuntime(Option<Runtime>);

impl std::ops::Deref for DriverRuntime {
    type Target = Runtime;

    fn deref(&self) -> &Runtime {
        self.0
            .as_ref()
            .expect("the runtime lives as long as its driver")
    }
}

impl Drop for DriverRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                runtime.shutdown_background();
            }
        }
    }
}

/// The thread-bound state of a [`PyDriver`].
pub struct DriverState {
    pub runtime: DriverRuntime,
    pub local: LocalSet,
    pub shared: Rc<LoopShared>,
    /// A duplicate of asyncio's epoll fd (ours to close), and the fd it copies.
    epoll: RefCell<Option<(RawFd, AsyncFd<OwnedFd>)>>,
}

impl PyDriver {
    /// The driver's state, if called on its thread.
    pub fn state(&self) -> PyResult<&DriverState> {
        self.inner.get()
    }
}

thread_local! {
    /// Set while `wait` runs Tokio on this thread with the GIL held.
    static IN_WAIT: Cell<bool> = const { Cell::new(false) };
    /// The thread state saved while Tokio is parked inside `wait`.
    static PARKED: Cell<*mut ffi::PyThreadState> = const { Cell::new(std::ptr::null_mut()) };
}

/// Tokio's park hook: about to sleep in epoll, so let other Python threads run.
fn release_gil_while_parked() {
    if IN_WAIT.with(Cell::get) {
        // SAFETY: inside `wait` this thread holds the GIL (it was called from Python);
        // the saved state is restored by `reacquire_gil_after_park` before any Python
        // runs again on this thread.
        let state = unsafe { ffi::PyEval_SaveThread() };
        PARKED.with(|parked| parked.set(state));
    }
}

/// Tokio's unpark hook: take the GIL back before tasks (which call Python) run.
fn reacquire_gil_after_park() {
    let state = PARKED.with(|parked| parked.replace(std::ptr::null_mut()));
    if !state.is_null() {
        // SAFETY: `state` was saved by `release_gil_while_parked` on this thread.
        unsafe { ffi::PyEval_RestoreThread(state) };
    }
}

/// Marks the extent of a `wait`, also when it unwinds.
struct WaitScope;

impl WaitScope {
    fn enter() -> Self {
        IN_WAIT.with(|flag| flag.set(true));
        Self
    }
}

impl Drop for WaitScope {
    fn drop(&mut self) {
        IN_WAIT.with(|flag| flag.set(false));
        reacquire_gil_after_park();
    }
}

#[pymethods]
impl PyDriver {
    #[new]
    fn new() -> PyResult<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .max_blocking_threads(64)
            // The GIL stays held while Tokio runs tasks (handlers need it anyway) and
            // is released only while the thread sleeps: one release per idle period
            // instead of an acquire/release pair per request.
            .on_thread_park(release_gil_while_parked)
            .on_thread_unpark(reacquire_gil_after_park)
            .build()?;
        Ok(Self {
            inner: ThreadBound::new(DriverState {
                runtime: DriverRuntime(Some(runtime)),
                local: LocalSet::new(),
                shared: Rc::new(LoopShared::new()),
                epoll: RefCell::new(None),
            }),
        })
    }

    /// Attaches the asyncio loop this driver serves (reads its ready queue and timer
    /// heap to know when to hand control back).
    fn bind_loop(&self, event_loop: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = event_loop.py();
        let this = self.state()?;
        *this.shared.ready.borrow_mut() = event_loop
            .getattr(intern!(py, "_ready"))
            .ok()
            .map(Bound::unbind);
        *this.shared.scheduled.borrow_mut() = event_loop
            .getattr(intern!(py, "_scheduled"))
            .ok()
            .map(Bound::unbind);
        *this.shared.asyncio_loop.borrow_mut() = Some(event_loop.clone().unbind());
        Ok(())
    }

    /// Runs Tokio until asyncio has something to do: `epoll_fd` readable, `timeout`
    /// seconds elapsed (`None`: no timer), or handler code scheduled asyncio work.
    /// `timeout == 0` still gives Tokio one non-blocking turn.
    #[pyo3(signature = (epoll_fd, timeout))]
    fn wait(&self, py: Python<'_>, epoll_fd: RawFd, timeout: Option<f64>) -> PyResult<()> {
        let this = self.state()?;
        if let Some(scheduled) = this.shared.scheduled.borrow().as_ref() {
            // SAFETY: a live list object; the GIL is held.
            this.shared
                .scheduled_len
                .set(unsafe { ffi::PyObject_Size(scheduled.as_ptr()) });
        }
        this.ensure_epoll(epoll_fd)?;
        let _ = py;
        let _scope = WaitScope::enter();
        this.local.block_on(&this.runtime, this.wait_inner(timeout));
        Ok(())
    }
}

impl DriverState {
    /// A new future of the bound asyncio loop (`loop.create_future()`).
    pub fn create_future(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let event_loop = self.shared.asyncio_loop.borrow();
        let event_loop = event_loop.as_ref().ok_or_else(|| {
            pyo3::exceptions::PyRuntimeError::new_err(
                "the driver has no event loop; call bind_loop first",
            )
        })?;
        event_loop.call_method0(py, intern!(py, "create_future"))
    }

    fn ensure_epoll(&self, fd: RawFd) -> PyResult<()> {
        let mut slot = self.epoll.borrow_mut();
        if slot.as_ref().is_some_and(|(original, _)| *original == fd) {
            return Ok(());
        }
        // SAFETY: `dup` of a descriptor asyncio keeps open; on success we own the copy.
        let copy = unsafe { libc::dup(fd) };
        if copy < 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        // SAFETY: `copy` is a fresh descriptor nobody else owns.
        let owned = unsafe { OwnedFd::from_raw_fd(copy) };
        let _guard = self.runtime.enter();
        // SAFETY: we own `owned`; it stays open until the AsyncFd is dropped.
        let registered =
            unsafe { AsyncFd::register_with_interest(owned, tokio::io::Interest::READABLE) }
                .map_err(std::io::Error::from)?;
        *slot = Some((fd, registered));
        Ok(())
    }

    // The epoll slot is only replaced by `ensure_epoll`, which runs before `wait` enters
    // this future and never while it runs (same thread, no re-entry), so the shared
    // borrow cannot conflict.
    #[allow(clippy::await_holding_refcell_ref)]
    async fn wait_inner(&self, timeout: Option<f64>) {
        if timeout == Some(0.0) {
            tokio::task::yield_now().await;
            return;
        }
        let epoll = self.epoll.borrow();
        let Some((_, epoll)) = epoll.as_ref() else {
            return;
        };
        let sleep = async {
            match timeout {
                Some(seconds) => {
                    tokio::time::sleep(Duration::from_secs_f64(seconds.max(0.0))).await;
                }
                None => std::future::pending().await,
            }
        };
        let readable = async {
            loop {
                let Ok(mut guard) = epoll.readable().await else {
                    return;
                };
                if has_events(epoll.get_ref().as_raw_fd()) {
                    return;
                }
                guard.clear_ready();
            }
        };
        tokio::select! {
            () = self.shared.wake.notified() => {}
            () = sleep => {}
            () = readable => {}
        }
    }
}

/// Whether an epoll instance has events pending, without consuming them.
fn has_events(fd: RawFd) -> bool {
    let mut poll = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: `poll` points to one valid pollfd for the duration of the call.
    let ready = unsafe { libc::poll(&mut poll, 1, 0) };
    ready > 0 && (poll.revents & libc::POLLIN) != 0
}
