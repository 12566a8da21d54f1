//! Settling asyncio futures from tasks on the worker's Tokio runtime.

use std::future::Future;

use cello_data::DataError;
use pyo3::intern;
use pyo3::prelude::*;

use super::errors::to_py;
use crate::driver::PyDriver;

/// An error a task can settle its future with: its Python exception.
pub trait IntoPyException {
    fn to_exception(&self, py: Python<'_>) -> PyErr;
}

impl IntoPyException for DataError {
    fn to_exception(&self, py: Python<'_>) -> PyErr {
        to_py(py, self)
    }
}

/// Runs `work` on the driver's runtime and settles `future` with `convert`'s result or
/// the mapped error. A future cancelled meanwhile is left alone (the work still ends,
/// and whatever it holds, such as a connection, is released).
pub fn spawn<T: 'static>(
    driver: &Py<PyDriver>,
    future: Py<PyAny>,
    work: impl Future<Output = Result<T, DataError>> + 'static,
    convert: impl FnOnce(Python<'_>, T) -> PyResult<Py<PyAny>> + 'static,
) -> PyResult<()> {
    spawn_fallible(driver, future, work, convert)
}

/// [`spawn`] for work failing with any error that has a Python exception.
pub fn spawn_fallible<T: 'static, E: IntoPyException + 'static>(
    driver: &Py<PyDriver>,
    future: Py<PyAny>,
    work: impl Future<Output = Result<T, E>> + 'static,
    convert: impl FnOnce(Python<'_>, T) -> PyResult<Py<PyAny>> + 'static,
) -> PyResult<()> {
    let state = driver.get().state()?;
    let shared = state.shared.clone();
    let _guard = state.runtime.enter();
    state.local.spawn_local(async move {
        let result = work.await;
        Python::attach(|py| {
            let settled = settle(
                py,
                &future,
                result
                    .map_err(|error| error.to_exception(py))
                    .and_then(|value| convert(py, value)),
            );
            if let Err(error) = settled {
                error.print(py);
            }
            drop(future);
            shared.after_python(py);
        });
    });
    Ok(())
}

fn settle(py: Python<'_>, future: &Py<PyAny>, result: PyResult<Py<PyAny>>) -> PyResult<()> {
    let future = future.bind(py);
    if future.call_method0(intern!(py, "done"))?.is_truthy()? {
        return Ok(());
    }
    match result {
        Ok(value) => future.call_method1(intern!(py, "set_result"), (value,))?,
        Err(error) => future.call_method1(intern!(py, "set_exception"), (error.into_value(py),))?,
    };
    Ok(())
}
