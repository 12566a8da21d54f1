//! Python types the encoder recognises beyond the builtins, imported once.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

/// Standard-library types with a JSON form of their own.
pub struct KnownTypes {
    pub datetime: Py<PyType>,
    pub date: Py<PyType>,
    pub time: Py<PyType>,
    pub uuid: Py<PyType>,
    pub decimal: Py<PyType>,
    pub enum_type: Py<PyType>,
}

static KNOWN: PyOnceLock<KnownTypes> = PyOnceLock::new();

/// The known types, imported on first use.
pub fn known(py: Python<'_>) -> PyResult<&KnownTypes> {
    KNOWN.get_or_try_init(py, || {
        let datetime = py.import("datetime")?;
        let get = |module: &Bound<'_, PyModule>, name: &str| -> PyResult<Py<PyType>> {
            Ok(module.getattr(name)?.cast_into::<PyType>()?.unbind())
        };
        Ok(KnownTypes {
            datetime: get(&datetime, "datetime")?,
            date: get(&datetime, "date")?,
            time: get(&datetime, "time")?,
            uuid: get(&py.import("uuid")?, "UUID")?,
            decimal: get(&py.import("decimal")?, "Decimal")?,
            enum_type: get(&py.import("enum")?, "Enum")?,
        })
    })
}
