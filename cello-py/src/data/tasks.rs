//! Settling asyncio futures from tasks on the worker's Tokio runtime.

use std::future::Future;

use cello_data::DataError;
use pyo3::intern;
use pyo3::prelude::*;

use super::errors::to_py;
use crate::driver::PyDriver;

/// Runs `work` on the driver's runtime and settles `future` with `convert`'s result or
/// the mapped error. A future cancelled meanwhile is left alone (the work still ends,
/// and whatever it holds, such as a connection, is released).
pub fn spawn<T: 'static>(
    driver: &Py<PyDriver>,
    future: Py<PyAny>,
    work: impl Future<Output = Result<T, DataError>> + 'static,
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
                    .map_err(|error| to_py(py, &error))
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
