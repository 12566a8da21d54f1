//! Subscriptions: the subscription root built as async-graphql's dynamic `Subscription`,
//! whose fields ask the [`Host`] for a stream of values; each value is then resolved
//! through the same field closures as a query's. [`Engine::subscribe`] runs one operation
//! as a stream of responses (SSE), [`Engine::websocket`] runs a whole WebSocket
//! connection (`graphql-transport-ws` or the legacy `graphql-ws`).

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dynamic::{self as dynamic, FieldValue, SubscriptionFieldFuture};
use async_graphql::futures_util::stream::{self, BoxStream, Stream, StreamExt};
use async_graphql::http::{WebSocket, WebSocketProtocols as Protocols, WsMessage};
use async_graphql::{Data, Executor, Request, Response};

use super::document::DocumentPlan;
use super::engine::{
    build_argument, field_value, named_kind, parse_type, shape_of, Call, Engine, Host,
};
use super::error::GraphQLError;
use super::spec::{FieldSpec, TypeKind, TypeSpec};
use super::untyped::Selections;
use super::Limits;

/// The subscription root: one [`dynamic::SubscriptionField`] per field, each with a resolver.
pub(crate) fn build_root<H: Host>(
    ty: &TypeSpec,
    kinds: &HashMap<&str, &TypeKind>,
    host: &Arc<H>,
) -> Result<dynamic::Subscription, GraphQLError> {
    let mut root = dynamic::Subscription::new(&ty.name);
    for field in &ty.fields {
        root = root.field(build_field(&ty.name, field, kinds, host)?);
    }
    if let Some(description) = &ty.description {
        root = root.description(description);
    }
    Ok(root)
}

fn build_field<H: Host>(
    parent_type: &str,
    spec: &FieldSpec,
    kinds: &HashMap<&str, &TypeKind>,
    host: &Arc<H>,
) -> Result<dynamic::SubscriptionField, GraphQLError> {
    let qualified = format!("{parent_type}.{}", spec.name);
    let ty = parse_type(spec)?;
    let shape = shape_of(&ty, kinds).ok_or_else(|| GraphQLError::UnknownType {
        field: qualified.clone(),
        ty: spec.ty.clone(),
    })?;
    let resolver = spec.resolver.ok_or_else(|| {
        GraphQLError::Schema(format!("subscription field {qualified} has no resolver"))
    })?;
    let untyped = matches!(named_kind(&ty, kinds), Some(TypeKind::Scalar));
    let plan = Arc::new((spec.name.clone(), parent_type.to_owned(), shape, untyped));
    let host = host.clone();
    let mut field = dynamic::SubscriptionField::new(&spec.name, ty, move |ctx| {
        let host = host.clone();
        let plan = plan.clone();
        SubscriptionFieldFuture::new(async move {
            let context = ctx.data::<H::Context>()?;
            let (name, parent_type, shape, untyped) = &*plan;
            let selection = if *untyped {
                ctx.data_opt::<Selections>()
                    .and_then(|taken| taken.get(ctx.item.pos))
            } else {
                None
            };
            let call = Call {
                field: name,
                parent_type,
                shape,
                arguments: ctx
                    .args
                    .iter()
                    .map(|(name, value)| (name.clone(), value.as_value().clone()))
                    .collect(),
                path: name.clone(),
                selection,
            };
            let values = host.subscribe(resolver, call, context).await?;
            Ok(values.map(|item| {
                item.map(|output| -> FieldValue<'_> {
                    field_value(output).unwrap_or(FieldValue::NULL)
                })
            }))
        })
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

/// The schema with Cello's own limits (query size, aliases) checked before every
/// operation, as async-graphql's WebSocket protocol runs operations through an [`Executor`].
#[derive(Clone)]
pub(crate) struct Limited {
    pub(crate) schema: dynamic::Schema,
    pub(crate) limits: Limits,
    pub(crate) plan: Arc<DocumentPlan>,
}

impl Executor for Limited {
    async fn execute(&self, request: Request) -> Response {
        if let Err(error) = self.limits.check(&request.query) {
            return Response::from_errors(vec![error]);
        }
        let (request, projected) = self.plan.prepare(request, true);
        let mut response = self.schema.execute(request).await;
        if let Some(projected) = projected {
            projected.patch(&mut response.data);
        }
        response
    }

    fn execute_stream(
        &self,
        request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        if let Err(error) = self.limits.check(&request.query) {
            return stream::once(async move { Response::from_errors(vec![error]) }).boxed();
        }
        self.schema.execute_stream_with_session_data(
            self.plan.prepare(request, false).0,
            session_data.unwrap_or_default(),
        )
    }
}

/// A message for the client of a WebSocket connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    Text(String),
    /// Close the connection with this code and reason.
    Close(u16, String),
}

impl<H: Host> Engine<H> {
    /// Runs one operation (a subscription, or a query or mutation as one response) as a
    /// stream of responses; limits are checked first.
    pub fn subscribe(&self, request: Request, context: H::Context) -> BoxStream<'static, Response> {
        self.limited().execute_stream(request.data(context), None)
    }

    /// Runs a WebSocket connection speaking `protocol` (the negotiated subprotocol:
    /// `graphql-transport-ws` or `graphql-ws`) over the client's text messages; `None`
    /// for a subprotocol this engine does not speak. `context` is the connection's.
    pub fn websocket<S>(
        &self,
        protocol: &str,
        incoming: S,
        context: H::Context,
    ) -> Option<impl Stream<Item = Outgoing> + Send + 'static>
    where
        S: Stream<Item = String> + Send + Unpin + 'static,
    {
        let protocol: Protocols = protocol.parse().ok()?;
        let mut data = Data::default();
        data.insert(context);
        let connection = WebSocket::new(self.limited(), incoming, protocol).connection_data(data);
        Some(connection.map(|message| match message {
            WsMessage::Text(text) => Outgoing::Text(text),
            WsMessage::Close(code, reason) => Outgoing::Close(code, reason),
        }))
    }
}

/// The subprotocols [`Engine::websocket`] speaks, preferred first.
pub const WEBSOCKET_PROTOCOLS: [&str; 2] = ["graphql-transport-ws", "graphql-ws"];
