//! Read-only, multi-valued views of headers and query parameters.

use std::sync::Arc;

use http::header::HeaderName;
use http::HeaderMap;
use pyo3::exceptions::PyKeyError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

/// Request headers: case-insensitive names, several values per name.
///
/// `headers["Accept"]` is the first value, `headers.getlist("accept")` all of them.
#[pyclass(name = "Headers", module = "cello._cello", frozen, mapping)]
pub struct PyHeaders {
    map: Arc<HeaderMap>,
}

impl PyHeaders {
    pub fn new(map: Arc<HeaderMap>) -> Self {
        Self { map }
    }

    fn name(key: &str) -> Option<HeaderName> {
        HeaderName::from_bytes(key.as_bytes()).ok()
    }

    fn first(&self, key: &str) -> Option<String> {
        let name = Self::name(key)?;
        self.map
            .get(name)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
    }
}

#[pymethods]
impl PyHeaders {
    fn __getitem__(&self, key: &str) -> PyResult<String> {
        self.first(key)
            .ok_or_else(|| PyKeyError::new_err(key.to_owned()))
    }

    /// The first value of header `key`, or `default`.
    #[pyo3(signature = (key, default = None))]
    fn get(&self, py: Python<'_>, key: &str, default: Option<Py<PyAny>>) -> PyResult<Py<PyAny>> {
        match self.first(key) {
            Some(value) => Ok(value.into_pyobject(py)?.into_any().unbind()),
            None => Ok(default.unwrap_or_else(|| py.None())),
        }
    }

    /// Every value of header `key`, in order (empty when absent).
    fn getlist(&self, key: &str) -> Vec<String> {
        let Some(name) = Self::name(key) else {
            return Vec::new();
        };
        self.map
            .get_all(name)
            .iter()
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
            .collect()
    }

    /// Same as `getlist` (aiohttp's and Litestar's name).
    fn get_all(&self, key: &str) -> Vec<String> {
        self.getlist(key)
    }

    fn __contains__(&self, key: &str) -> bool {
        Self::name(key).is_some_and(|name| self.map.contains_key(name))
    }

    fn __len__(&self) -> usize {
        self.map.keys_len()
    }

    /// Header names, lower case, each once.
    fn keys(&self) -> Vec<String> {
        self.map
            .keys()
            .map(|name| name.as_str().to_owned())
            .collect()
    }

    /// The first value of each header.
    fn values(&self) -> Vec<String> {
        self.map
            .keys()
            .filter_map(|name| self.first(name.as_str()))
            .collect()
    }

    /// `(name, value)` for every value of every header, in arrival order per name.
    fn items<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let items = PyList::empty(py);
        for (name, value) in self.map.iter() {
            let value = String::from_utf8_lossy(value.as_bytes());
            items.append(PyTuple::new(py, [name.as_str(), value.as_ref()])?)?;
        }
        Ok(items)
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        PyList::new(py, self.keys())?
            .try_iter()
            .map(Bound::into_any)
    }

    fn __repr__(&self) -> String {
        let pairs: Vec<String> = self
            .map
            .iter()
            .map(|(name, value)| {
                format!(
                    "{:?}: {:?}",
                    name.as_str(),
                    String::from_utf8_lossy(value.as_bytes())
                )
            })
            .collect();
        format!("Headers({{{}}})", pairs.join(", "))
    }
}

/// Query parameters: `query["a"]` is the last value, `query.getlist("a")` all of them.
#[pyclass(name = "QueryParams", module = "cello._cello", frozen, mapping)]
pub struct PyQueryParams {
    pairs: Vec<(String, String)>,
}

impl PyQueryParams {
    /// Parses an `application/x-www-form-urlencoded` query string.
    pub fn parse(query: &str) -> Self {
        Self {
            pairs: form_urlencoded::parse(query.as_bytes())
                .map(|(key, value)| (key.into_owned(), value.into_owned()))
                .collect(),
        }
    }

    fn last(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
    }

    fn distinct_keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = Vec::new();
        for (name, _) in &self.pairs {
            if !keys.contains(&name.as_str()) {
                keys.push(name);
            }
        }
        keys
    }
}

#[pymethods]
impl PyQueryParams {
    #[new]
    #[pyo3(signature = (query = ""))]
    fn py_new(query: &str) -> Self {
        Self::parse(query)
    }

    fn __getitem__(&self, key: &str) -> PyResult<String> {
        self.last(key)
            .map(str::to_owned)
            .ok_or_else(|| PyKeyError::new_err(key.to_owned()))
    }

    /// The last value of `key`, or `default`.
    #[pyo3(signature = (key, default = None))]
    fn get(&self, py: Python<'_>, key: &str, default: Option<Py<PyAny>>) -> PyResult<Py<PyAny>> {
        match self.last(key) {
            Some(value) => Ok(value.into_pyobject(py)?.into_any().unbind()),
            None => Ok(default.unwrap_or_else(|| py.None())),
        }
    }

    /// Every value of `key`, in order.
    fn getlist(&self, key: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(name, _)| name == key)
            .map(|(_, value)| value.clone())
            .collect()
    }

    fn __contains__(&self, key: &str) -> bool {
        self.pairs.iter().any(|(name, _)| name == key)
    }

    fn __len__(&self) -> usize {
        self.distinct_keys().len()
    }

    fn keys(&self) -> Vec<String> {
        self.distinct_keys()
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    /// `(key, last value)` per distinct key.
    fn items(&self) -> Vec<(String, String)> {
        self.distinct_keys()
            .into_iter()
            .map(|key| {
                (
                    key.to_owned(),
                    self.last(key).unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    /// Every `(key, value)` pair in order, repeats included.
    fn multi_items(&self) -> Vec<(String, String)> {
        self.pairs.clone()
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        PyList::new(py, self.keys())?
            .try_iter()
            .map(Bound::into_any)
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        if let Ok(other) = other.cast::<PyQueryParams>() {
            return Ok(other.get().pairs == self.pairs);
        }
        let Ok(dict) = other.cast::<pyo3::types::PyDict>() else {
            return Ok(false);
        };
        let mine = self.items();
        if dict.len() != mine.len() {
            return Ok(false);
        }
        for (key, value) in mine {
            match dict.get_item(&key)? {
                Some(theirs) if theirs.extract::<String>().is_ok_and(|t| t == value) => {}
                _ => return Ok(false),
            }
        }
        Ok(true)
    }

    fn __repr__(&self) -> String {
        let pairs: Vec<String> = self
            .pairs
            .iter()
            .map(|(k, v)| format!("({k:?}, {v:?})"))
            .collect();
        format!("QueryParams([{}])", pairs.join(", "))
    }
}
