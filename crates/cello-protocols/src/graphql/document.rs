//! The engine's pass over a request's document before execution: it parses the query
//! once (the executor is handed the parsed document), takes untyped fields' selections
//! out of it (`super::untyped`) and finds the list fields to project
//! (`super::projection`). Both need the schema's field types, which [`DocumentPlan`]
//! keeps.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_graphql::dynamic::TypeRef;
use async_graphql::parser::types::{
    DocumentOperations, Field, OperationType, Selection as Item, SelectionSet,
};
use async_graphql::parser::{Pos, Positioned};
use async_graphql::{Name, Request};

use super::engine::parse_type_str;
use super::projection::{Node, Projected, ProjectedField, Projection};
use super::spec::{SchemaSpec, TypeKind};
use super::untyped::{collect, spread_names, Fragments, Selection, Selections};

/// What the pass needs to know of one field.
#[derive(Debug)]
struct FieldInfo {
    ty: TypeRef,
    named: String,
    resolver: bool,
    /// For plain reads: the index of its source among [`DocumentPlan::sources`].
    source: Option<usize>,
}

/// A named type, as far as the pass cares.
#[derive(Debug)]
enum Named {
    Scalar { custom: bool },
    Enum(Arc<HashSet<String>>),
    Object,
    Other,
}

/// The schema's field types, for the pass over each document.
#[derive(Debug)]
pub(crate) struct DocumentPlan {
    fields: HashMap<String, HashMap<String, FieldInfo>>,
    named: HashMap<String, Named>,
    roots: [Option<String>; 3],
    /// Whether any field has a custom scalar type (else there are no untyped selections).
    untyped: bool,
    /// Every plain field's source (attribute or key), each once.
    pub(crate) sources: Vec<String>,
}

/// What the pass found in one document.
#[derive(Default)]
struct Found {
    selections: HashMap<Pos, Arc<Selection>>,
    /// Fragments spread inside taken selections.
    spread: HashSet<Name>,
    projections: HashMap<Pos, Node>,
}

impl DocumentPlan {
    pub(crate) fn new(spec: &SchemaSpec) -> Self {
        let mut named = HashMap::new();
        for ty in &spec.types {
            let kind = match &ty.kind {
                TypeKind::Scalar => Named::Scalar { custom: true },
                TypeKind::Enum { values } => {
                    Named::Enum(Arc::new(values.iter().cloned().collect()))
                }
                TypeKind::Object { .. } => Named::Object,
                _ => Named::Other,
            };
            named.insert(ty.name.clone(), kind);
        }
        for builtin in ["String", "Int", "Float", "Boolean", "ID"] {
            named.insert(builtin.to_owned(), Named::Scalar { custom: false });
        }
        let mut sources: Vec<String> = Vec::new();
        let mut source_ids: HashMap<String, usize> = HashMap::new();
        let mut fields = HashMap::new();
        let mut untyped = false;
        for ty in &spec.types {
            if !matches!(ty.kind, TypeKind::Object { .. } | TypeKind::Interface) {
                continue;
            }
            let mut infos = HashMap::new();
            for field in &ty.fields {
                let Some(parsed) = parse_type_str(&field.ty) else {
                    continue;
                };
                let base = super::untyped::named(&field.ty).to_owned();
                untyped |= matches!(named.get(&base), Some(Named::Scalar { custom: true }));
                let source = field.resolver.is_none().then(|| {
                    *source_ids.entry(field.source.clone()).or_insert_with(|| {
                        sources.push(field.source.clone());
                        sources.len() - 1
                    })
                });
                let info = FieldInfo {
                    ty: parsed,
                    named: base,
                    resolver: field.resolver.is_some(),
                    source,
                };
                infos.insert(field.name.clone(), info);
            }
            fields.insert(ty.name.clone(), infos);
        }
        Self {
            fields,
            named,
            roots: [
                Some(spec.query.clone()),
                spec.mutation.clone(),
                spec.subscription.clone(),
            ],
            untyped,
            sources,
        }
    }

    /// Parses the request's document, takes the untyped fields' selections out of it,
    /// finds the list fields to project (when `project`), and gives the request the
    /// parsed document and what was found. A document that does not parse is left for
    /// the executor to report.
    pub(crate) fn prepare(
        &self,
        mut request: Request,
        project: bool,
    ) -> (Request, Option<Arc<Projected>>) {
        if !self.untyped && !project {
            return (request, None);
        }
        let Ok(mut document) = async_graphql::parser::parse_query(&request.query) else {
            return (request, None);
        };
        let mut found = Found::default();
        let fragments = document.fragments.clone();
        let walk = Walk {
            plan: self,
            fragments: &fragments,
            project,
        };
        let operations: Vec<_> = match &mut document.operations {
            DocumentOperations::Single(operation) => vec![operation],
            DocumentOperations::Multiple(operations) => operations.values_mut().collect(),
        };
        for operation in operations {
            let root = match operation.node.ty {
                OperationType::Query => self.roots[0].as_deref(),
                OperationType::Mutation => self.roots[1].as_deref(),
                // Subscriptions stream many responses: nothing is projected there.
                OperationType::Subscription => self.roots[2].as_deref(),
            };
            let project = project && operation.node.ty != OperationType::Subscription;
            if let Some(root) = root {
                let walk = Walk { project, ..walk };
                walk.set(&mut operation.node.selection_set.node, root, &mut found);
            }
        }
        for fragment in document.fragments.values_mut() {
            let on = fragment.node.type_condition.node.on.node.to_string();
            walk.set(&mut fragment.node.selection_set.node, &on, &mut found);
        }
        if !found.selections.is_empty() {
            // Fragments spread only inside the taken selections are no longer used by
            // the document: drop them, or validation would call them unused.
            let used = spread_names(&document);
            document
                .fragments
                .retain(|name, _| used.contains(name) || !found.spread.contains(name));
        }
        request.set_parsed_query(document);
        if !found.selections.is_empty() {
            request = request.data(Selections(found.selections));
        }
        if found.projections.is_empty() {
            return (request, None);
        }
        let projected = Arc::new(Projected::new(found.projections));
        (request.data(projected.clone()), Some(projected))
    }
}

#[derive(Clone, Copy)]
struct Walk<'a> {
    plan: &'a DocumentPlan,
    fragments: &'a Fragments,
    project: bool,
}

impl Walk<'_> {
    fn set(&self, set: &mut SelectionSet, parent: &str, found: &mut Found) {
        for item in &mut set.items {
            match &mut item.node {
                Item::Field(field) => self.field(field, parent, found),
                Item::InlineFragment(fragment) => {
                    let on = fragment
                        .node
                        .type_condition
                        .as_ref()
                        .map_or_else(|| parent.to_owned(), |c| c.node.on.node.to_string());
                    self.set(&mut fragment.node.selection_set.node, &on, found);
                }
                Item::FragmentSpread(_) => {}
            }
        }
    }

    fn field(&self, field: &mut Positioned<Field>, parent: &str, found: &mut Found) {
        let Some(info) = self.info(parent, field.node.name.node.as_str()) else {
            return;
        };
        if field.node.selection_set.node.items.is_empty() {
            return;
        }
        match self.plan.named.get(&info.named) {
            Some(Named::Scalar { custom: true }) => {
                let sub = &mut field.node.selection_set.node;
                let selection = collect(sub, self.fragments, &mut found.spread, 0);
                sub.items.clear();
                found.selections.insert(field.pos, Arc::new(selection));
            }
            Some(Named::Object) if self.project && is_list(&info.ty) => {
                match self.projection(&field.node.selection_set.node, &info.named) {
                    Some(projection) => {
                        let node = wrap(&info.ty, Node::Object(projection));
                        found.projections.insert(field.pos, node);
                    }
                    None => self.set(&mut field.node.selection_set.node, &info.named, found),
                }
            }
            _ => self.set(&mut field.node.selection_set.node, &info.named, found),
        }
    }

    fn info(&self, parent: &str, name: &str) -> Option<&FieldInfo> {
        self.plan.fields.get(parent)?.get(name)
    }

    /// The projection of `set` on object type `ty`, if every field in it is a plain read.
    fn projection(&self, set: &SelectionSet, ty: &str) -> Option<Projection> {
        let mut fields = Vec::with_capacity(set.items.len());
        for item in &set.items {
            let Item::Field(field) = &item.node else {
                return None;
            };
            let field = &field.node;
            if !field.directives.is_empty() || !field.arguments.is_empty() {
                return None;
            }
            let key = field.response_key().node.clone();
            if field.name.node.as_str() == "__typename" {
                fields.push(ProjectedField {
                    key,
                    source: None,
                    node: Node::Leaf(None),
                });
                continue;
            }
            let info = self.info(ty, field.name.node.as_str())?;
            if info.resolver {
                return None;
            }
            let sub = &field.selection_set.node;
            let base = match self.plan.named.get(&info.named)? {
                Named::Scalar { .. } if sub.items.is_empty() => Node::Leaf(None),
                Named::Enum(values) if sub.items.is_empty() => Node::Leaf(Some(values.clone())),
                Named::Object if !sub.items.is_empty() => {
                    Node::Object(self.projection(sub, &info.named)?)
                }
                _ => return None,
            };
            fields.push(ProjectedField {
                key,
                source: info.source,
                node: wrap(&info.ty, base),
            });
        }
        Some(Projection {
            type_name: Name::new(ty),
            fields,
        })
    }
}

pub(crate) fn is_list(ty: &TypeRef) -> bool {
    match ty {
        TypeRef::NonNull(inner) => is_list(inner),
        TypeRef::List(_) => true,
        TypeRef::Named(_) => false,
    }
}

/// The type's wrappers (non-null, list) around `base`.
fn wrap(ty: &TypeRef, base: Node) -> Node {
    match ty {
        TypeRef::NonNull(inner) => Node::NonNull(Box::new(wrap(inner, base))),
        TypeRef::List(inner) => Node::List(Box::new(wrap(inner, base))),
        TypeRef::Named(_) => base,
    }
}
