"""`GraphQLConfig`: where and how the GraphQL endpoint is served."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["GraphQLConfig"]


@dataclass
class GraphQLConfig:
    """The GraphQL endpoint's settings (the original's fields and defaults).

    Args:
        path: where the endpoint is mounted (GET and POST).
        playground: serve the GraphiQL page on ``GET path`` for browsers (``Accept:
            text/html``, no ``query`` parameter), with its files at ``path/graphiql/``
            (from the ``cello[graphql]`` extra; no CDN).
        introspection: answer ``__schema`` / ``__type`` queries.
        max_depth: the deepest selection accepted (``None``: unlimited).
        max_complexity: the most fields one operation may select (``None``: unlimited).
        batching: accept a JSON array of operations in one POST.
        tracing: with `App.enable_telemetry`, a ``graphql.resolve`` span for every
            resolver call of a sampled request (plain attribute and key reads get none),
            a child of the request's server span.
        max_aliases: the most aliases one document may use.
        mask_errors: answer "Internal server error" for resolver exceptions other than
            `cello.graphql.GraphQLError` (the traceback goes to stderr).

    Example:
        >>> from cello import App
        >>> from cello.graphql import GraphQLConfig
        >>> config = GraphQLConfig(path="/graphql", playground=True, introspection=True)
        >>> config.max_depth
        10
    """

    path: str = "/graphql"
    playground: bool = False
    introspection: bool = False
    max_depth: int | None = 10
    max_complexity: int | None = 1000
    batching: bool = False
    tracing: bool = False
    max_aliases: int | None = 30
    mask_errors: bool = False

    @classmethod
    def production(cls) -> GraphQLConfig:
        """The defaults: no playground, no introspection, depth 10, complexity 1000."""
        return cls(mask_errors=True)

    @classmethod
    def development(cls) -> GraphQLConfig:
        """Playground and introspection on, depth 20, no complexity limit, batching."""
        return cls(
            playground=True, introspection=True, max_depth=20, max_complexity=None, batching=True, tracing=True
        )

    def limits(self) -> dict[str, int | None]:
        return {
            "max_depth": self.max_depth,
            "max_complexity": self.max_complexity,
            "max_aliases": self.max_aliases,
            "max_query_bytes": 100_000,
        }
