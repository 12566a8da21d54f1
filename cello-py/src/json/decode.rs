//! JSON bytes → Python objects.

use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};
use simd_json::{Node, StaticNode};

use super::MAX_DEPTH;

/// Parses JSON `input` into Python objects (dict, list, str, int, float, bool, None).
///
/// simd-json does the parsing. The rare documents it refuses or would change go
/// through Python's `json.loads` instead: integers beyond 64 bits (exact there),
/// escaped lone surrogates (simd-json turns `"\ud800"` into U+0000), and invalid
/// JSON (`json.JSONDecodeError` says the line and column of the mistake).
///
/// What the encoder could not send back is refused here, as a `ValueError` (a 400 from
/// `request.json()`) rather than a 500 later: `NaN` and `Infinity` (not JSON), numbers
/// beyond the float range (`1e999999`, which would become infinity), lone surrogates
/// (`"\ud800"`: not Unicode text; a valid surrogate pair is fine) and nesting deeper
/// than [`MAX_DEPTH`].
pub fn decode<'py>(py: Python<'py>, input: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    if !has_surrogate_escape(input) {
        let mut scratch = input.to_vec();
        if let Ok(tape) = simd_json::to_tape(&mut scratch) {
            let nodes = tape.0;
            let mut index = 0;
            return build(py, &nodes, &mut index, 0);
        }
    } else if let Some(offset) = lone_surrogate(input) {
        return Err(PyValueError::new_err(format!(
            "JSON string has a lone surrogate escape at byte {offset}: \\uD800-\\uDFFF \
             must come in pairs (high then low) to be Unicode text"
        )));
    }
    if nesting_exceeds(input, MAX_DEPTH) {
        return Err(too_deep());
    }
    python_loads(py, input)
}

fn too_deep() -> PyErr {
    PyValueError::new_err(format!(
        "JSON document nested deeper than {MAX_DEPTH} levels"
    ))
}

/// Whether arrays and objects in `input` nest deeper than `limit` (brackets inside
/// strings do not count). Run only on the rare fallback path.
fn nesting_exceeds(input: &[u8], limit: u32) -> bool {
    let mut depth: u32 = 0;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in input {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                // The outermost container is level 0, as the decoder and encoder count.
                if depth > limit + 1 {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// The byte offset of the first `\uXXXX` escape in a string of `input` that is a
/// surrogate without its partner, if any.
fn lone_surrogate(input: &[u8]) -> Option<usize> {
    let mut in_string = false;
    let mut index = 0;
    let mut pending_high: Option<usize> = None;
    while index < input.len() {
        let byte = input[index];
        if !in_string {
            if byte == b'"' {
                in_string = true;
            }
            index += 1;
            continue;
        }
        if byte == b'"' {
            if let Some(high) = pending_high {
                return Some(high);
            }
            in_string = false;
            index += 1;
            continue;
        }
        if byte != b'\\' {
            if let Some(high) = pending_high {
                return Some(high);
            }
            index += 1;
            continue;
        }
        let escape = input.get(index + 1).copied();
        if escape != Some(b'u') {
            if let Some(high) = pending_high {
                return Some(high);
            }
            index += 2;
            continue;
        }
        let unit = input
            .get(index + 2..index + 6)
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u16::from_str_radix(hex, 16).ok());
        match unit {
            Some(0xD800..=0xDBFF) => {
                if let Some(high) = pending_high {
                    return Some(high);
                }
                pending_high = Some(index);
            }
            Some(0xDC00..=0xDFFF) => {
                if pending_high.take().is_none() {
                    return Some(index);
                }
            }
            _ => {
                if let Some(high) = pending_high {
                    return Some(high);
                }
            }
        }
        index += 6;
    }
    pending_high
}

fn out_of_range() -> PyErr {
    PyValueError::new_err(
        "JSON number is beyond the range of a float (it would become infinity, which JSON cannot express)",
    )
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

/// Whether `input` contains an escape in `\uD800`..`\uDFFF`.
fn has_surrogate_escape(input: &[u8]) -> bool {
    input.windows(4).any(|window| {
        window[0] == b'\\'
            && window[1] == b'u'
            && (window[2] | 0x20) == b'd'
            && matches!(window[3] | 0x20, b'8' | b'9' | b'a'..=b'f')
    })
}

fn build<'py>(
    py: Python<'py>,
    nodes: &[Node<'_>],
    index: &mut usize,
    depth: u32,
) -> PyResult<Bound<'py, PyAny>> {
    if depth > MAX_DEPTH {
        return Err(too_deep());
    }
    let node = nodes[*index];
    *index += 1;
    Ok(match node {
        Node::String(text) => PyString::new(py, text).into_any(),
        Node::Static(value) => match value {
            StaticNode::Null => py.None().into_bound(py),
            StaticNode::Bool(flag) => flag.into_pyobject(py)?.to_owned().into_any(),
            StaticNode::I64(number) => number.into_pyobject(py)?.into_any(),
            StaticNode::U64(number) => number.into_pyobject(py)?.into_any(),
            StaticNode::F64(number) if number.is_finite() => number.into_pyobject(py)?.into_any(),
            StaticNode::F64(_) => return Err(out_of_range()),
        },
        Node::Array { len, .. } => {
            let list = PyList::empty(py);
            for _ in 0..len {
                list.append(build(py, nodes, index, depth + 1)?)?;
            }
            list.into_any()
        }
        Node::Object { len, .. } => {
            let dict = PyDict::new(py);
            for _ in 0..len {
                let Node::String(key) = nodes[*index] else {
                    unreachable!("simd-json object keys are strings");
                };
                *index += 1;
                let key = PyString::intern(py, key);
                dict.set_item(key, build(py, nodes, index, depth + 1)?)?;
            }
            dict.into_any()
        }
    })
}
