//! The description of a schema, built by the host (the Python typed layer) at start-up.

/// What kind of named type a [`TypeSpec`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeKind {
    /// An object type and the interfaces it implements.
    Object { interfaces: Vec<String> },
    /// An interface; its objects are told apart by [`crate::graphql::Host::type_name`].
    Interface,
    /// A union of object types.
    Union { members: Vec<String> },
    /// An enum and its values.
    Enum { values: Vec<String> },
    /// An input object: its fields are the input fields (no resolvers).
    Input,
    /// A custom scalar, passed through as JSON (for example `JSON`, `DateTime`).
    Scalar,
}

/// One named type.
#[derive(Debug, Clone)]
pub struct TypeSpec {
    pub name: String,
    pub description: Option<String>,
    pub kind: TypeKind,
    pub fields: Vec<FieldSpec>,
}

/// One field of an object, interface or input type.
#[derive(Debug, Clone)]
pub struct FieldSpec {
    pub name: String,
    pub description: Option<String>,
    /// The SDL type: `String!`, `[User!]`, ...
    pub ty: String,
    pub arguments: Vec<ArgumentSpec>,
    /// The host's resolver for this field; `None` reads [`FieldSpec::source`] from the parent.
    pub resolver: Option<usize>,
    /// The attribute or key read when there is no resolver (often the field's Python name).
    pub source: String,
    pub deprecation: Option<String>,
    /// For input fields: the default, as JSON text.
    pub default: Option<String>,
}

/// One argument of a field.
#[derive(Debug, Clone)]
pub struct ArgumentSpec {
    pub name: String,
    pub description: Option<String>,
    pub ty: String,
    /// The default, as JSON text.
    pub default: Option<String>,
}

/// The whole schema: its types, the root type names and the limits.
#[derive(Debug, Clone)]
pub struct SchemaSpec {
    pub types: Vec<TypeSpec>,
    pub query: String,
    pub mutation: Option<String>,
    pub subscription: Option<String>,
    pub introspection: bool,
    pub limits: crate::graphql::Limits,
}
