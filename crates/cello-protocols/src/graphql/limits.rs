//! Limits checked before execution: async-graphql checks depth and complexity while it
//! prepares a request; the query size and the number of aliases are counted here first.

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ServerError, Value};

/// The request limits of one schema; `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_depth: Option<usize>,
    pub max_complexity: Option<usize>,
    pub max_aliases: Option<usize>,
    /// The longest query document accepted, in bytes.
    pub max_query_bytes: Option<usize>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: Some(10),
            max_complexity: Some(1000),
            max_aliases: Some(30),
            max_query_bytes: Some(100_000),
        }
    }
}

impl Limits {
    /// The errors for a query that breaks the size or alias limit, checked before it is
    /// validated or executed.
    pub(crate) fn check(&self, query: &str) -> Result<(), ServerError> {
        if let Some(max) = self.max_query_bytes {
            if query.len() > max {
                return Err(limit_error(format!(
                    "the query is {} bytes long, above the limit of {max}",
                    query.len()
                )));
            }
        }
        let Some(max) = self.max_aliases else {
            return Ok(());
        };
        // A document that does not parse is reported by the executor with its position.
        let Ok(document) = async_graphql::parser::parse_query(query) else {
            return Ok(());
        };
        let aliases = count_aliases(&document);
        if aliases > max {
            return Err(limit_error(format!(
                "the query uses {aliases} aliases, above the limit of {max}"
            )));
        }
        Ok(())
    }
}

fn limit_error(message: String) -> ServerError {
    let mut error = ServerError::new(message, None);
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", Value::from("LIMIT_EXCEEDED"));
    error.extensions = Some(extensions);
    error
}

fn count_aliases(document: &ExecutableDocument) -> usize {
    let operations = document
        .operations
        .iter()
        .map(|(_, op)| &op.node.selection_set.node);
    let fragments = document
        .fragments
        .values()
        .map(|f| &f.node.selection_set.node);
    operations.chain(fragments).map(count_in).sum()
}

fn count_in(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(field) => {
                usize::from(field.node.alias.is_some()) + count_in(&field.node.selection_set.node)
            }
            Selection::InlineFragment(fragment) => count_in(&fragment.node.selection_set.node),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}
