//! JSON bytes → Python objects: `cello_json::decode` walks simd-json's tape and this
//! builder makes the Python objects, in one pass.

use cello_json::{Builder, Refusal};
use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};

/// Parses JSON `input` into Python objects (dict, list, str, int, float, bool, None).
///
/// The rare documents simd-json refuses or would change go through Python's
/// `json.loads` instead: integers beyond 64 bits (exact there), escaped surrogates, and
/// invalid JSON (`json.JSONDecodeError` says the line and column of the mistake).
///
/// What the encoder could not send back is refused here, as a `ValueError` (a 400 from
/// `request.json()`) rather than a 500 later: `NaN` and `Infinity` (not JSON), numbers
/// beyond the float range (`1e999999`, which would become infinity), lone surrogates
/// (`"\ud800"`: not Unicode text; a valid surrogate pair is fine) and nesting deeper
/// than `cello_json::MAX_DEPTH` (see `cello_json::Refusal`).
pub fn decode<'py>(py: Python<'py>, input: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    cello_json::decode(&mut PyObjects { py }, input).map_err(|error| error.0)
}

/// A `PyErr` that a `Refusal` converts into (as a `ValueError`).
struct DecodeError(PyErr);

impl From<Refusal> for DecodeError {
    fn from(refusal: Refusal) -> Self {
        Self(PyValueError::new_err(refusal.to_string()))
    }
}

impl From<std::convert::Infallible> for DecodeError {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}

impl From<PyErr> for DecodeError {
    fn from(error: PyErr) -> Self {
        Self(error)
    }
}

struct PyObjects<'py> {
    py: Python<'py>,
}

impl<'py> Builder for PyObjects<'py> {
    type Value = Bound<'py, PyAny>;
    type Error = DecodeError;

    fn null(&mut self) -> Result<Self::Value, DecodeError> {
        Ok(self.py.None().into_bound(self.py))
    }

    fn bool(&mut self, value: bool) -> Result<Self::Value, DecodeError> {
        Ok(value.into_pyobject(self.py)?.to_owned().into_any())
    }

    fn i64(&mut self, value: i64) -> Result<Self::Value, DecodeError> {
        Ok(value.into_pyobject(self.py)?.into_any())
    }

    fn u64(&mut self, value: u64) -> Result<Self::Value, DecodeError> {
        Ok(value.into_pyobject(self.py)?.into_any())
    }

    fn f64(&mut self, value: f64) -> Result<Self::Value, DecodeError> {
        Ok(value.into_pyobject(self.py)?.into_any())
    }

    fn string(&mut self, text: &str) -> Result<Self::Value, DecodeError> {
        Ok(PyString::new(self.py, text).into_any())
    }

    fn array(&mut self, _len: usize) -> Result<Self::Value, DecodeError> {
        Ok(PyList::empty(self.py).into_any())
    }

    fn push(&mut self, array: &mut Self::Value, item: Self::Value) -> Result<(), DecodeError> {
        // `array` is the list `array()` made: the downcast is a type check that holds.
        Ok(array.cast::<PyList>().map_err(PyErr::from)?.append(item)?)
    }

    fn object(&mut self, _len: usize) -> Result<Self::Value, DecodeError> {
        Ok(PyDict::new(self.py).into_any())
    }

    fn insert(
        &mut self,
        object: &mut Self::Value,
        key: &str,
        value: Self::Value,
    ) -> Result<(), DecodeError> {
        let key = PyString::intern(self.py, key);
        Ok(object
            .cast::<PyDict>()
            .map_err(PyErr::from)?
            .set_item(key, value)?)
    }

    fn fallback(&mut self, input: &[u8]) -> Result<Self::Value, DecodeError> {
        Ok(python_loads(self.py, input)?)
    }
}

fn python_loads<'py>(py: Python<'py>, input: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let helpers = py.import(intern!(py, "cello._json"))?;
    let kwargs = PyDict::new(py);
    kwargs.set_item(
        intern!(py, "parse_constant"),
        helpers.getattr(intern!(py, "refuse_constant"))?,
    )?;
    kwargs.set_item(
        intern!(py, "parse_float"),
        helpers.getattr(intern!(py, "finite_float"))?,
    )?;
    py.import(intern!(py, "json"))?.call_method(
        intern!(py, "loads"),
        (PyBytes::new(py, input),),
        Some(&kwargs),
    )
}
