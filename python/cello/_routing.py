"""Route registration shared by `App` and `Blueprint`: one `route()` implementation,
the verb decorators are one-line wrappers over it."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

__all__ = ["RouteRecord", "RouteRegistrar"]

Handler = TypeVar("Handler", bound=Callable[..., Any])
Guard = Callable[..., Any]


@dataclass
class RouteRecord:
    """One registration, before prefixes and guards are applied."""

    methods: list[str]
    path: str
    handler: Callable[..., Any]
    guards: list[Guard] = field(default_factory=list)
    blocking: bool = False
    tags: list[str] = field(default_factory=list)
    summary: str | None = None
    description: str | None = None
    name: str | None = None
    websocket: bool = False
    subprotocols: list[str] = field(default_factory=list)
    body_limit: int | None = None
    #: Blueprints whose own middleware wraps this route, outermost first.
    middleware_owners: tuple[Any, ...] = ()
    #: The original's ``body=Model`` option: the request body validated into this type.
    body: Any = None
    #: Filters and serialises what the handler returns (``response_model=``).
    response_model: Any = None
    #: The status of a successful response when the handler returns a plain value.
    status_code: int | None = None
    #: Extra OpenAPI responses, ``{404: {"description": ..., "model": Model}}``.
    responses: dict[int | str, Any] = field(default_factory=dict)
    deprecated: bool = False
    include_in_schema: bool = True
    operation_id: str | None = None
    #: Dependencies run before the handler whose values it does not take (``dependencies=``).
    dependencies: list[Any] = field(default_factory=list)
    #: How the handler's parameters are resolved (`cello._params.Plan`), or ``None`` for a
    #: plain ``handler(request)``. Set when the route is registered.
    plan: Any = None
    #: The compiled handler (`cello._params.Compiled`), when `plan` is set.
    compiled: Any = None


def describe(handler: Callable[..., Any]) -> str:
    """``module.function (file.py:12)``: how error messages name a handler."""
    name = f"{getattr(handler, '__module__', '?')}.{getattr(handler, '__qualname__', repr(handler))}"
    code = getattr(inspect.unwrap(handler), "__code__", None)
    if code is None:
        return name
    filename = code.co_filename.rsplit("/", 1)[-1]
    return f"{name} ({filename}:{code.co_firstlineno})"


class RouteRegistrar:
    """The decorators. Subclasses implement `_register`."""

    def _register(self, record: RouteRecord) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def route(
        self,
        path: str,
        methods: Sequence[str] | None = None,
        *,
        tags: Sequence[str] | None = None,
        summary: str | None = None,
        description: str | None = None,
        guards: Sequence[Guard] | None = None,
        blocking: bool = False,
        name: str | None = None,
        body_limit: int | None = None,
        body: Any = None,
        response_model: Any = None,
        status_code: int | None = None,
        responses: dict[int | str, Any] | None = None,
        deprecated: bool = False,
        include_in_schema: bool = True,
        operation_id: str | None = None,
        dependencies: Sequence[Any] | None = None,
    ) -> Callable[[Handler], Handler]:
        """Registers the decorated function for `methods` (default ``["GET"]``) on `path`.

        Args:
            path: the path pattern, e.g. ``"/users/{id}"``, ``"/users/{id:int}"`` or
                ``"/files/{*rest}"``.
            methods: HTTP methods.
            tags: OpenAPI tags.
            summary: OpenAPI summary.
            description: OpenAPI description.
            guards: callables run with the request before the handler; a falsy result
                answers 403, raising `HTTPException` answers its status.
            blocking: run this (sync) handler on the worker's thread pool so it cannot
                stall other requests (for blocking I/O or long computations).
            name: a name for the route (defaults to the function's name).
            body_limit: the largest request body this route accepts, in bytes (413
                above it, before the body is read when its length is declared). It
                can only lower the server's ``max_body_size``, which every request
                is held to first.
            body: validate the request body into this type (a Pydantic model, msgspec
                Struct, dataclass or TypedDict) before the handler runs; the handler
                gets it as its parameter annotated with that type, or as ``body``
                (docs/validation.md).
            response_model: validate and serialise what the handler returns through
                this type (extra fields are dropped).
            status_code: the status of a plain (non-`Response`) return value.
            responses: extra OpenAPI responses, ``{404: {"description": "...",
                "model": Problem}}``.
            deprecated: mark the operation deprecated in OpenAPI.
            include_in_schema: list the route in the OpenAPI document.
            operation_id: the OpenAPI operationId (defaults to `name`).
            dependencies: `Depends` markers run before the handler whose values it
                does not take (guards written as dependencies, for example).

        Example:
            >>> from cello import App
            >>> app = App()
            >>> @app.route("/resource", methods=["GET", "POST"])
            ... def resource(request):
            ...     return {"method": request.method}
        """
        if isinstance(methods, str):
            raise TypeError(f"methods must be a list such as [{methods!r}], not a string")
        chosen = [m.upper() for m in (methods or ["GET"])]
        if body_limit is not None and (not isinstance(body_limit, int) or body_limit < 0):
            raise ValueError(f"body_limit must be a number of bytes (0 or more), got {body_limit!r}")

        def decorator(handler: Handler) -> Handler:
            if not callable(handler):
                raise TypeError(f"@route({path!r}) must decorate a function, got {handler!r}")
            self._register(
                RouteRecord(
                    methods=chosen,
                    path=path,
                    handler=handler,
                    guards=list(guards or []),
                    blocking=blocking,
                    tags=list(tags or []),
                    summary=summary,
                    description=description,
                    name=name or getattr(handler, "__name__", None),
                    body_limit=body_limit,
                    body=body,
                    response_model=response_model,
                    status_code=status_code,
                    responses=dict(responses or {}),
                    deprecated=deprecated,
                    include_in_schema=include_in_schema,
                    operation_id=operation_id,
                    dependencies=list(dependencies or []),
                )
            )
            return handler

        return decorator

    def get(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        """Registers a GET route (HEAD is answered automatically). See `route`."""
        return self.route(path, ["GET"], **options)

    def post(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        """Registers a POST route. See `route`."""
        return self.route(path, ["POST"], **options)

    def put(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        """Registers a PUT route. See `route`."""
        return self.route(path, ["PUT"], **options)

    def patch(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        """Registers a PATCH route. See `route`."""
        return self.route(path, ["PATCH"], **options)

    def delete(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        """Registers a DELETE route. See `route`."""
        return self.route(path, ["DELETE"], **options)

    def head(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        """Registers an explicit HEAD route (it wins over the automatic one). See `route`."""
        return self.route(path, ["HEAD"], **options)

    def websocket(
        self,
        path: str,
        *,
        guards: Sequence[Guard] | None = None,
        subprotocols: Sequence[str] | None = None,
        name: str | None = None,
    ) -> Callable[[Handler], Handler]:
        """Registers a WebSocket endpoint. ``async def handler(ws)`` gets a
        `cello.WebSocket`; ``def handler(ws)`` gets a `cello.SyncWebSocket` and runs
        in the thread pool. Guards run on the handshake (a refusal is a 403 before
        upgrading); `subprotocols` lists what the endpoint speaks, in preference order.

        Example:
            >>> from cello import App
            >>> app = App()
            >>> @app.websocket("/ws/chat")
            ... async def chat(ws):
            ...     async for message in ws:
            ...         await ws.send(f"Echo: {message}")
        """

        def decorator(handler: Handler) -> Handler:
            if not callable(handler):
                raise TypeError(f"@websocket({path!r}) must decorate a function, got {handler!r}")
            self._register(
                RouteRecord(
                    methods=["GET"],
                    path=path,
                    handler=handler,
                    guards=list(guards or []),
                    name=name or getattr(handler, "__name__", None),
                    websocket=True,
                    subprotocols=list(subprotocols or []),
                )
            )
            return handler

        return decorator

    def options(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        """Registers an explicit OPTIONS route (it wins over the automatic one). See `route`."""
        return self.route(path, ["OPTIONS"], **options)
