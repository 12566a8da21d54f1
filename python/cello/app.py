"""The application object."""

from __future__ import annotations

import inspect
import logging
import traceback
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from cello import _cello
from cello._handlers import (
    handler_kind,
    handshake_check,
    owner_of,
    takes_request,
    websocket_kind,
    with_guards,
)
from cello._params import compile_route
from cello._patterns import PatternsMixin
from cello._routing import Guard, RouteRecord, RouteRegistrar
from cello.asgi import AsgiMixin
from cello.blueprint import Blueprint
from cello.data import DataMixin
from cello.datastructures import State
from cello.exceptions import BodyNotRead, HTTPException, InvalidJSON, RequestValidationError
from cello.graphql._registrar import GraphQLMixin
from cello.grpc._registrar import GrpcMixin
from cello.messaging import MessagingMixin
from cello.middleware._registrar import MiddlewareRegistrar
from cello.observability import ObservabilityMixin
from cello.openapi import OpenApiMixin
from cello.responses import Response
from cello.templating import TemplatesMixin

if TYPE_CHECKING:
    from cello.config import ServerConfig, TlsConfig

__all__ = ["App"]

logger = logging.getLogger("cello")

Hook = TypeVar("Hook", bound=Callable[..., Any])
ExceptionHandler = Callable[[Any, Any], Any]

_EVENTS = ("startup", "shutdown")


def problem(
    status: int, detail: str, headers: dict[str, str] | None = None, **extensions: Any
) -> Response:
    """An RFC 9457 ``application/problem+json`` response; `extensions` are extra
    members (``errors`` for a 422)."""
    from http import HTTPStatus

    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    response = Response.json(
        {"type": "about:blank", "title": title, "status": status, "detail": detail, **extensions},
        status=status,
        headers=headers,
    )
    response.headers["content-type"] = "application/problem+json"
    return response


class App(
    DataMixin,
    GraphQLMixin,
    GrpcMixin,
    MessagingMixin,
    ObservabilityMixin,
    MiddlewareRegistrar,
    OpenApiMixin,
    PatternsMixin,
    TemplatesMixin,
    AsgiMixin,
    RouteRegistrar,
):
    """A Cello application.

    Register handlers with the route decorators, then call `run` (or serve it with
    ``cello run module:app``, or test it with `cello.testing.TestClient`).

    Example:
        >>> from cello import App
        >>> app = App()
        >>> @app.get("/")
        ... def hello(request):
        ...     return {"message": "Hello, World!"}
    """

    def __init__(self) -> None:
        self.state = State()
        self.debug = False
        self.env = "development"
        self._records: list[RouteRecord] = []
        self._probe = _cello.AppCore()
        self._guards: list[Guard] = []
        self._hooks: dict[str, list[Callable[[], Any]]] = {event: [] for event in _EVENTS}
        self._exception_handlers: dict[type[BaseException], ExceptionHandler] = {}
        self._server_config: ServerConfig | None = None
        self._singletons: dict[str, Any] = {}
        #: ``{dependency: replacement}``: tests swap a dependency (a callable, or a
        #: singleton's name) for another callable; read on every request.
        self.dependency_overrides: dict[Any, Callable[..., Any]] = {}

    # --- registration ---------------------------------------------------------------

    def _register(self, record: RouteRecord) -> None:
        owner = owner_of(record.handler)
        if record.websocket:
            kind = websocket_kind(record.handler, record.guards, owner)
            self._probe.add_route(record.methods, record.path, record.handler, kind, True, owner)
            self._records.append(record)
            return
        kind = handler_kind(record.handler, record.blocking, owner)
        compiled = compile_route(record, owner)
        if compiled is None:
            wants_request = takes_request(record.handler, owner)
        else:
            record.plan, record.compiled, wants_request = compiled.plan, compiled, True
            if compiled.is_async:
                if record.blocking:
                    raise TypeError(
                        f"{owner}: blocking=True runs the handler in a thread, but it has "
                        "async dependencies or form parameters; drop blocking=True"
                    )
                kind = "async"
        # Validate now, so a conflict fails at the decorator that caused it.
        self._probe.add_route(record.methods, record.path, record.handler, kind, wants_request, owner)
        self._records.append(record)

    def register_blueprint(self, blueprint: Blueprint) -> None:
        """Adds every route of `blueprint` (and of blueprints nested in it)."""
        for record in blueprint.records():
            self._register(record)

    def register_singleton(self, name: str, value: Any) -> None:
        """Makes `value` what ``Depends(name)`` gives handlers and dependencies.

        Example:
            >>> from cello import App, Depends
            >>> app = App()
            >>> app.register_singleton("db", {"users": []})
            >>> @app.get("/users")
            ... def users(db=Depends("db")):
            ...     return db["users"]
        """
        if not isinstance(name, str) or not name:
            raise TypeError(f"a singleton's name must be a non-empty string, got {name!r}")
        self._singletons[name] = value

    def add_guard(self, guard: Guard) -> None:
        """Adds a guard that runs before every route's handler."""
        if not callable(guard):
            raise TypeError(f"a guard must be callable, got {guard!r}")
        self._guards.append(guard)

    def on_event(self, event: str) -> Callable[[Hook], Hook]:
        """Registers a ``"startup"`` or ``"shutdown"`` hook (sync or async), run in
        each worker before it serves and after it has drained."""
        if event not in _EVENTS:
            raise ValueError(f"unknown event {event!r}; use 'startup' or 'shutdown'")

        def decorator(hook: Hook) -> Hook:
            self._hooks[event].append(hook)
            return hook

        return decorator

    def exception_handler(self, exc_type: type[BaseException]) -> Callable[[Hook], Hook]:
        """Registers ``handler(request, exc)`` (sync or async) for `exc_type` and its
        subclasses; the most specific registered class wins."""
        if not (isinstance(exc_type, type) and issubclass(exc_type, BaseException)):
            raise TypeError(f"exception_handler needs an exception class, got {exc_type!r}")

        def decorator(handler: Hook) -> Hook:
            self._exception_handlers[exc_type] = handler
            return handler

        return decorator

    def routes(self) -> list[tuple[str, str, str]]:
        """``(method, path, handler)`` for every registered route."""
        return self._probe.routes()

    # --- serving --------------------------------------------------------------------

    def _build_core(self) -> _cello.AppCore:
        core = _cello.AppCore()
        groups: dict[tuple[int, ...], tuple[int, list[_cello.Middleware]]] = {}
        for record in self._records:
            owner = owner_of(record.handler)
            if record.websocket:
                guards = [*self._guards, *record.guards]
                core.add_route(
                    record.methods, record.path, record.handler,
                    websocket_kind(record.handler, guards, owner), True, owner,
                    record.subprotocols, handshake_check(guards) if guards else None,
                )
                continue
            kind = handler_kind(record.handler, record.blocking, owner)
            if record.compiled is not None:
                self._check_singletons(record)
                handler, wants_request = record.compiled.bind(self), True
                kind = "async" if record.compiled.is_async else kind
            else:
                handler, wants_request = record.handler, takes_request(record.handler, owner)
            # The probes and /metrics skip the app-wide guards, hooks and middleware,
            # as the engine's middleware chain does (docs/observability.md).
            operational = self._is_operational(record.path)
            guards = record.guards if operational else [*self._guards, *record.guards]
            if guards:
                handler = with_guards(handler, guards, kind, wants_request)
                wants_request = True
                if kind == "sync" and inspect.iscoroutinefunction(handler):
                    kind = "async"
            if not operational:
                handler, kind, wants_request = self._wrap_user_middleware(handler, kind, wants_request)
            body_limit = record.body_limit if record.body_limit is not None else self._body_limit()
            middleware = None
            if record.middleware_owners:
                key = tuple(id(owner) for owner in record.middleware_owners)
                if key not in groups:
                    specs = [s for o in record.middleware_owners for s in o._middleware_specs()]
                    groups[key] = (len(groups), specs)
                middleware = groups[key]
            core.add_route(
                record.methods, record.path, handler, kind, wants_request, owner,
                body_limit=body_limit, middleware=middleware,
            )
        return core

    def _check_singletons(self, record: RouteRecord) -> None:
        from cello._params import SINGLETON

        def names(node: Any) -> Any:
            for _, kind, ref in node.args:
                if kind == SINGLETON:
                    yield ref
                elif hasattr(ref, "args"):
                    yield from names(ref)

        for name in names(record.compiled.handler_node):
            if name not in self._singletons and name not in self.dependency_overrides:
                raise LookupError(
                    f"{owner_of(record.handler)} uses Depends({name!r}), but no singleton has "
                    f"that name; call app.register_singleton({name!r}, value) before serving"
                )

    def _engine(
        self,
        driver: _cello.Driver,
        start_task: Callable[..., Any],
        config: ServerConfig,
        access_log: bool,
        max_requests: int | None = None,
        on_retire: Callable[[], None] | None = None,
    ) -> _cello.Engine:
        self._server_config = config
        config = self._grpc_server_config(config)
        engine = _cello.Engine(
            driver,
            self._build_core(),
            self,
            self._on_error,
            start_task,
            config,
            access_log,
            max_requests,
            on_retire,
            self._middleware_specs(),
            self._request_logger(),
            self._observability(),
            self._grpc_engine(),
        )
        self._track_engine(engine)
        return engine

    async def _run_hooks(self, event: str) -> None:
        for hook in self._hooks[event]:
            result = hook()
            if inspect.isawaitable(result):
                await result

    def _on_error(self, request: Any, exc: BaseException) -> Response | Awaitable[Any] | Any:
        for cls in type(exc).__mro__:
            handler = self._exception_handlers.get(cls)
            if handler is not None:
                return handler(request, exc)
        if isinstance(exc, HTTPException):
            return problem(exc.status_code, exc.detail, exc.headers)
        if isinstance(exc, RequestValidationError):
            return problem(422, exc.detail, errors=exc.errors())
        if isinstance(exc, InvalidJSON):
            return problem(400, str(exc))
        if isinstance(exc, BodyNotRead):
            # The client sent more than this endpoint buffers; the message says how
            # the handler can read it instead.
            return problem(413, str(exc))
        logger.error(
            "unhandled %s in %s %s",
            type(exc).__name__,
            request.method,
            request.path,
            exc_info=(type(exc), exc, exc.__traceback__),
            # The handler has returned: give the record its request's ids explicitly.
            extra={name: getattr(request, name, None) for name in ("request_id", "trace_id", "span_id")},
        )
        if self.debug:
            detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            return problem(500, detail)
        return problem(500, "the server failed while handling this request")

    def run(
        self,
        host: str = "127.0.0.1",
        port: int = 8000,
        debug: bool | None = None,
        env: str = "development",
        workers: int | None = None,
        reload: bool = False,
        logs: bool | None = None,
        *,
        config: ServerConfig | None = None,
        tls: TlsConfig | None = None,
        http3: bool = False,
    ) -> None:
        """Serves the application until interrupted.

        Args:
            host: address to bind.
            port: port to bind (0 picks a free one and prints it).
            debug: debug mode (tracebacks in 500 responses); defaults to True in
                development and False in production.
            env: ``"development"`` or ``"production"``.
            workers: worker processes; defaults to the CPU count in production and
                1 in debug.
            reload: restart when a ``.py`` file changes.
            logs: access log, one line per request; defaults to on in debug.
            config: limits, timeouts and worker recycling (`ServerConfig`).
            tls: serve HTTPS (and HTTP/2 through ALPN) with this `TlsConfig`.
            http3: also serve HTTP/3 over QUIC on the same port number (UDP); needs `tls`.

        The command-line flags ``--host --port --env --debug --reload --workers
        --no-logs --tls-cert --tls-key --http3`` override these values.
        """
        from cello.server import run_app

        run_app(self, host, port, debug, env, workers, reload, logs, config, tls=tls, http3=http3)
