//! Untyped fields: a field of a custom scalar type (Cello's `JSON`, the type of resolvers
//! without a return annotation) may carry a sub-selection, as on the original framework,
//! and its value is then trimmed to the selected keys.
//!
//! GraphQL validation rejects a selection on a scalar, so before execution such
//! selections are taken out of the parsed document (`super::document`) and kept by the
//! field's position ([`Selections`], in the request's data). The field's resolver (or
//! read) receives its [`Selection`], and the host trims the value with it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_graphql::parser::types::{
    ExecutableDocument, FragmentDefinition, Selection as Item, SelectionSet,
};
use async_graphql::parser::{Pos, Positioned};
use async_graphql::{Name, Value};

use super::ValueMap;

/// A sub-selection on an untyped field: what to keep of its value, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub fields: Vec<Selected>,
}

/// One selected key: its name in the value, the key it gets in the response (the alias,
/// or the name), and its own sub-selection (empty: keep the whole value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected {
    pub name: Name,
    pub key: Name,
    pub selection: Selection,
}

impl Selection {
    /// `value` trimmed to this selection: objects keep the selected keys (a missing key is
    /// null), lists are trimmed item by item, other values are kept as they are.
    pub fn trim(&self, value: Value) -> Value {
        if self.fields.is_empty() {
            return value;
        }
        match value {
            Value::List(items) => Value::List(items.into_iter().map(|v| self.trim(v)).collect()),
            Value::Object(mut map) => {
                let mut trimmed = ValueMap::with_capacity(self.fields.len());
                for field in &self.fields {
                    let item = map.get(&field.name).cloned().unwrap_or(Value::Null);
                    trimmed.insert(field.key.clone(), field.selection.trim(item));
                }
                map.clear();
                Value::Object(trimmed)
            }
            other => other,
        }
    }
}

/// The selections taken out of one request's document, by field position.
#[derive(Debug, Default)]
pub(crate) struct Selections(pub(crate) HashMap<Pos, Arc<Selection>>);

impl Selections {
    pub(crate) fn get(&self, pos: Pos) -> Option<&Selection> {
        self.0.get(&pos).map(|selection| &**selection)
    }
}

pub(crate) type Fragments = HashMap<Name, Positioned<FragmentDefinition>>;

/// Deep enough for any real selection; stops a fragment that spreads itself.
const MAX_NESTING: usize = 64;

/// A selection set on an untyped value, fragments flattened into it.
pub(crate) fn collect(
    set: &SelectionSet,
    fragments: &Fragments,
    spread: &mut HashSet<Name>,
    depth: usize,
) -> Selection {
    let mut selection = Selection::default();
    if depth > MAX_NESTING {
        return selection;
    }
    for item in &set.items {
        match &item.node {
            Item::Field(field) => selection.fields.push(Selected {
                name: field.node.name.node.clone(),
                key: field.node.response_key().node.clone(),
                selection: collect(&field.node.selection_set.node, fragments, spread, depth + 1),
            }),
            Item::InlineFragment(fragment) => {
                let inner = collect(
                    &fragment.node.selection_set.node,
                    fragments,
                    spread,
                    depth + 1,
                );
                selection.fields.extend(inner.fields);
            }
            Item::FragmentSpread(name) => {
                let name = &name.node.fragment_name.node;
                spread.insert(name.clone());
                if let Some(fragment) = fragments.get(name) {
                    let inner = collect(
                        &fragment.node.selection_set.node,
                        fragments,
                        spread,
                        depth + 1,
                    );
                    selection.fields.extend(inner.fields);
                }
            }
        }
    }
    selection
}

/// The fragments the document still spreads, after the selections were taken out.
pub(crate) fn spread_names(document: &ExecutableDocument) -> HashSet<Name> {
    fn visit(set: &SelectionSet, names: &mut HashSet<Name>) {
        for item in &set.items {
            match &item.node {
                Item::Field(field) => visit(&field.node.selection_set.node, names),
                Item::InlineFragment(fragment) => visit(&fragment.node.selection_set.node, names),
                Item::FragmentSpread(spread) => {
                    names.insert(spread.node.fragment_name.node.clone());
                }
            }
        }
    }
    let mut names = HashSet::new();
    for (_, operation) in document.operations.iter() {
        visit(&operation.node.selection_set.node, &mut names);
    }
    // A fragment spread only by a fragment that is itself unused stays "used" here;
    // validation then reports the outer one, as it would have.
    for fragment in document.fragments.values() {
        visit(&fragment.node.selection_set.node, &mut names);
    }
    names
}

/// `"[JSON!]!"` → `"JSON"`.
pub(crate) fn named(ty: &str) -> &str {
    ty.trim_matches(|c: char| matches!(c, '[' | ']' | '!') || c.is_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selection(pairs: &[(&str, &str)]) -> Selection {
        Selection {
            fields: pairs
                .iter()
                .map(|(name, key)| Selected {
                    name: Name::new(name),
                    key: Name::new(key),
                    selection: Selection::default(),
                })
                .collect(),
        }
    }

    #[test]
    fn trims_objects_in_lists_and_renames_aliases() {
        let value = Value::from_json(serde_json::json!([
            {"id": 1, "name": "a", "secret": "x"},
            {"id": 2, "secret": "y"}
        ]))
        .unwrap();
        let trimmed = selection(&[("name", "label"), ("id", "id")]).trim(value);
        assert_eq!(
            trimmed.into_json().unwrap(),
            serde_json::json!([{"label": "a", "id": 1}, {"label": null, "id": 2}])
        );
    }

    #[test]
    fn named_strips_list_and_non_null_markers() {
        assert_eq!(named("[JSON!]!"), "JSON");
        assert_eq!(named("User"), "User");
    }
}
