//! Python values ↔ GraphQL values, shaped by the field's type.

use cello_protocols::graphql::{Name, Output, Selection, Shape, Value};
use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType};

/// An argument or variable value as a Python object.
pub fn to_python<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Boolean(flag) => PyBool::new(py, *flag).to_owned().into_any(),
        Value::Number(number) => match (number.as_i64(), number.as_u64()) {
            (Some(int), _) => int.into_pyobject(py)?.into_any(),
            (None, Some(int)) => int.into_pyobject(py)?.into_any(),
            _ => PyFloat::new(py, number.as_f64().unwrap_or(f64::NAN)).into_any(),
        },
        Value::String(text) => PyString::new(py, text).into_any(),
        Value::Enum(name) => PyString::new(py, name.as_str()).into_any(),
        Value::Binary(bytes) => PyBytes::new(py, bytes).into_any(),
        Value::List(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_python(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (key, item) in map {
                dict.set_item(key.as_str(), to_python(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

/// A resolver's value as an [`Output`] of the field's shape; `type_of` names the
/// concrete type of objects returned for interface and union fields. An untyped field's
/// value is trimmed to its `selection`.
pub fn to_output(
    value: &Bound<'_, PyAny>,
    shape: &Shape,
    type_of: &Py<PyAny>,
    selection: Option<&Selection>,
) -> PyResult<Output<Py<PyAny>>> {
    if value.is_none() {
        return Ok(Output::Null);
    }
    match shape {
        Shape::Leaf => Ok(Output::Leaf(match selection {
            Some(selection) => trimmed(value, selection)?,
            None => to_value(value)?,
        })),
        Shape::Object { abstract_type } => {
            let name = if *abstract_type {
                Some(
                    type_of
                        .call1(value.py(), (value,))?
                        .extract::<String>(value.py())?,
                )
            } else {
                None
            };
            Ok(Output::Object(value.clone().unbind(), name))
        }
        Shape::List(inner) => {
            if value.is_instance_of::<PyString>() || value.is_instance_of::<PyDict>() {
                return Err(PyTypeError::new_err(format!(
                    "a list field got a {}; return a list or another iterable",
                    value.get_type().name()?
                )));
            }
            let mut items = Vec::new();
            for item in value.try_iter()? {
                items.push(to_output(&item?, inner, type_of, selection)?);
            }
            Ok(Output::List(items))
        }
    }
}

/// An untyped value trimmed to a sub-selection, as the original framework did: dicts by
/// key, other objects by attribute (a missing one is null), and a callable value (a
/// method) called without arguments; lists item by item.
pub fn trimmed(value: &Bound<'_, PyAny>, selection: &Selection) -> PyResult<Value> {
    if value.is_none() {
        return Ok(Value::Null);
    }
    if selection.fields.is_empty() || is_scalar(value) {
        return to_value(value);
    }
    if !value.is_instance_of::<PyDict>()
        && (value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>())
    {
        let items = value
            .try_iter()?
            .map(|item| trimmed(&item?, selection))
            .collect::<PyResult<_>>()?;
        return Ok(Value::List(items));
    }
    let dict = value.cast::<PyDict>().ok();
    let mut map = async_graphql_map();
    for field in &selection.fields {
        let item = match dict {
            Some(dict) => dict.get_item(field.name.as_str())?,
            None => value.getattr_opt(field.name.as_str())?,
        };
        let item = match item {
            Some(item) if item.is_callable() && !item.is_instance_of::<PyType>() => item.call0()?,
            Some(item) => item,
            None => value.py().None().into_bound(value.py()),
        };
        map.insert(field.key.clone(), trimmed(&item, &field.selection)?);
    }
    Ok(Value::Object(map))
}

fn is_scalar(value: &Bound<'_, PyAny>) -> bool {
    value.is_instance_of::<PyString>()
        || value.is_instance_of::<PyInt>()
        || value.is_instance_of::<PyFloat>()
        || value.is_instance_of::<PyBool>()
        || value.is_instance_of::<PyBytes>()
}

/// A scalar or enum value (JSON-like Python values; enum members by name).
pub fn to_value(value: &Bound<'_, PyAny>) -> PyResult<Value> {
    let py = value.py();
    if value.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(flag) = value.cast::<PyBool>() {
        return Ok(Value::Boolean(flag.is_true()));
    }
    if value.is_instance_of::<PyInt>() {
        if let Ok(int) = value.extract::<i64>() {
            return Ok(Value::from(int));
        }
        // Above 64 bits: the exact digits, as a string (GraphQL's Int is 32-bit anyway).
        return Ok(Value::String(value.str()?.to_string()));
    }
    if let Ok(float) = value.cast::<PyFloat>() {
        let number = serde_json::Number::from_f64(float.value())
            .ok_or_else(|| PyTypeError::new_err("NaN and infinity are not GraphQL floats"))?;
        return Ok(Value::Number(number));
    }
    if let Ok(text) = value.cast::<PyString>() {
        return Ok(Value::String(text.to_str()?.to_owned()));
    }
    if let Ok(name) = value.getattr(intern!(py, "_name_")) {
        return Ok(Value::Enum(Name::new(name.extract::<String>()?)));
    }
    if let Ok(dict) = value.cast::<PyDict>() {
        let mut map = async_graphql_map();
        for (key, item) in dict.iter() {
            map.insert(Name::new(key.str()?.to_str()?), to_value(&item)?);
        }
        return Ok(Value::Object(map));
    }
    if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        let items = value
            .try_iter()?
            .map(|item| to_value(&item?))
            .collect::<PyResult<_>>()?;
        return Ok(Value::List(items));
    }
    Err(PyTypeError::new_err(format!(
        "a {} is not a GraphQL scalar: return str, int, float, bool, an Enum member, a dict or a list",
        value.get_type().name()?
    )))
}

fn async_graphql_map() -> cello_protocols::graphql::ValueMap {
    cello_protocols::graphql::ValueMap::default()
}
