//! The one place cello-data's errors become Python exceptions: the classes live in
//! `cello.data.errors` (they inherit from builtins as well, which pyo3's
//! `create_exception!` cannot express), looked up once by name.

use cello_data::DataError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyModule;

static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// The Python exception for `error`, with `code`, `constraint` and the message; the Rust
/// error's text stays its message, and its chain is kept in `__cause__`'s place as text.
pub fn to_py(py: Python<'_>, error: &DataError) -> PyErr {
    match build(py, error) {
        Ok(exception) => exception,
        Err(failed) => failed,
    }
}

fn build(py: Python<'_>, error: &DataError) -> PyResult<PyErr> {
    let module = MODULE.get_or_try_init(py, || {
        Ok::<_, PyErr>(py.import("cello.data.errors")?.unbind())
    })?;
    let name = match error {
        DataError::PoolTimeout { .. } => "PoolTimeout",
        DataError::Connect { .. } => "ConnectError",
        DataError::Config(_) => "ConfigurationError",
        DataError::TransactionDone(_) => "TransactionClosed",
        DataError::Parameter { .. } => "ParameterValueError",
        DataError::Redis { .. } => "RedisError",
        _ => error.class().name(),
    };
    let class = module.bind(py).getattr(name)?;
    let constraint = match error {
        DataError::Database { constraint, .. } => constraint.clone(),
        _ => None,
    };
    let exception = class.call1((error.to_string(), error.code(), constraint))?;
    Ok(PyErr::from_value(exception))
}
