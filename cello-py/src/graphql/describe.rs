//! The schema description that `cello.graphql` compiles (plain dicts and lists) read
//! into the engine's `SchemaSpec`.

use cello_protocols::graphql::{ArgumentSpec, FieldSpec, Limits, SchemaSpec, TypeKind, TypeSpec};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::invalid;

fn item<'py, T: FromPyObjectOwned<'py>>(dict: &Bound<'py, PyDict>, key: &str) -> PyResult<T> {
    match dict.get_item(key)? {
        Some(value) => value.extract().map_err(Into::into),
        None => Err(invalid(format!("schema description: missing {key:?}"))),
    }
}

fn optional<'py, T: FromPyObjectOwned<'py>>(
    dict: &Bound<'py, PyDict>,
    key: &str,
) -> PyResult<Option<T>> {
    match dict.get_item(key)? {
        Some(value) if !value.is_none() => Ok(Some(value.extract().map_err(Into::into)?)),
        _ => Ok(None),
    }
}

fn list<'py>(dict: &Bound<'py, PyDict>, key: &str) -> PyResult<Vec<Bound<'py, PyDict>>> {
    match dict.get_item(key)? {
        Some(value) if !value.is_none() => value
            .try_iter()?
            .map(|entry| Ok(entry?.cast_into::<PyDict>()?))
            .collect(),
        _ => Ok(Vec::new()),
    }
}

pub fn schema(description: &Bound<'_, PyDict>) -> PyResult<SchemaSpec> {
    let limits: Bound<'_, PyDict> = item(description, "limits")?;
    Ok(SchemaSpec {
        types: list(description, "types")?
            .iter()
            .map(type_spec)
            .collect::<PyResult<_>>()?,
        query: item(description, "query")?,
        mutation: optional(description, "mutation")?,
        subscription: optional(description, "subscription")?,
        introspection: item(description, "introspection")?,
        limits: Limits {
            max_depth: optional(&limits, "max_depth")?,
            max_complexity: optional(&limits, "max_complexity")?,
            max_aliases: optional(&limits, "max_aliases")?,
            max_query_bytes: optional(&limits, "max_query_bytes")?,
        },
    })
}

fn type_spec(ty: &Bound<'_, PyDict>) -> PyResult<TypeSpec> {
    let name: String = item(ty, "name")?;
    let names = |key| optional::<Vec<String>>(ty, key).map(Option::unwrap_or_default);
    let kind = match item::<String>(ty, "kind")?.as_str() {
        "object" => TypeKind::Object {
            interfaces: names("interfaces")?,
        },
        "interface" => TypeKind::Interface,
        "union" => TypeKind::Union {
            members: names("members")?,
        },
        "enum" => TypeKind::Enum {
            values: names("values")?,
        },
        "input" => TypeKind::Input,
        "scalar" => TypeKind::Scalar,
        other => return Err(invalid(format!("type {name}: unknown kind {other:?}"))),
    };
    Ok(TypeSpec {
        description: optional(ty, "description")?,
        fields: list(ty, "fields")?
            .iter()
            .map(field_spec)
            .collect::<PyResult<_>>()?,
        name,
        kind,
    })
}

fn field_spec(field: &Bound<'_, PyDict>) -> PyResult<FieldSpec> {
    let name: String = item(field, "name")?;
    Ok(FieldSpec {
        description: optional(field, "description")?,
        ty: item(field, "type")?,
        arguments: list(field, "arguments")?
            .iter()
            .map(|argument| {
                Ok(ArgumentSpec {
                    name: item(argument, "name")?,
                    description: optional(argument, "description")?,
                    ty: item(argument, "type")?,
                    default: optional(argument, "default")?,
                })
            })
            .collect::<PyResult<_>>()?,
        resolver: optional(field, "resolver")?,
        source: optional(field, "source")?.unwrap_or_else(|| name.clone()),
        deprecation: optional(field, "deprecation")?,
        default: optional(field, "default")?,
        name,
    })
}
