//! The host's side of projections (`cello_protocols::graphql::Node`): a list of Python
//! objects and the plain fields selected of them, read into the finished value in one
//! GIL hold. Anything the projection cannot take answers `None`, and the engine then
//! resolves the list field by field (which reports the error where there is one).

use cello_protocols::graphql::{Node, Output, Projection, Value, ValueMap};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use super::convert::to_value;

/// `output` (a resolver's or read's answer) through `node`; `sources` are the interned
/// attribute names the projection's fields index.
pub fn project_output(
    py: Python<'_>,
    output: &Output<Py<PyAny>>,
    node: &Node,
    sources: &[Py<PyString>],
) -> Option<Value> {
    match (node, output) {
        (Node::NonNull(_), Output::Null) => None,
        (Node::NonNull(inner), _) => project_output(py, output, inner, sources),
        (_, Output::Null) => Some(Value::Null),
        (Node::List(inner), Output::List(items)) => items
            .iter()
            .map(|item| project_output(py, item, inner, sources))
            .collect::<Option<Vec<_>>>()
            .map(Value::List),
        (Node::Object(projection), Output::Object(object, None)) => {
            project_object(object.bind(py), projection, sources)
        }
        _ => None,
    }
}

fn project_value(value: &Bound<'_, PyAny>, node: &Node, sources: &[Py<PyString>]) -> Option<Value> {
    match node {
        Node::NonNull(inner) if !value.is_none() => project_value(value, inner, sources),
        Node::NonNull(_) => None,
        _ if value.is_none() => Some(Value::Null),
        Node::List(inner) => {
            if value.is_instance_of::<PyString>() || value.is_instance_of::<PyDict>() {
                return None;
            }
            let mut items = Vec::new();
            for item in value.try_iter().ok()? {
                items.push(project_value(&item.ok()?, inner, sources)?);
            }
            Some(Value::List(items))
        }
        Node::Leaf(None) => to_value(value).ok(),
        Node::Leaf(Some(values)) => Node::enum_value(values, to_value(value).ok()?),
        Node::Object(projection) => project_object(value, projection, sources),
    }
}

fn project_object(
    object: &Bound<'_, PyAny>,
    projection: &Projection,
    sources: &[Py<PyString>],
) -> Option<Value> {
    let py = object.py();
    let dict = object.cast::<PyDict>().ok();
    let mut map = ValueMap::with_capacity(projection.fields.len());
    for field in &projection.fields {
        let value = match field.source {
            None => Value::String(projection.type_name.to_string()),
            Some(source) => {
                let key = sources.get(source)?.bind(py);
                let item = match dict {
                    // A missing key reads as null, as the field-by-field read does.
                    Some(dict) => dict.get_item(key).ok()?,
                    None => Some(object.getattr(key).ok()?),
                };
                match item {
                    Some(item) => project_value(&item, &field.node, sources)?,
                    None => project_value(&py.None().into_bound(py), &field.node, sources)?,
                }
            }
        };
        map.insert(field.key.clone(), value);
    }
    Some(Value::Object(map))
}
