//! JSON bytes → Python objects.

use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};
use simd_json::{Node, StaticNode};

/// Deepest nesting the decoder builds (Python's own parser stops near 1,000 too).
const MAX_DEPTH: u32 = 1024;

/// Parses JSON `input` into Python objects (dict, list, str, int, float, bool, None).
///
/// simd-json does the parsing. The rare documents it refuses or would change go
/// through Python's `json.loads` instead: integers beyond 64 bits (exact there),
/// escaped lone surrogates (simd-json turns `"\ud800"` into U+0000), and invalid
/// JSON (`json.JSONDecodeError` says the line and column of the mistake). `NaN` and
/// `Infinity` are refused on both paths: they are not JSON.
pub fn decode<'py>(py: Python<'py>, input: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    if !has_surrogate_escape(input) {
        let mut scratch = input.to_vec();
        if let Ok(tape) = simd_json::to_tape(&mut scratch) {
            let nodes = tape.0;
            let mut index = 0;
            return build(py, &nodes, &mut index, 0);
        }
    }
    python_loads(py, input)
}

fn python_loads<'py>(py: Python<'py>, input: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let kwargs = PyDict::new(py);
    kwargs.set_item(
        intern!(py, "parse_constant"),
        py.import(intern!(py, "cello._json"))?
            .getattr(intern!(py, "refuse_constant"))?,
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
        return Err(PyValueError::new_err(format!(
            "JSON document nested deeper than {MAX_DEPTH} levels"
        )));
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
            StaticNode::F64(number) => number.into_pyobject(py)?.into_any(),
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
