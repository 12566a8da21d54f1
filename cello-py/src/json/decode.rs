//! JSON bytes → Python objects.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use simd_json::{Node, StaticNode};

/// Parses JSON `input` into Python objects (dict, list, str, int, float, bool, None).
///
/// simd-json does the parsing; the rare documents it refuses (integers beyond 64
/// bits, or invalid JSON) go through Python's `json.loads`, which is exact for big
/// integers and raises `json.JSONDecodeError` with the line and column of a mistake.
pub fn decode<'py>(py: Python<'py>, input: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let mut scratch = input.to_vec();
    match simd_json::to_tape(&mut scratch) {
        Ok(tape) => {
            let nodes = tape.0;
            let mut index = 0;
            build(py, &nodes, &mut index)
        }
        Err(_) => py.import(intern!(py, "json"))?.call_method1(
            intern!(py, "loads"),
            (pyo3::types::PyBytes::new(py, input),),
        ),
    }
}

fn build<'py>(
    py: Python<'py>,
    nodes: &[Node<'_>],
    index: &mut usize,
) -> PyResult<Bound<'py, PyAny>> {
    let node = nodes[*index];
    *index += 1;
    Ok(match node {
        Node::String(text) => PyString::new(py, text).into_any(),
        Node::Static(value) => match value {
            StaticNode::Null => py.None().into_bound(py),
            StaticNode::Bool(flag) => flag.into_pyobject(py)?.to_owned().into_any(),
            StaticNode::I64(number) => number.into_pyobject(py)?.into_any(),
            StaticNode::U64(number) => number.into_pyobject(py)?.into_any(),
            StaticNode::F64(number) => number.into_pyobject(py)?.into_any(),
        },
        Node::Array { len, .. } => {
            let list = PyList::empty(py);
            for _ in 0..len {
                list.append(build(py, nodes, index)?)?;
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
                dict.set_item(key, build(py, nodes, index)?)?;
            }
            dict.into_any()
        }
    })
}
