//! The one place messaging errors become Python exceptions: the classes live in
//! `cello.messaging.errors`, looked up once by name.

use cello_protocols::messaging::MessagingError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyModule;

static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// The Python exception for `error`; its text is the Rust error's, with the source chain.
pub fn to_py(py: Python<'_>, error: &MessagingError) -> PyErr {
    build(py, error).unwrap_or_else(|failed| failed)
}

fn build(py: Python<'_>, error: &MessagingError) -> PyResult<PyErr> {
    let module = MODULE.get_or_try_init(py, || {
        Ok::<_, PyErr>(py.import("cello.messaging.errors")?.unbind())
    })?;
    let name = match error {
        MessagingError::Connect { .. }
        | MessagingError::Unavailable { .. }
        | MessagingError::Closed => "BrokerConnectionError",
        MessagingError::AlreadySettled(_) => "MessageSettledError",
        MessagingError::Config(_)
        | MessagingError::NotConfirmed { .. }
        | MessagingError::Broker { .. } => "BrokerError",
    };
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text = format!("{text}: {cause_text}");
        }
        source = cause.source();
    }
    let exception = module.bind(py).getattr(name)?.call1((text,))?;
    Ok(PyErr::from_value(exception))
}
