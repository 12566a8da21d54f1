"""The original's API: `Query`/`Mutation`/`Subscription` wrappers, `Schema` and `GraphQL`,
compiled by the typed layer's compiler and executed by the native engine."""

from __future__ import annotations

import asyncio
import inspect
import typing
from collections.abc import Callable
from typing import Any

from cello import _cello
from cello._features import require_feature
from cello._loop import task_starter
from cello.graphql._compile import Compiler, RequestContext, camel_case, type_of
from cello.graphql.types import GraphQLError, definition_of

__all__ = ["GraphQL", "Mutation", "Query", "Schema", "Subscription"]


class _Operation:
    kind = "query"

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func
        self.name: str = func.__name__
        hints = typing.get_type_hints(func)
        self.return_type: Any = hints.get("return")
        self.parameters: list[str] = [p for p in inspect.signature(func).parameters if p != "info"]
        self._is_async = inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)


class Query(_Operation):
    """Marks a function as a root query field: ``@Query`` above ``def user(info, id: int) -> User``."""


class Mutation(_Operation):
    """Marks a function as a root mutation field."""

    kind = "mutation"


class Subscription(_Operation):
    """Marks an async generator as a root subscription field: ``@Subscription`` above
    ``async def ticks(info, to: int) -> AsyncIterator[int]`` (each yielded value is one event)."""

    kind = "subscription"


def _functions(item: Any) -> list[Callable[..., Any]]:
    if isinstance(item, _Operation):
        return [item.func]
    if inspect.isclass(item):
        instance = item()
        return [getattr(instance, n) for n in dir(item) if not n.startswith("_") and callable(getattr(instance, n))]
    if callable(item):
        return [item]
    raise TypeError(f"{item!r} is neither a function nor a class of resolvers")


class GraphQL:
    """A schema and its engine: ``await GraphQL(...).execute(query)`` returns the response dict.

    Example:
        >>> from cello.graphql import GraphQL
        >>> engine = GraphQL(max_depth=10, max_complexity=1000, introspection=False)
    """

    def __init__(self, schema: Schema | None = None, *, max_depth: int | None = 10, max_complexity: int | None = 1000, introspection: bool = False, max_aliases: int | None = 30, batching: bool = False, mask_errors: bool = False, tracing: bool = False) -> None:
        self._fields: dict[str, list[Callable[..., Any]]] = {"query": [], "mutation": [], "subscription": []}
        self.max_depth, self.max_complexity, self.introspection = max_depth, max_complexity, introspection
        self.max_aliases, self.batching, self.mask_errors = max_aliases, batching, mask_errors
        self.tracing = tracing
        self._engine: Any = None
        self._starters: dict[int, Any] = {}
        self._typed: dict[str, Any] = {"query": None, "mutation": None, "subscription": None}
        self._extra_types: list[Any] = []
        if schema is not None:
            for kind, items in schema._items.items():
                for item in items:
                    self._add(kind, item)
            self._extra_types.extend(schema._types)

    def _add(self, kind: str, item: Any) -> None:
        if definition_of(item) is not None:
            self._typed[kind] = item  # a @cello.graphql.type class: its fields are the root fields
        else:
            self._fields[kind].extend(_functions(item))
        self._engine = None

    def add_query(self, func: Any) -> None:
        self._add("query", func)

    def add_mutation(self, func: Any) -> None:
        self._add("mutation", func)

    def add_subscription(self, func: Any) -> None:
        self._add("subscription", func)

    def get_schema(self) -> dict[str, list[dict[str, Any]]]:
        """The root fields: ``{"queries": [{"name", "return_type", "parameters"}], ...}``."""
        def describe(funcs: list[Callable[..., Any]]) -> list[dict[str, Any]]:
            return [{"name": f.__name__, "return_type": str(typing.get_type_hints(f).get("return")), "parameters": [p for p in inspect.signature(f).parameters if p != "info"]} for f in funcs]

        return {"queries": describe(self._fields["query"]), "mutations": describe(self._fields["mutation"]), "subscriptions": describe(self._fields["subscription"])}

    def engine(self) -> Any:
        """The native engine, compiled on first use (errors name the field at fault)."""
        if self._engine is None:
            require_feature("graphql", "cello.graphql")
            compiler = Compiler()
            query = self._root(compiler, "query") or "Query"
            mutation = self._root(compiler, "mutation")
            subscription = self._root(compiler, "subscription")
            if query not in compiler.types:
                compiler.root(query, [("_empty", _empty)])
            for extra in self._extra_types:
                compiler.named(extra)
            limits = {"max_depth": self.max_depth, "max_complexity": self.max_complexity, "max_aliases": self.max_aliases, "max_query_bytes": 100_000}
            description = compiler.description(query, mutation, self.introspection, limits, subscription)
            self._engine = _cello.GraphQLEngine(description, compiler.resolvers, type_of, GraphQLError, batching=self.batching, mask_errors=self.mask_errors, tracing=self.tracing)
        return self._engine

    def _root(self, compiler: Compiler, kind: str) -> str | None:
        if self._typed[kind] is not None:
            return compiler.named(self._typed[kind])
        if not self._fields[kind]:
            return None
        name = kind.capitalize()
        compiler.root(name, [(camel_case(f.__name__), f) for f in self._fields[kind]])
        return name

    def sdl(self) -> str:
        """The schema in SDL."""
        return str(self.engine().sdl())

    def _loop_parts(self) -> tuple[asyncio.Future[Any], Any, Any]:
        driver, starter = self._driver()
        return asyncio.get_running_loop().create_future(), driver, starter

    def _driver(self) -> tuple[Any, Any]:
        """The running loop's driver and task starter (what the engine runs on)."""
        loop = asyncio.get_running_loop()
        driver = getattr(loop, "driver", None)
        if driver is None:
            raise RuntimeError("GraphQL executes on Cello's event loop: call it from a handler or the TestClient, or run a script with asyncio.Runner(loop_factory=cello.data.event_loop)")
        starter = self._starters.get(id(loop))
        if starter is None:
            starter = self._starters[id(loop)] = task_starter(loop)
        return driver, starter

    async def execute(self, query: str, variables: dict[str, Any] | None = None, operation_name: str | None = None, context: Any = None, *, request: Any = None) -> dict[str, Any]:
        """Runs one operation: ``{"data": ..., "errors": [...]}``."""
        engine = self.engine()
        future, driver, starter = self._loop_parts()
        engine.execute(future, driver, starter, query, variables, operation_name, RequestContext(request, {} if context is None else context))
        result: dict[str, Any] = _cello.json_loads(await future)
        return result

    async def serve_http(self, request: Any, context: Any) -> tuple[int, str, bytes, str | None]:
        engine = self.engine()
        future, driver, starter = self._loop_parts()
        body = request.body() if request.method == "POST" else b""
        engine.serve_http(future, driver, starter, request.method, request.headers.get("content-type"), request.headers.get("accept"), request.query_string, body, RequestContext(request, context))
        answer: tuple[int, str, bytes, str | None] = await future
        return answer


def _empty() -> bool | None:
    """A placeholder: the schema has no query fields yet."""
    return None


class Schema:
    """Collects root fields: ``Schema().query(users).mutation(create_user).build()``, or
    typed root classes: ``Schema(query=Query, mutation=Mutation, types=[...])``."""

    def __init__(self, *, query: Any = None, mutation: Any = None, subscription: Any = None, types: list[Any] | None = None) -> None:
        self._items: dict[str, list[Any]] = {"query": [], "mutation": [], "subscription": []}
        self._types: list[Any] = list(types or [])
        for kind, item in (("query", query), ("mutation", mutation), ("subscription", subscription)):
            if item is not None:
                self._items[kind].append(item)

    def query(self, item: Any) -> Schema:
        self._items["query"].append(item)
        return self

    def mutation(self, item: Any) -> Schema:
        self._items["mutation"].append(item)
        return self

    def subscription(self, item: Any) -> Schema:
        self._items["subscription"].append(item)
        return self

    def build(self, **limits: Any) -> GraphQL:
        """The engine, with `GraphQL`'s keyword arguments (``max_depth=...``)."""
        return GraphQL(self, **limits)
