//! `Row`: one result row, a mapping of column names to values that also indexes by
//! position. Values become Python objects when read; a row returned from a handler is
//! encoded to JSON from the Rust values (`json::encode` knows this class).

use cello_data::Row;
use pyo3::exceptions::{PyIndexError, PyKeyError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use super::convert::to_python;

/// A result row: ``row["name"]``, ``row[0]``, ``dict(row)``, ``row.get("x")``.
#[pyclass(name = "Row", module = "cello._cello", frozen)]
pub struct PyRow {
    pub row: Row,
}

impl PyRow {
    fn index_of(&self, key: &Bound<'_, PyAny>) -> PyResult<Option<usize>> {
        if let Ok(name) = key.cast::<PyString>() {
            return Ok(self.row.columns().index_of(name.to_str()?));
        }
        if let Ok(position) = key.extract::<isize>() {
            let len = isize::try_from(self.row.len()).unwrap_or(isize::MAX);
            let position = if position < 0 {
                position + len
            } else {
                position
            };
            return Ok(usize::try_from(position)
                .ok()
                .filter(|index| *index < self.row.len()));
        }
        Err(PyTypeError::new_err(
            "a row is indexed by column name (str) or position (int)",
        ))
    }

    pub fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (name, value) in self.row.columns().names().iter().zip(self.row.values()) {
            dict.set_item(&**name, to_python(py, value)?)?;
        }
        Ok(dict)
    }
}

#[pymethods]
impl PyRow {
    fn __getitem__<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        match self.index_of(key)? {
            Some(index) => to_python(py, &self.row.values()[index]),
            None if key.cast::<PyString>().is_ok() => {
                Err(PyKeyError::new_err(key.clone().unbind()))
            }
            None => Err(PyIndexError::new_err("row index out of range")),
        }
    }

    #[pyo3(signature = (key, default = None))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        match self.index_of(key)? {
            Some(index) => to_python(py, &self.row.values()[index]),
            None => Ok(default.unwrap_or_else(|| py.None().into_bound(py))),
        }
    }

    fn __len__(&self) -> usize {
        self.row.len()
    }

    fn __contains__(&self, name: &Bound<'_, PyAny>) -> PyResult<bool> {
        Ok(match name.cast::<PyString>() {
            Ok(name) => self.row.columns().index_of(name.to_str()?).is_some(),
            Err(_) => false,
        })
    }

    /// Iterates over the column names, as a dict does (``dict(row)`` works too).
    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.keys(py)?.as_any().try_iter().map(Bound::into_any)
    }

    fn keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.row.columns().names().iter().map(|name| &**name))
    }

    fn values<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for value in self.row.values() {
            list.append(to_python(py, value)?)?;
        }
        Ok(list)
    }

    fn items<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for (name, value) in self.row.columns().names().iter().zip(self.row.values()) {
            list.append(PyTuple::new(
                py,
                [PyString::new(py, name).into_any(), to_python(py, value)?],
            )?)?;
        }
        Ok(list)
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        if let Ok(other) = other.cast::<PyRow>() {
            return Ok(self.row == other.get().row);
        }
        if other.cast::<PyDict>().is_ok() {
            return self.to_dict(py)?.eq(other);
        }
        Ok(false)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let mut parts = Vec::with_capacity(self.row.len());
        for (name, value) in self.row.columns().names().iter().zip(self.row.values()) {
            parts.push(format!("{name}={}", to_python(py, value)?.repr()?));
        }
        Ok(format!("Row({})", parts.join(", ")))
    }
}
