//! Settling asyncio futures from messaging work on the worker's Tokio runtime.

use std::future::Future;

use cello_protocols::messaging::MessagingError;
use pyo3::intern;
use pyo3::prelude::*;

use super::errors::to_py;
use crate::driver::PyDriver;

/// Runs `work` on the driver's runtime (without the GIL), then settles `future` with
/// `convert`'s value or the mapped error; a future cancelled meanwhile is left alone.
pub fn resolve<T: 'static>(
    driver: &Py<PyDriver>,
    future: Py<PyAny>,
    work: impl Future<Output = Result<T, MessagingError>> + 'static,
    convert: impl FnOnce(Python<'_>, T) -> PyResult<Py<PyAny>> + 'static,
) -> PyResult<()> {
    let state = driver.get().state()?;
    let loop_shared = state.shared.clone();
    let _entered = state.runtime.enter();
    state.local.spawn_local(async move {
        let outcome = work.await;
        Python::attach(move |py| {
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
            drop(future);
            loop_shared.after_python(py);
        });
    });
    Ok(())
}
