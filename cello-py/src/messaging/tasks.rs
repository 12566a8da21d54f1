//! Settling asyncio futures from messaging work on the worker's Tokio runtime.

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use cello_protocols::messaging::{MessagingError, Subscription};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyList;

use super::delivery::PyDelivery;
use super::errors::to_py;
use crate::driver::PyDriver;

/// Runs `work` on the driver's runtime (without the GIL), then settles `future` with
/// `convert`'s value or the mapped error; a future cancelled meanwhile is left alone.
///
/// `work` is polled once at once: what is ready already (a Kafka ack, a batch of
/// deliveries waiting in the channel) settles `future` before this returns, and the
/// caller's `await` goes on without a trip through the event loop.
pub fn resolve<T: 'static>(
    driver: &Py<PyDriver>,
    future: Py<PyAny>,
    work: impl Future<Output = Result<T, MessagingError>> + 'static,
    convert: impl FnOnce(Python<'_>, T) -> PyResult<Py<PyAny>> + 'static,
) -> PyResult<()> {
    let state = driver.get().state()?;
    let loop_shared = state.shared.clone();
    let _entered = state.runtime.enter();
    let mut work = Box::pin(work);
    if let Poll::Ready(outcome) = work.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Python::attach(move |py| deliver(py, &future, outcome, convert));
        return Ok(());
    }
    state.local.spawn_local(async move {
        let outcome = work.await;
        Python::attach(move |py| {
            deliver(py, &future, outcome, convert);
            drop(future);
            loop_shared.after_python(py);
        });
    });
    Ok(())
}

/// `resolve` for work without a value: `future` gets None.
pub fn resolve_none(
    driver: &Py<PyDriver>,
    future: Py<PyAny>,
    work: impl Future<Output = Result<(), MessagingError>> + 'static,
) -> PyResult<()> {
    resolve(driver, future, work, |py, ()| Ok(py.None()))
}

fn deliver<T>(
    py: Python<'_>,
    future: &Py<PyAny>,
    outcome: Result<T, MessagingError>,
    convert: impl FnOnce(Python<'_>, T) -> PyResult<Py<PyAny>>,
) {
    let value = match outcome {
        Ok(value) => convert(py, value),
        Err(error) => Err(to_py(py, &error)),
    };
    let target = future.bind(py);
    let pending = target
        .call_method0(intern!(py, "done"))
        .and_then(|done| done.is_truthy())
        .map(|done| !done);
    let delivered = pending.and_then(|pending| {
        if !pending {
            return Ok(());
        }
        match value {
            Ok(value) => target.call_method1(intern!(py, "set_result"), (value,)),
            Err(error) => {
                target.call_method1(intern!(py, "set_exception"), (error.into_value(py),))
            }
        }
        .map(drop)
    });
    if let Err(error) = delivered {
        error.print(py);
    }
}

/// Resolves `future` with `subscription`'s next `Delivery`, or None once it stopped.
pub fn next_delivery<S: Subscription + 'static>(
    subscription: &Arc<S>,
    driver: &Py<PyDriver>,
    future: Py<PyAny>,
) -> PyResult<()> {
    let subscription = Arc::clone(subscription);
    let handle = Python::attach(|py| driver.clone_ref(py));
    resolve(
        driver,
        future,
        async move { Ok(subscription.next().await) },
        move |py, delivery| match delivery {
            None => Ok(py.None()),
            Some(delivery) => Ok(Py::new(py, PyDelivery::new(delivery, handle))?.into_any()),
        },
    )
}

/// Resolves `future` with a list of up to `max` deliveries (waiting for the first only),
/// or [] once it stopped.
pub fn next_deliveries<S: Subscription + 'static>(
    subscription: &Arc<S>,
    driver: &Py<PyDriver>,
    future: Py<PyAny>,
    max: usize,
) -> PyResult<()> {
    let subscription = Arc::clone(subscription);
    let handle = Python::attach(|py| driver.clone_ref(py));
    resolve(
        driver,
        future,
        async move { Ok(subscription.next_batch(max.max(1)).await) },
        move |py, deliveries| {
            let list = PyList::empty(py);
            for delivery in deliveries {
                list.append(Py::new(
                    py,
                    PyDelivery::new(delivery, handle.clone_ref(py)),
                )?)?;
            }
            Ok(list.into_any().unbind())
        },
    )
}
