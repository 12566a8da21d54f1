//! GraphQL: a schema described at runtime and executed by async-graphql's `dynamic` engine.
//!
//! A [`SchemaSpec`] names the types, their fields and arguments (as SDL type strings such
//! as `"[User!]!"`), and which fields have a resolver. [`Engine::new`] builds it once into
//! an async-graphql schema whose field closures ask a [`Host`] for values: a resolver call
//! for fields that have one, an attribute or key read for the others. The host owns the
//! objects (opaque to this crate) and turns them into [`Output`] trees shaped like the
//! field's type, so a list of objects costs the host one call.
//!
//! [`http`] maps GraphQL-over-HTTP requests to executions and responses; subscriptions
//! run as streams of responses ([`Engine::subscribe`], for SSE) or whole WebSocket
//! connections ([`Engine::websocket`]).

mod document;
mod engine;
mod error;
pub mod http;
mod limits;
mod projection;
mod spec;
mod subscription;
mod untyped;

pub use async_graphql::indexmap::IndexMap;
pub use async_graphql::{Name, Value};

/// The map of an object value.
pub type ValueMap = IndexMap<Name, Value>;
pub use engine::{Call, Engine, Host, Output, Shape, SubscriptionStream};
pub use error::GraphQLError;
pub use limits::Limits;
pub use projection::{Node, ProjectedField, Projection};
pub use spec::{ArgumentSpec, FieldSpec, SchemaSpec, TypeKind, TypeSpec};
pub use subscription::{Outgoing, WEBSOCKET_PROTOCOLS};
pub use untyped::{Selected, Selection};

/// The JSON body of a response (`{"data": ..., "errors": [...]}`).
pub fn response_json(response: &async_graphql::Response) -> Vec<u8> {
    serde_json::to_vec(response)
        .unwrap_or_else(|_| br#"{"errors":[{"message":"response could not be encoded"}]}"#.to_vec())
}
