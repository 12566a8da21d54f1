//! `request.session`: the session layer's handle as a dict-like Python object. Values
//! are stored as JSON, so what comes back is a copy: reassign a nested dict you changed.

use cello_middleware::SessionHandle;
use pyo3::exceptions::{PyKeyError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::json;

/// The session of the request being handled (``app.enable_session(...)``).
#[pyclass(name = "Session", module = "cello._cello", frozen)]
pub struct PySession {
    handle: SessionHandle,
}

impl PySession {
    pub fn new(handle: SessionHandle) -> Self {
        Self { handle }
    }
}

fn to_json(value: &Bound<'_, PyAny>) -> PyResult<serde_json::Value> {
    let bytes = json::encode(value)?;
    serde_json::from_slice(&bytes)
        .map_err(|error| PyValueError::new_err(format!("session values must be JSON: {error}")))
}

fn to_python<'py>(py: Python<'py>, value: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    let bytes =
        serde_json::to_vec(value).map_err(|error| PyValueError::new_err(error.to_string()))?;
    json::decode(py, &bytes)
}

#[pymethods]
impl PySession {
    fn __getitem__<'py>(&self, py: Python<'py>, key: &str) -> PyResult<Bound<'py, PyAny>> {
        match self.handle.get(key) {
            Some(value) => to_python(py, &value),
            None => Err(PyKeyError::new_err(key.to_owned())),
        }
    }

    fn __setitem__(&self, key: String, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.handle
            .insert(key, to_json(value)?)
            .map(|_| ())
            .map_err(|error| PyValueError::new_err(error.to_string()))
    }

    fn __delitem__(&self, key: &str) -> PyResult<()> {
        self.handle
            .remove(key)
            .map(|_| ())
            .ok_or_else(|| PyKeyError::new_err(key.to_owned()))
    }

    fn __contains__(&self, key: &str) -> bool {
        self.handle.contains(key)
    }

    fn __len__(&self) -> usize {
        self.handle.len()
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        PyList::new(py, self.handle.keys())?
            .into_any()
            .try_iter()
            .map(Bound::into_any)
    }

    /// The value under `key`, or `default`.
    #[pyo3(signature = (key, default = None))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        key: &str,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        match self.handle.get(key) {
            Some(value) => to_python(py, &value),
            None => Ok(default.unwrap_or_else(|| py.None().into_bound(py))),
        }
    }

    /// Removes `key` and returns its value (or `default`; KeyError without one).
    #[pyo3(signature = (key, default = None))]
    fn pop<'py>(
        &self,
        py: Python<'py>,
        key: &str,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        match (self.handle.remove(key), default) {
            (Some(value), _) => to_python(py, &value),
            (None, Some(default)) => Ok(default),
            (None, None) => Err(PyKeyError::new_err(key.to_owned())),
        }
    }

    fn keys(&self) -> Vec<String> {
        self.handle.keys()
    }

    fn items<'py>(&self, py: Python<'py>) -> PyResult<Vec<(String, Bound<'py, PyAny>)>> {
        self.handle
            .data()
            .iter()
            .map(|(key, value)| Ok((key.clone(), to_python(py, value)?)))
            .collect()
    }

    /// Empties the session (it is deleted from the store when the response is sent).
    fn clear(&self) {
        self.handle.clear();
    }

    /// Gives the session a new id, keeping its data: call it on login, against session
    /// fixation (changing an auth key such as ``user_id`` does it too).
    fn regenerate(&self) {
        self.handle.regenerate();
    }

    /// Deletes the session and expires its cookie (logout).
    fn destroy(&self) {
        self.handle.destroy();
    }

    /// Whether the session was created by this request.
    #[getter]
    fn is_new(&self) -> bool {
        self.handle.is_new()
    }

    /// Whether this request changed the session (it will be saved).
    #[getter]
    fn modified(&self) -> bool {
        self.handle.is_dirty()
    }

    fn __repr__(&self) -> String {
        format!("<Session keys={:?}>", self.handle.keys())
    }
}
