//! The crate's error enum: a schema that cannot be built, or a request that cannot run.

/// Why a schema description was refused.
#[derive(Debug, thiserror::Error)]
pub enum GraphQLError {
    /// A type string such as `"[User!"` does not parse.
    #[error(
        "field {field}: type {ty:?} is not a GraphQL type (write it as SDL: `User`, `[User!]!`)"
    )]
    BadType { field: String, ty: String },
    /// A field or argument names a type that the schema does not define.
    #[error("field {field} uses type {ty:?}, which the schema does not define")]
    UnknownType { field: String, ty: String },
    /// A default value is not valid JSON.
    #[error("argument {argument}: default value is not JSON: {source}")]
    BadDefault {
        argument: String,
        source: serde_json::Error,
    },
    /// async-graphql refused the schema (duplicate names, an interface not implemented, ...).
    #[error("the schema is invalid: {0}")]
    Schema(String),
}
