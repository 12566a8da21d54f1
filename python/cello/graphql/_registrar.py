"""`App.enable_graphql`: the GraphQL subsystem's half of `cello.App`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cello._features import require_feature
from cello.graphql.config import GraphQLConfig

__all__ = ["GraphQLMixin"]


class GraphQLMixin:
    """``enable_graphql`` for `cello.App`."""

    route: Callable[..., Any]
    websocket: Callable[..., Any]

    def enable_graphql(
        self,
        config: GraphQLConfig | None = None,
        schema: Any = None,
        *,
        context: Callable[..., Any] | None = None,
        on_connect: Callable[[Any, dict[str, Any] | None], Any] | None = None,
    ) -> None:
        """Serves a GraphQL schema at ``config.path``: GET and POST (GraphQL over HTTP),
        Server-Sent Events (``Accept: text/event-stream``) and WebSocket
        (``graphql-transport-ws`` and ``graphql-ws``) for subscriptions.

        The endpoint is an ordinary route, so the app's middleware (auth, rate limits,
        CORS) applies. `schema` is a `cello.graphql.Schema` (built with the config's
        limits) or a `cello.graphql.GraphQL` (the config's limits replace its own).
        `context(request)` (sync or async) makes each request's context (resolvers see
        it as ``info.context``); without it the context is a new dict per request. Over
        WebSocket it runs once per connection, after ``connection_init``, and gets that
        message's payload as ``connection_params=`` if it has such a parameter.
        `on_connect(request, payload)` (sync or async) sees each WebSocket connection's
        ``connection_init`` payload first: ``False`` or a raised `GraphQLError` refuses
        the connection (close code 4403), a dict replaces the payload as
        ``info.connection_params``.

        Example:
            >>> from cello import App
            >>> from cello.graphql import GraphQLConfig, Query, Schema
            >>> @Query
            ... def hello(name: str = "world") -> str:
            ...     return f"hello {name}"
            >>> app = App()
            >>> app.enable_graphql(GraphQLConfig(path="/graphql", max_depth=6), schema=Schema().query(hello))
        """
        from cello.graphql.schema import GraphQL, Schema

        require_feature("graphql", "app.enable_graphql()")
        if config is None:
            config = GraphQLConfig()
        if not isinstance(config, GraphQLConfig):
            raise TypeError(f"enable_graphql() takes a cello.graphql.GraphQLConfig, got {config!r}")
        if schema is None:
            schema = Schema()
        if isinstance(schema, Schema):
            engine = GraphQL(schema)
        elif isinstance(schema, GraphQL):
            engine = schema
        else:
            raise TypeError(f"enable_graphql(schema=...) takes a cello.graphql.Schema or GraphQL, got {schema!r}")
        engine.max_depth, engine.max_complexity, engine.max_aliases = config.max_depth, config.max_complexity, config.max_aliases
        engine.introspection, engine.batching, engine.mask_errors = config.introspection, config.batching, config.mask_errors
        engine.tracing = config.tracing
        engine._engine = None
        engine.engine()  # compile now: a schema mistake stops start-up, not the first request

        from cello.graphql import _transports, graphiql
        from cello.responses import Response

        playground = config.playground
        path = config.path

        async def graphql_endpoint(request: Any) -> Response:
            if playground and graphiql.wants_page(request.method, request.headers.get("accept"), request.query_string):
                return graphiql.page(path)
            made = await _transports.make_context(context, request)
            if _transports.wants_sse(request):
                return await _transports.serve_sse(engine, request, made)
            status, content_type, body, allow = await engine.serve_http(request, made)
            headers = {"allow": allow} if allow else None
            return Response(body, status=status, headers=headers, content_type=content_type)

        async def graphql_websocket(ws: Any) -> None:
            await _transports.serve_websocket(engine, ws, context, on_connect)

        graphql_endpoint.__name__ = "graphql"
        graphql_websocket.__name__ = "graphql_websocket"
        self.route(config.path, methods=["GET", "POST"], include_in_schema=False)(graphql_endpoint)
        self.websocket(config.path, subprotocols=_transports.SUBPROTOCOLS)(graphql_websocket)
        if playground:

            def graphiql_asset(name: str) -> Response:
                return graphiql.asset(name)

            self.route(config.path.rstrip("/") + "/graphiql/{name}", methods=["GET"], include_in_schema=False)(graphiql_asset)
