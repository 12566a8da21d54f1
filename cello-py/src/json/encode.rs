//! Python object → JSON bytes.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use super::types::known;
use super::MAX_DEPTH;

/// Encodes `value` to JSON bytes.
pub fn encode(value: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    let mut out = Vec::with_capacity(128);
    encode_into(value, &mut out)?;
    Ok(out)
}

/// Appends the JSON form of `value` to `out`.
///
/// dict, list, tuple, str, int (exact at any size), float (finite only), bool and None
/// map to their JSON forms; datetime/date/time become ISO 8601 strings, UUID its
/// hyphenated string, Decimal a JSON number with its exact digits, Enum its value,
/// dataclasses and Pydantic v2 models and msgspec Structs objects of their fields.
/// Anything else is a `TypeError` naming the type.
fn encode_into(value: &Bound<'_, PyAny>, out: &mut Vec<u8>) -> PyResult<()> {
    Encoder { out }.value(value, 0)
}

struct Encoder<'o> {
    out: &'o mut Vec<u8>,
}

impl Encoder<'_> {
    fn value(&mut self, value: &Bound<'_, PyAny>, depth: u32) -> PyResult<()> {
        if depth > MAX_DEPTH {
            return Err(PyValueError::new_err(
                "cannot encode to JSON: nesting deeper than 255 levels (is there a reference cycle?)",
            ));
        }
        // Exact builtin types first: one pointer comparison each.
        if let Ok(text) = value.cast_exact::<PyString>() {
            return self.string(text);
        }
        if let Ok(dict) = value.cast_exact::<PyDict>() {
            return self.dict(dict, depth);
        }
        if let Ok(list) = value.cast_exact::<PyList>() {
            return self.list(list, depth);
        }
        if let Ok(int) = value.cast_exact::<PyInt>() {
            return self.int(int);
        }
        if value.is_none() {
            self.out.extend_from_slice(b"null");
            return Ok(());
        }
        if let Ok(flag) = value.cast_exact::<PyBool>() {
            self.out
                .extend_from_slice(if flag.is_true() { b"true" } else { b"false" });
            return Ok(());
        }
        if let Ok(float) = value.cast_exact::<PyFloat>() {
            return self.float(float.value());
        }
        if let Ok(tuple) = value.cast_exact::<PyTuple>() {
            return self.sequence(tuple.iter(), depth);
        }
        self.other(value, depth)
    }

    fn other(&mut self, value: &Bound<'_, PyAny>, depth: u32) -> PyResult<()> {
        // Database rows: written from their Rust values, no Python object per field.
        #[cfg(feature = "_sql")]
        if let Ok(row) = value.cast_exact::<crate::data::PyRow>() {
            row.get().row.write_json(self.out);
            return Ok(());
        }
        let py = value.py();
        let types = known(py)?;
        let ty = value.get_type();
        // Enum before the builtins: `class Color(str, Enum)` is also a str.
        if value.is_instance(types.enum_type.bind(py))? {
            return self.value(&value.getattr(intern!(py, "value"))?, depth + 1);
        }
        if let Ok(text) = value.cast::<PyString>() {
            return self.string(text);
        }
        if let Ok(dict) = value.cast::<PyDict>() {
            return self.dict(dict, depth);
        }
        if let Ok(list) = value.cast::<PyList>() {
            return self.list(list, depth);
        }
        if let Ok(tuple) = value.cast::<PyTuple>() {
            return self.sequence(tuple.iter(), depth);
        }
        if let Ok(int) = value.cast::<PyInt>() {
            return self.int(int);
        }
        if let Ok(float) = value.cast::<PyFloat>() {
            return self.float(float.value());
        }
        if value.is_instance(types.datetime.bind(py))?
            || value.is_instance(types.date.bind(py))?
            || value.is_instance(types.time.bind(py))?
        {
            let iso = value.call_method0(intern!(py, "isoformat"))?;
            return self.string(iso.cast::<PyString>()?);
        }
        if value.is_instance(types.uuid.bind(py))? {
            return self.string(value.str()?.as_any().cast::<PyString>()?);
        }
        if value.is_instance(types.decimal.bind(py))? {
            if !value.call_method0(intern!(py, "is_finite"))?.is_truthy()? {
                return Err(PyValueError::new_err(format!(
                    "cannot encode Decimal {} to JSON: only finite numbers have a JSON form",
                    value.str()?
                )));
            }
            self.out
                .extend_from_slice(value.str()?.to_str()?.as_bytes());
            return Ok(());
        }
        if let Ok(serializer) = ty.getattr(intern!(py, "__pydantic_serializer__")) {
            let raw = serializer.call_method1(intern!(py, "to_json"), (value,))?;
            self.out
                .extend_from_slice(raw.cast::<PyBytes>()?.as_bytes());
            return Ok(());
        }
        if ty.hasattr(intern!(py, "__struct_fields__"))? {
            let encoded = py
                .import(intern!(py, "msgspec.json"))?
                .call_method1(intern!(py, "encode"), (value,))?;
            self.out
                .extend_from_slice(encoded.cast::<PyBytes>()?.as_bytes());
            return Ok(());
        }
        if let Ok(fields) = ty.getattr(intern!(py, "__dataclass_fields__")) {
            return self.dataclass(value, fields.cast::<PyDict>()?, depth);
        }
        Err(PyTypeError::new_err(format!(
            "Object of type {} is not JSON serializable; return a dict, list, str, number, \
             bool, None, datetime, UUID, Decimal, Enum, dataclass, Pydantic model or msgspec Struct, \
             or convert it first",
            ty.name()?
        )))
    }

    fn string(&mut self, text: &Bound<'_, PyString>) -> PyResult<()> {
        write_escaped(self.out, text.to_str()?);
        Ok(())
    }

    fn int(&mut self, int: &Bound<'_, PyInt>) -> PyResult<()> {
        if let Ok(small) = int.extract::<i64>() {
            self.out
                .extend_from_slice(itoa::Buffer::new().format(small).as_bytes());
        } else {
            // Beyond 64 bits: Python's own decimal digits are exact.
            self.out.extend_from_slice(int.str()?.to_str()?.as_bytes());
        }
        Ok(())
    }

    fn float(&mut self, number: f64) -> PyResult<()> {
        if !number.is_finite() {
            return Err(PyValueError::new_err(format!(
                "cannot encode float {number} to JSON: NaN and infinity have no JSON form"
            )));
        }
        self.out
            .extend_from_slice(ryu::Buffer::new().format_finite(number).as_bytes());
        Ok(())
    }

    fn dict(&mut self, dict: &Bound<'_, PyDict>, depth: u32) -> PyResult<()> {
        self.out.push(b'{');
        let mut first = true;
        for (key, item) in dict.iter() {
            if !first {
                self.out.push(b',');
            }
            first = false;
            self.key(&key)?;
            self.out.push(b':');
            self.value(&item, depth + 1)?;
        }
        self.out.push(b'}');
        Ok(())
    }

    /// Object keys: strings as they are; int, float, bool and None as `json.dumps`
    /// writes them (`1` → `"1"`, an `IntEnum` member → its number); non-finite
    /// floats and anything else are refused.
    fn key(&mut self, key: &Bound<'_, PyAny>) -> PyResult<()> {
        if let Ok(text) = key.cast::<PyString>() {
            return self.string(text);
        }
        let text = if key.is_none() {
            "null".to_owned()
        } else if let Ok(flag) = key.cast::<PyBool>() {
            if flag.is_true() { "true" } else { "false" }.to_owned()
        } else if let Ok(int) = key.cast::<PyInt>() {
            match int.extract::<i64>() {
                Ok(small) => itoa::Buffer::new().format(small).to_owned(),
                // `int.__repr__`, not `str()`: subclasses (IntEnum) may override `__str__`.
                Err(_) => key
                    .py()
                    .get_type::<PyInt>()
                    .call_method1("__repr__", (key,))?
                    .extract()?,
            }
        } else if let Ok(float) = key.cast::<PyFloat>() {
            let number = float.value();
            if !number.is_finite() {
                return Err(PyValueError::new_err(format!(
                    "cannot encode the dict key {number} to JSON: NaN and infinity have no JSON form"
                )));
            }
            // `float.__repr__`, as `json.dumps` writes keys (`1e+20`, not `1e20`).
            key.py()
                .get_type::<PyFloat>()
                .call_method1("__repr__", (key,))?
                .extract()?
        } else {
            return Err(PyTypeError::new_err(format!(
                "JSON object keys must be str, int, float, bool or None, not {}",
                key.get_type().name()?
            )));
        };
        write_escaped(self.out, &text);
        Ok(())
    }

    fn list(&mut self, list: &Bound<'_, PyList>, depth: u32) -> PyResult<()> {
        self.sequence(list.iter(), depth)
    }

    fn sequence<'py>(
        &mut self,
        items: impl Iterator<Item = Bound<'py, PyAny>>,
        depth: u32,
    ) -> PyResult<()> {
        self.out.push(b'[');
        let mut first = true;
        for item in items {
            if !first {
                self.out.push(b',');
            }
            first = false;
            self.value(&item, depth + 1)?;
        }
        self.out.push(b']');
        Ok(())
    }

    fn dataclass(
        &mut self,
        value: &Bound<'_, PyAny>,
        fields: &Bound<'_, PyDict>,
        depth: u32,
    ) -> PyResult<()> {
        let py = value.py();
        self.out.push(b'{');
        let mut first = true;
        for (name, field) in fields.iter() {
            // Skip ClassVar and InitVar pseudo-fields, as dataclasses.asdict does.
            let kind = field.getattr(intern!(py, "_field_type"))?;
            if kind.getattr(intern!(py, "name")).map_or(true, |n| {
                n.extract::<&str>().map_or(true, |n| n != "_FIELD")
            }) {
                continue;
            }
            if !first {
                self.out.push(b',');
            }
            first = false;
            self.string(name.cast::<PyString>()?)?;
            self.out.push(b':');
            self.value(&value.getattr(name.cast::<PyString>()?)?, depth + 1)?;
        }
        self.out.push(b'}');
        Ok(())
    }
}

/// Writes `text` as a JSON string literal. Non-ASCII stays as UTF-8.
fn write_escaped(out: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..index]);
        if escape.is_empty() {
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(byte >> 4) as usize],
                HEX[(byte & 0xf) as usize],
            ]);
        } else {
            out.extend_from_slice(escape);
        }
        start = index + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}
