//! The engine: a [`SchemaSpec`] built into an async-graphql dynamic schema whose fields ask
//! a [`Host`] for their values.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dynamic::{
    self as dynamic, FieldFuture, FieldValue, InputValue, ResolverContext, TypeRef,
};
use async_graphql::futures_util::future::BoxFuture;
use async_graphql::futures_util::stream::BoxStream;
use async_graphql::{Name, Response, Value};

use super::document::{is_list, DocumentPlan};
use super::error::GraphQLError;
use super::projection::{Node, Projected};
use super::spec::{ArgumentSpec, FieldSpec, SchemaSpec, TypeKind, TypeSpec};
use super::untyped::{Selection, Selections};
use super::Limits;

/// What a field's value must look like, from its type: the host converts its own values
/// into an [`Output`] of this shape in one pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// A scalar or enum value.
    Leaf,
    /// An object; `abstract_type` when the field's type is an interface or union, so the
    /// host must name the object's concrete type.
    Object { abstract_type: bool },
    /// A list of the inner shape.
    List(Box<Shape>),
}

/// A field's value as the host hands it back.
#[derive(Debug)]
pub enum Output<O> {
    Null,
    Leaf(Value),
    /// A host object and, for interface and union fields, its concrete type name.
    Object(O, Option<String>),
    List(Vec<Output<O>>),
}

/// One resolver call: the field, its parent type, its shape and its arguments.
#[derive(Debug)]
pub struct Call<'a> {
    pub field: &'a str,
    pub parent_type: &'a str,
    pub shape: &'a Shape,
    pub arguments: Vec<(Name, Value)>,
    /// The response path, for example `users.3.name`.
    pub path: String,
    /// The sub-selection on an untyped (custom scalar) field, to trim its value with.
    pub selection: Option<&'a Selection>,
}

/// The side that owns the objects and the resolvers (the Python binding, or a test).
pub trait Host: Send + Sync + 'static {
    /// An object a resolver returned, held opaque by the engine.
    type Object: Send + Sync + 'static;
    /// The per-request context given to [`Engine::execute`].
    type Context: Send + Sync + 'static;

    /// Calls resolver `resolver` of `call.field`; `parent` is `None` on the root types.
    fn resolve<'a>(
        &'a self,
        resolver: usize,
        parent: Option<&'a Self::Object>,
        call: Call<'a>,
        context: &'a Self::Context,
    ) -> BoxFuture<'a, async_graphql::Result<Output<Self::Object>>>;

    /// Reads `source` (an attribute or key) of `parent`, for a field without resolver;
    /// `selection` as in [`Call::selection`].
    fn read(
        &self,
        parent: &Self::Object,
        source: &str,
        shape: &Shape,
        selection: Option<&Selection>,
    ) -> async_graphql::Result<Output<Self::Object>>;

    /// Called once, when the engine is built, with the source (attribute or key) of every
    /// field read without a resolver; [`ProjectedField::source`] indexes this list.
    fn sources(&mut self, sources: &[String]) {
        let _ = sources;
    }

    /// A list field's value resolved in one pass: `output` (what its resolver or read
    /// answered, a [`Output::List`]) projected through `node` (the selected fields, all
    /// plain reads) into the finished value; `None` when the projection cannot take it
    /// (a null in a non-null field, an unknown enum value, a missing attribute): the
    /// engine then resolves the field field by field. The default never projects.
    fn project(&self, output: &Output<Self::Object>, node: &Node) -> Option<Value> {
        let _ = (output, node);
        None
    }

    /// Starts subscription resolver `resolver` of `call.field` (a field of the
    /// subscription root): a stream of the field's values, each shaped like `call.shape`.
    /// The stream is dropped when the client leaves or the operation completes; the host
    /// closes its source then. A stream item that is an error ends the subscription.
    fn subscribe<'a>(
        &'a self,
        resolver: usize,
        call: Call<'a>,
        context: &'a Self::Context,
    ) -> BoxFuture<'a, async_graphql::Result<SubscriptionStream<Self::Object>>> {
        let _ = (resolver, context);
        let message = format!(
            "{}.{}: this host has no subscriptions",
            call.parent_type, call.field
        );
        Box::pin(async move { Err(async_graphql::Error::new(message)) })
    }
}

/// The values of one subscription, as the host produces them.
pub type SubscriptionStream<O> = BoxStream<'static, async_graphql::Result<Output<O>>>;

/// A built schema and its host.
pub struct Engine<H: Host> {
    schema: dynamic::Schema,
    limits: Limits,
    plan: Arc<DocumentPlan>,
    host: Arc<H>,
}

impl<H: Host> std::fmt::Debug for Engine<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// What a field closure needs, shared by every call of the field.
struct FieldPlan {
    name: String,
    parent_type: String,
    shape: Shape,
    resolver: Option<usize>,
    source: String,
    /// Of a custom scalar type: its value may be trimmed to a sub-selection.
    untyped: bool,
    /// A list of objects: its value may be projected.
    listy: bool,
}

impl<H: Host> Engine<H> {
    /// Builds the schema once; errors name the field or type at fault.
    pub fn new(spec: &SchemaSpec, mut host: H) -> Result<Self, GraphQLError> {
        let plan = Arc::new(DocumentPlan::new(spec));
        host.sources(&plan.sources);
        let host = Arc::new(host);
        let kinds: HashMap<&str, &TypeKind> = spec
            .types
            .iter()
            .map(|t| (t.name.as_str(), &t.kind))
            .collect();
        let mut builder = dynamic::Schema::build(
            &spec.query,
            spec.mutation.as_deref(),
            spec.subscription.as_deref(),
        );
        for ty in &spec.types {
            builder = if spec.subscription.as_deref() == Some(ty.name.as_str()) {
                builder.register(super::subscription::build_root(ty, &kinds, &host)?)
            } else {
                builder.register(build_type(ty, &kinds, &host)?)
            };
        }
        if let Some(depth) = spec.limits.max_depth {
            builder = builder.limit_depth(depth);
        }
        if let Some(complexity) = spec.limits.max_complexity {
            builder = builder.limit_complexity(complexity);
        }
        if !spec.introspection {
            builder = builder.disable_introspection();
        }
        let schema = builder
            .finish()
            .map_err(|error| GraphQLError::Schema(error.0))?;
        Ok(Self {
            schema,
            limits: spec.limits,
            plan,
            host,
        })
    }

    /// Executes one request with its per-request context; limits are checked first.
    pub async fn execute(&self, request: async_graphql::Request, context: H::Context) -> Response {
        use async_graphql::Executor as _;
        self.limited().execute(request.data(context)).await
    }

    /// The schema behind an executor that checks the limits first (and takes untyped
    /// fields' selections out of the document).
    pub(crate) fn limited(&self) -> super::subscription::Limited {
        super::subscription::Limited {
            schema: self.schema.clone(),
            limits: self.limits,
            plan: self.plan.clone(),
        }
    }

    /// The host the engine was built with.
    pub fn host(&self) -> &H {
        &self.host
    }

    /// The schema in SDL.
    pub fn sdl(&self) -> String {
        self.schema.sdl()
    }
}

fn build_type<H: Host>(
    ty: &TypeSpec,
    kinds: &HashMap<&str, &TypeKind>,
    host: &Arc<H>,
) -> Result<dynamic::Type, GraphQLError> {
    let built: dynamic::Type = match &ty.kind {
        TypeKind::Object { interfaces } => {
            let mut object = dynamic::Object::new(&ty.name);
            for interface in interfaces {
                object = object.implement(interface);
            }
            for field in &ty.fields {
                object = object.field(build_field(&ty.name, field, kinds, host)?);
            }
            described(
                object,
                ty.description.as_ref(),
                dynamic::Object::description,
            )
            .into()
        }
        TypeKind::Interface => {
            let mut interface = dynamic::Interface::new(&ty.name);
            for field in &ty.fields {
                let mut built = dynamic::InterfaceField::new(&field.name, parse_type(field)?);
                for argument in &field.arguments {
                    built = built.argument(build_argument(argument)?);
                }
                interface = interface.field(built);
            }
            described(
                interface,
                ty.description.as_ref(),
                dynamic::Interface::description,
            )
            .into()
        }
        TypeKind::Union { members } => {
            let union = members
                .iter()
                .fold(dynamic::Union::new(&ty.name), |union, member| {
                    union.possible_type(member)
                });
            described(union, ty.description.as_ref(), dynamic::Union::description).into()
        }
        TypeKind::Enum { values } => {
            let items = values.iter().map(dynamic::EnumItem::new);
            let built = dynamic::Enum::new(&ty.name).items(items);
            described(built, ty.description.as_ref(), dynamic::Enum::description).into()
        }
        TypeKind::Input => {
            let mut input = dynamic::InputObject::new(&ty.name);
            for field in &ty.fields {
                input = input.field(build_argument(&ArgumentSpec {
                    name: field.name.clone(),
                    description: field.description.clone(),
                    ty: field.ty.clone(),
                    default: field.default.clone(),
                })?);
            }
            described(
                input,
                ty.description.as_ref(),
                dynamic::InputObject::description,
            )
            .into()
        }
        TypeKind::Scalar => {
            let scalar = dynamic::Scalar::new(&ty.name);
            described(
                scalar,
                ty.description.as_ref(),
                dynamic::Scalar::description,
            )
            .into()
        }
    };
    Ok(built)
}

fn described<T>(value: T, description: Option<&String>, set: fn(T, String) -> T) -> T {
    match description {
        Some(text) => set(value, text.clone()),
        None => value,
    }
}

fn build_field<H: Host>(
    parent_type: &str,
    spec: &FieldSpec,
    kinds: &HashMap<&str, &TypeKind>,
    host: &Arc<H>,
) -> Result<dynamic::Field, GraphQLError> {
    let ty = parse_type(spec)?;
    let plan = Arc::new(FieldPlan {
        name: spec.name.clone(),
        parent_type: parent_type.to_owned(),
        shape: shape_of(&ty, kinds).ok_or_else(|| GraphQLError::UnknownType {
            field: format!("{parent_type}.{}", spec.name),
            ty: spec.ty.clone(),
        })?,
        resolver: spec.resolver,
        source: spec.source.clone(),
        untyped: matches!(named_kind(&ty, kinds), Some(TypeKind::Scalar)),
        listy: is_list_of_objects(&ty, kinds),
    });
    let host = host.clone();
    let mut field = dynamic::Field::new(&spec.name, ty, move |ctx| {
        resolve_field(host.clone(), plan.clone(), ctx)
    });
    for argument in &spec.arguments {
        field = field.argument(build_argument(argument)?);
    }
    if let Some(description) = &spec.description {
        field = field.description(description);
    }
    if let Some(reason) = &spec.deprecation {
        field = field.deprecation(Some(reason.as_str()));
    }
    Ok(field)
}

fn resolve_field<H: Host>(
    host: Arc<H>,
    plan: Arc<FieldPlan>,
    ctx: ResolverContext<'_>,
) -> FieldFuture<'_> {
    let parent = ctx.parent_value.downcast_ref::<H::Object>();
    let selection = if plan.untyped {
        ctx.data_opt::<Selections>()
            .and_then(|taken| taken.get(ctx.item.pos))
    } else {
        None
    };
    let Some(resolver) = plan.resolver else {
        // A plain read: answered at once, no future boxed.
        let read = match parent {
            Some(parent) => host.read(parent, &plan.source, &plan.shape, selection),
            None => Ok(Output::Null),
        };
        return FieldFuture::Value(match read {
            Ok(output) => finish(&*host, &plan, &ctx, output),
            Err(error) => report(&ctx, error),
        });
    };
    FieldFuture::new(async move {
        let context = ctx.data::<H::Context>()?;
        let call = Call {
            field: &plan.name,
            parent_type: &plan.parent_type,
            shape: &plan.shape,
            arguments: ctx
                .args
                .iter()
                .map(|(name, value)| (name.clone(), value.as_value().clone()))
                .collect(),
            path: ctx
                .path_node
                .map(|node| node.to_string())
                .unwrap_or_default(),
            selection,
        };
        Ok(match host.resolve(resolver, parent, call, context).await {
            Ok(output) => finish(&*host, &plan, &ctx, output),
            Err(error) => report(&ctx, error),
        })
    })
}

/// A field's value for the executor: a list the request projects is resolved by the
/// host in one pass, kept for the response, and answered as an empty list.
fn finish<H: Host>(
    host: &H,
    plan: &FieldPlan,
    ctx: &ResolverContext<'_>,
    output: Output<H::Object>,
) -> Option<FieldValue<'static>> {
    if plan.listy && matches!(output, Output::List(_)) {
        let projected = ctx.data_opt::<Arc<Projected>>();
        if let Some((projected, node)) =
            projected.and_then(|p| p.node(ctx.item.pos).map(|node| (p, node)))
        {
            if let Some(value) = host.project(&output, node) {
                let path = ctx.path_node.map(|node| node.to_string_vec());
                projected.keep(path.unwrap_or_default(), value);
                return Some(FieldValue::list(std::iter::empty::<FieldValue<'static>>()));
            }
        }
    }
    field_value(output)
}

/// Records a field's error with its path and answers null for the field. (async-graphql's
/// dynamic executor would otherwise drop the path and fail the whole parent object.)
fn report(ctx: &ResolverContext<'_>, error: async_graphql::Error) -> Option<FieldValue<'static>> {
    ctx.add_error(ctx.set_error_path(error.into_server_error(ctx.item.pos)));
    None
}

pub(crate) fn field_value<O: Send + Sync + 'static>(
    output: Output<O>,
) -> Option<FieldValue<'static>> {
    match output {
        Output::Null => None,
        Output::Leaf(value) => Some(FieldValue::value(value)),
        Output::Object(object, None) => Some(FieldValue::owned_any(object)),
        Output::Object(object, Some(name)) => Some(FieldValue::owned_any(object).with_type(name)),
        Output::List(items) => Some(FieldValue::list(
            items
                .into_iter()
                .map(|item| field_value(item).unwrap_or(FieldValue::NULL)),
        )),
    }
}

pub(crate) fn build_argument(spec: &ArgumentSpec) -> Result<InputValue, GraphQLError> {
    let ty = parse_type_str(&spec.ty).ok_or_else(|| GraphQLError::BadType {
        field: spec.name.clone(),
        ty: spec.ty.clone(),
    })?;
    let mut input = InputValue::new(&spec.name, ty);
    if let Some(default) = &spec.default {
        let json: serde_json::Value =
            serde_json::from_str(default).map_err(|source| GraphQLError::BadDefault {
                argument: spec.name.clone(),
                source,
            })?;
        input = input.default_value(Value::from_json(json).unwrap_or(Value::Null));
    }
    if let Some(description) = &spec.description {
        input = input.description(description);
    }
    Ok(input)
}

pub(crate) fn parse_type(field: &FieldSpec) -> Result<TypeRef, GraphQLError> {
    parse_type_str(&field.ty).ok_or_else(|| GraphQLError::BadType {
        field: field.name.clone(),
        ty: field.ty.clone(),
    })
}

/// `"[User!]!"` → `NonNull(List(NonNull(Named("User"))))`.
pub(crate) fn parse_type_str(text: &str) -> Option<TypeRef> {
    let text = text.trim();
    if let Some(inner) = text.strip_suffix('!') {
        let inner = parse_type_str(inner)?;
        return (!matches!(inner, TypeRef::NonNull(_))).then(|| TypeRef::NonNull(Box::new(inner)));
    }
    if let Some(inner) = text.strip_prefix('[') {
        return Some(TypeRef::List(Box::new(parse_type_str(
            inner.strip_suffix(']')?,
        )?)));
    }
    let valid = text
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then(|| TypeRef::named(text))
}

/// A list (of lists...) of a non-abstract object type.
fn is_list_of_objects(ty: &TypeRef, kinds: &HashMap<&str, &TypeKind>) -> bool {
    is_list(ty) && matches!(named_kind(ty, kinds), Some(TypeKind::Object { .. }))
}

/// The kind of a type reference's named type (`None` for the built-in scalars).
pub(crate) fn named_kind<'k>(
    ty: &TypeRef,
    kinds: &HashMap<&str, &'k TypeKind>,
) -> Option<&'k TypeKind> {
    match ty {
        TypeRef::NonNull(inner) | TypeRef::List(inner) => named_kind(inner, kinds),
        TypeRef::Named(name) => kinds.get(name.as_ref()).copied(),
    }
}

pub(crate) fn shape_of(ty: &TypeRef, kinds: &HashMap<&str, &TypeKind>) -> Option<Shape> {
    match ty {
        TypeRef::NonNull(inner) => shape_of(inner, kinds),
        TypeRef::List(inner) => Some(Shape::List(Box::new(shape_of(inner, kinds)?))),
        TypeRef::Named(name) => match kinds.get(name.as_ref()) {
            None if matches!(name.as_ref(), "String" | "Int" | "Float" | "Boolean" | "ID") => {
                Some(Shape::Leaf)
            }
            None | Some(TypeKind::Input) => None,
            Some(TypeKind::Enum { .. } | TypeKind::Scalar) => Some(Shape::Leaf),
            Some(TypeKind::Object { .. }) => Some(Shape::Object {
                abstract_type: false,
            }),
            Some(TypeKind::Interface | TypeKind::Union { .. }) => Some(Shape::Object {
                abstract_type: true,
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::parse_type_str;

    #[test]
    fn parses_sdl_types() {
        assert_eq!(parse_type_str("[User!]!").unwrap().to_string(), "[User!]!");
        assert_eq!(parse_type_str("Int").unwrap().to_string(), "Int");
        assert!(parse_type_str("[User!").is_none());
        assert!(parse_type_str("Int!!").is_none());
        assert!(parse_type_str("").is_none());
    }
}
