"""CQRS: commands and queries dispatched to their registered handlers, with timeouts,
retries of commands that lost an optimistic-concurrency race, and read-model projections
fed after each successful command (``enable_event_sync``). In-process: a bus lives in
each worker. See docs/patterns.md.

Example:
    >>> from cello.cqrs import Command, CommandResult, command_handler
    >>> class CreateOrder(Command):
    ...     customer: str
    >>> @command_handler(CreateOrder)
    ... async def create_order(command):
    ...     return CommandResult.ok({"customer": command.customer})
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import inspect
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from cello.eventsourcing._events import MISSING, ConcurrencyError, annotated_fields
from cello.params import Depends

if TYPE_CHECKING:
    from cello.eventsourcing import EventStore, Projection

__all__ = [
    "Command",
    "CommandBus",
    "CommandResult",
    "CqrsConfig",
    "Query",
    "QueryBus",
    "QueryResult",
    "command_handler",
    "query_handler",
]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class CqrsConfig:
    """The buses' settings (the original's fields and defaults).

    Args:
        enable_event_sync: after each successful command, run the projections added with
            `CommandBus.add_projection` so reads see its events.
        command_timeout_ms: a command handler running longer fails with "timed out".
        query_timeout_ms: the same for queries.
        max_retries: how often a command that hit `ConcurrencyError` is run again.
    """

    enable_event_sync: bool = True
    command_timeout_ms: int = 5000
    query_timeout_ms: int = 3000
    max_retries: int = 3

    def __post_init__(self) -> None:
        for name in ("command_timeout_ms", "query_timeout_ms"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.max_retries < 0:
            raise ValueError(f"max_retries cannot be negative, got {self.max_retries}")

    @classmethod
    def default(cls) -> CqrsConfig:
        return cls()


class _Message:
    """Attributes from keywords (checked against annotated fields), an ``id`` and a
    ``timestamp``."""

    __fields__: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.__fields__ = annotated_fields(cls)

    def __init__(self, **kwargs: Any) -> None:
        missing = [name for name, default in type(self).__fields__.items() if default is MISSING and name not in kwargs]
        if missing:
            raise TypeError(f"{type(self).__name__}() is missing the fields {missing}")
        self.id = str(uuid.uuid4())
        self.timestamp = _dt.datetime.now(_dt.UTC)
        for name, default in type(self).__fields__.items():
            if name not in kwargs:
                setattr(self, name, default)
        for name, value in kwargs.items():
            setattr(self, name, value)

    def validate(self) -> None:
        """Raise ValueError or TypeError to reject the command or query."""

    def to_dict(self) -> dict[str, Any]:
        return {name: value for name, value in vars(self).items() if not name.startswith("_")}

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items() if k not in ("id", "timestamp"))
        return f"{type(self).__name__}({fields})"


class Command(_Message):
    """A request to change state; ``command_type`` is the class name."""

    @property
    def command_type(self) -> str:
        return type(self).__name__


class Query(_Message):
    """A request to read state; ``query_type`` is the class name."""

    @property
    def query_type(self) -> str:
        return type(self).__name__


class CommandResult:
    """What a command did: ``success``, ``data``, ``error``; ``is_rejected`` when its
    validation refused it."""

    def __init__(self, success: bool, data: Any = None, error: str | None = None, is_rejected: bool = False) -> None:
        self.success = success
        self.data = data
        self.error = error
        self.is_rejected = is_rejected

    @classmethod
    def ok(cls, data: Any = None) -> CommandResult:
        return cls(True, data)

    @classmethod
    def fail(cls, error: str) -> CommandResult:
        return cls(False, error=error)

    @classmethod
    def rejected(cls, reason: str) -> CommandResult:
        return cls(False, error=reason, is_rejected=True)

    def __repr__(self) -> str:
        return f"CommandResult(success={self.success}, data={self.data!r}, error={self.error!r})"


class QueryResult:
    """What a query found: ``success``, ``data``, ``error`` and ``found``."""

    def __init__(self, success: bool, data: Any = None, error: str | None = None, found: bool = True) -> None:
        self.success = success
        self.data = data
        self.error = error
        self.found = found

    @classmethod
    def ok(cls, data: Any = None) -> QueryResult:
        return cls(True, data)

    @classmethod
    def not_found(cls) -> QueryResult:
        return cls(True, None, found=False)

    @classmethod
    def fail(cls, error: str) -> QueryResult:
        return cls(False, error=error, found=False)

    def __repr__(self) -> str:
        return f"QueryResult(success={self.success}, found={self.found}, data={self.data!r})"


_command_handlers: dict[type, Callable[..., Any]] = {}
_query_handlers: dict[type, Callable[..., Any]] = {}


def command_handler(command_type: type[Command]) -> Callable[[F], F]:
    """Registers the decorated function as `command_type`'s handler on every
    `CommandBus` (the app's, ``app.command_bus``, and any made later)."""

    def register(function: F) -> F:
        _command_handlers[command_type] = function
        function._cello_command = command_type  # type: ignore[attr-defined]
        return function

    return register


def query_handler(query_type: type[Query]) -> Callable[[F], F]:
    """Registers the decorated function as `query_type`'s handler on every `QueryBus`."""

    def register(function: F) -> F:
        _query_handlers[query_type] = function
        function._cello_query = query_type  # type: ignore[attr-defined]
        return function

    return register


class _Bus:
    _kind = ""

    def __init__(self, config: CqrsConfig | None = None, *, app: Any = None, event_store: EventStore | None = None):
        self.config = config or CqrsConfig()
        self.app = app
        self.event_store = event_store
        self._handlers: dict[type, Callable[..., Any]] = {}

    def register(self, message_type: type, handler: Callable[..., Any]) -> None:
        """Makes `handler` the one for `message_type` on this bus."""
        self._handlers[message_type] = handler

    def _handler(self, message: Any, registry: dict[type, Callable[..., Any]]) -> Callable[..., Any] | None:
        for klass in type(message).__mro__:
            found = self._handlers.get(klass) or registry.get(klass)
            if found is not None:
                return found
        return None

    async def _arguments(self, handler: Callable[..., Any]) -> dict[str, Any]:
        """The handler's parameters after the first: ``Depends(...)`` defaults, and by
        name ``app``, ``db``/``database``, ``store``/``event_store``, ``command_bus``,
        ``query_bus``."""
        parameters = list(inspect.signature(handler).parameters.values())[1:]
        arguments: dict[str, Any] = {}
        for parameter in parameters:
            default = parameter.default
            if isinstance(default, Depends):
                dependency = default.dependency
                if dependency is None:
                    raise TypeError(f"{handler.__qualname__}: Depends() in a command or query handler needs the callable")
                if isinstance(dependency, str):
                    value = (self.app._singletons if self.app is not None else {})[dependency]
                else:
                    value = dependency()
                    if inspect.isawaitable(value):
                        value = await value
                arguments[parameter.name] = value
                continue
            value = self._named(parameter.name)
            if value is not MISSING:
                arguments[parameter.name] = value
        return arguments

    def _named(self, name: str) -> Any:
        app = self.app
        if name == "app" and app is not None:
            return app
        if name in ("db", "database") and app is not None:
            return app.database
        if name in ("store", "event_store"):
            return self.event_store if self.event_store is not None else getattr(app, "event_store", MISSING)
        if name in ("command_bus", "query_bus") and app is not None:
            return getattr(app, name, MISSING)
        return MISSING

    async def _run(self, handler: Callable[..., Any], message: Any, timeout_ms: int) -> Any:
        arguments = await self._arguments(handler)

        async def call() -> Any:
            result = handler(message, **arguments)
            if inspect.isawaitable(result):
                result = await result
            return result

        return await asyncio.wait_for(call(), timeout_ms / 1000)


class CommandBus(_Bus):
    """Dispatches commands to their handlers (`command_handler`, or `register`).

    `dispatch` validates the command (``rejected`` on ValueError/TypeError), runs the
    handler within ``command_timeout_ms``, runs it again up to ``max_retries`` times when
    it raised `ConcurrencyError`, wraps a plain return value in `CommandResult.ok` and
    an exception in `CommandResult.fail`; then, with ``enable_event_sync``, runs the
    projections added with `add_projection`.
    """

    def __init__(self, config: CqrsConfig | None = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._projections: list[Projection] = []

    def add_projection(self, projection: Projection) -> None:
        """A read model to bring up to date after each successful command."""
        self._projections.append(projection)

    async def dispatch(self, command: Command) -> CommandResult:
        handler = self._handler(command, _command_handlers)
        if handler is None:
            return CommandResult.fail(f"no handler for {type(command).__name__}: decorate one with @command_handler")
        try:
            command.validate()
        except (ValueError, TypeError) as error:
            return CommandResult.rejected(str(error))
        attempts = 0
        while True:
            try:
                result = await self._run(handler, command, self.config.command_timeout_ms)
                break
            except ConcurrencyError as error:
                attempts += 1
                if attempts > self.config.max_retries:
                    return CommandResult.fail(f"{error} (after {attempts} attempts)")
            except TimeoutError:
                return CommandResult.fail(f"{type(command).__name__} timed out after {self.config.command_timeout_ms} ms")
            except Exception as error:  # noqa: BLE001 - a failed command is a result
                return CommandResult.fail(f"{type(error).__name__}: {error}")
        if not isinstance(result, CommandResult):
            result = CommandResult.ok(result)
        if result.success and self.config.enable_event_sync and self._projections:
            store = self.event_store if self.event_store is not None else getattr(self.app, "event_store", None)
            if store is None:
                raise RuntimeError("enable_event_sync needs an event store: app.enable_event_sourcing() first")
            for projection in self._projections:
                await store.run_projection(projection)
        return result

    send = dispatch


class QueryBus(_Bus):
    """Runs queries on their handlers (`query_handler`, or `register`) within
    ``query_timeout_ms``; a plain return value becomes `QueryResult.ok` (None:
    `QueryResult.not_found`), an exception `QueryResult.fail`."""

    async def execute(self, query: Query) -> QueryResult:
        handler = self._handler(query, _query_handlers)
        if handler is None:
            return QueryResult.fail(f"no handler for {type(query).__name__}: decorate one with @query_handler")
        try:
            query.validate()
            result = await self._run(handler, query, self.config.query_timeout_ms)
        except TimeoutError:
            return QueryResult.fail(f"{type(query).__name__} timed out after {self.config.query_timeout_ms} ms")
        except Exception as error:  # noqa: BLE001 - a failed query is a result
            return QueryResult.fail(f"{type(error).__name__}: {error}")
        if isinstance(result, QueryResult):
            return result
        return QueryResult.not_found() if result is None else QueryResult.ok(result)

    ask = execute
