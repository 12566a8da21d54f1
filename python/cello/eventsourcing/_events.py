"""`Event`: the original's untyped events and typed subclasses with annotated fields,
the registry that turns stored records back into those classes, and upcasters."""

from __future__ import annotations

import datetime as _dt
import decimal
import inspect
import typing
import uuid
from collections.abc import Callable
from typing import Any, ClassVar

from cello.exceptions import HTTPException

__all__ = ["ConcurrencyError", "Event", "event_class", "upcaster"]


class ConcurrencyError(HTTPException):
    """An append expected its stream at one version and found another: a second writer
    saved the same aggregate first. Reload the aggregate and retry the command.

    Unhandled in a handler, it answers ``409 Conflict`` (problem+json).

    Attributes:
        stream_id: the aggregate id whose stream moved.
        actual_version: the version the stream was at.
    """

    def __init__(self, message: str, stream_id: str | None = None, actual_version: int | None = None) -> None:
        HTTPException.__init__(self, 409, message)
        self.message = message
        self.stream_id = stream_id
        self.actual_version = actual_version

    def __str__(self) -> str:
        return self.message


MISSING: Any = object()
_RESERVED = frozenset(
    {"id", "event_type", "data", "aggregate_id", "metadata", "version", "timestamp", "position", "schema_version"}
)
_registry: dict[str, type[Event]] = {}
_upcasters: dict[tuple[str, int], Callable[[dict[str, Any]], dict[str, Any]]] = {}


def _hints(cls: type) -> dict[str, Any]:
    """The annotations of `cls` and its bases, the nearest winning."""
    hints: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        hints.update(inspect.get_annotations(klass))
    return hints


def annotated_fields(cls: type) -> dict[str, Any]:
    """``{name: default}`` of the public annotated attributes of `cls` and its bases
    (`MISSING` for a field without a default): the fields of typed events, commands and
    queries."""
    fields: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        for name in inspect.get_annotations(klass):
            if not name.startswith("_"):
                fields[name] = klass.__dict__.get(name, MISSING)
    return fields


class Event:
    """A fact that happened to an aggregate.

    Two ways to write one, both storable:

    - typed, as seed 001 does: a subclass with annotated fields, built with keywords;
      its ``event_type`` is the class name (or ``__event_type__``) and its ``data`` the
      fields::

          class OrderCreated(Event):
              order_id: str
              total: float = 0.0

          OrderCreated(order_id="o-1", total=9.5)

    - untyped, as the original does: ``Event("OrderCreated", {"total": 9.5})``.

    Every event has an ``id`` (a UUID string), ``aggregate_id``, ``version`` (its place in
    the aggregate's stream, set when applied or stored), ``timestamp``, ``metadata`` and,
    once stored, its global ``position``. ``__schema_version__`` (1) versions the payload;
    `upcaster` converts older stored payloads on load.
    """

    __event_type__: ClassVar[str]
    __schema_version__: ClassVar[int] = 1
    __fields__: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fields = annotated_fields(cls)
        for name in fields.keys() & _RESERVED:
            raise TypeError(
                f"{cls.__name__}.{name}: {name!r} is an attribute every Event has; name the field differently"
            )
        cls.__fields__ = fields
        if "__event_type__" not in cls.__dict__:
            cls.__event_type__ = cls.__name__
        _registry[cls.__event_type__] = cls

    def __init__(
        self,
        event_type: str | None = None,
        data: dict[str, Any] | None = None,
        aggregate_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        **fields: Any,
    ) -> None:
        cls = type(self)
        self.id = str(uuid.uuid4())
        self.aggregate_id = aggregate_id
        self.metadata = dict(metadata or {})
        self.version = 0
        self.position: int | None = None
        self.timestamp = _dt.datetime.now(_dt.UTC)
        self.schema_version = cls.__schema_version__
        self._data: dict[str, Any] | None = None
        if cls is Event:
            if event_type is None:
                raise TypeError("Event() needs an event_type: Event('OrderCreated', {'total': 10})")
            if fields:
                raise TypeError(
                    f"Event() got unexpected keywords {sorted(fields)}: pass the payload as data=, "
                    "or subclass Event with annotated fields"
                )
            self.event_type = event_type
            self._data = dict(data or {})
            return
        if data is not None:
            fields = {**data, **fields}
        self.event_type = event_type or cls.__event_type__
        unknown = sorted(set(fields) - set(cls.__fields__))
        if unknown:
            raise TypeError(f"{cls.__name__}() got unexpected fields {unknown}; its fields: {list(cls.__fields__)}")
        missing = [name for name, default in cls.__fields__.items() if default is MISSING and name not in fields]
        if missing:
            raise TypeError(f"{cls.__name__}() is missing the fields {missing}")
        for name, default in cls.__fields__.items():
            setattr(self, name, fields.get(name, default))

    @property
    def data(self) -> dict[str, Any]:
        """The payload: the fields of a typed event, the dict of an untyped one."""
        if self._data is not None:
            return self._data
        return {name: getattr(self, name) for name in type(self).__fields__}

    def json(self) -> dict[str, Any]:
        """The event as a dict (the original's ``.json()``)."""
        return {
            "id": self.id,
            "event_type": self.event_type,
            "aggregate_id": self.aggregate_id,
            "version": self.version,
            "position": self.position,
            "schema_version": self.schema_version,
            "timestamp": self.timestamp.isoformat(),
            "data": self.data,
            "metadata": self.metadata,
        }

    to_dict = json

    def __getattr__(self, name: str) -> Any:
        # An untyped event reads its payload as attributes too (event.total).
        data = self.__dict__.get("_data")
        if data is not None and name in data:
            return data[name]
        raise AttributeError(f"{type(self).__name__!r} event has no attribute {name!r}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Event) and (self.id, self.event_type, self.data) == (
            other.id,
            other.event_type,
            other.data,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(event_type={self.event_type!r}, aggregate_id={self.aggregate_id!r}, version={self.version}, data={self.data!r})"

    def _record(self) -> dict[str, Any]:
        """What the store appends."""
        return {
            "event_id": self.id,
            "event_type": self.event_type,
            "schema_version": self.schema_version,
            "data": self.data,
            "metadata": {**self.metadata, "timestamp": self.timestamp.isoformat()},
        }


def upcaster(event_type: str | type[Event], from_version: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Registers a function that turns a stored payload of `event_type` at schema version
    `from_version` into the payload of version ``from_version + 1``; loading chains them
    up to the class's ``__schema_version__``.

    Example:
        >>> from cello.eventsourcing import Event, upcaster
        >>> class Renamed(Event):
        ...     __schema_version__ = 2
        ...     full_name: str
        >>> @upcaster(Renamed, from_version=1)
        ... def name_to_full_name(data):
        ...     return {"full_name": data.pop("name")}
    """
    name = event_type if isinstance(event_type, str) else event_type.__event_type__

    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        _upcasters[(name, from_version)] = function
        return function

    return register


def event_class(event_type: str) -> type[Event] | None:
    """The typed `Event` subclass registered under `event_type`, if any."""
    return _registry.get(event_type)


_REVIVED = ("datetime", "date", "UUID", "Decimal")


def _revivers(cls: type[Event]) -> dict[str, Any]:
    """The fields of `cls` whose annotation is a type JSON does not keep (computed once)."""
    found: dict[str, Any] | None = cls.__dict__.get("__revivers__")
    if found is None:
        hints = _hints(cls)
        found = {}
        for name in cls.__fields__:
            hint = hints.get(name)
            text = hint if isinstance(hint, str) else getattr(hint, "__name__", repr(hint))
            if any(kind in text for kind in _REVIVED) or hint in (_dt.datetime, _dt.date, uuid.UUID, decimal.Decimal):
                found[name] = hint
        cls.__revivers__ = found  # type: ignore[attr-defined]
    return found


def _revive(annotation: Any, value: Any) -> Any:
    """A stored JSON value back as the field's annotated type, where JSON lost it."""
    if value is None or not isinstance(value, str | int | float):
        return value
    target = annotation
    if isinstance(annotation, str):
        target = {"datetime": _dt.datetime, "date": _dt.date, "UUID": uuid.UUID, "Decimal": decimal.Decimal}.get(
            annotation.split("|")[0].strip()
        )
    origin = typing.get_origin(target)
    if origin is not None:
        args = [arg for arg in typing.get_args(target) if arg is not type(None)]
        target = args[0] if len(args) == 1 else None
    try:
        if target is _dt.datetime and isinstance(value, str):
            return _dt.datetime.fromisoformat(value)
        if target is _dt.date and isinstance(value, str):
            return _dt.date.fromisoformat(value)
        if target is uuid.UUID and isinstance(value, str):
            return uuid.UUID(value)
        if target is decimal.Decimal:
            return decimal.Decimal(str(value))
    except ValueError:
        return value
    return value


def _from_record(record: dict[str, Any]) -> Event:
    """A stored record as an `Event` (its typed class when one is registered)."""
    event_type: str = record["event_type"]
    data: dict[str, Any] = record["data"]
    version = record.get("schema_version", 1)
    cls = _registry.get(event_type)
    target = cls.__schema_version__ if cls is not None else version
    while version < target:
        step = _upcasters.get((event_type, version))
        if step is None:
            raise ValueError(
                f"stored {event_type} events of schema version {version} need an upcaster to version "
                f"{version + 1}: register one with @upcaster({event_type!r}, from_version={version})"
            )
        data = step(dict(data))
        version += 1
    metadata = dict(record.get("metadata") or {})
    stamp = metadata.pop("timestamp", None) or record.get("recorded_at")
    if cls is None:
        event = Event(event_type, data)
        event.id = record["event_id"]
        event.aggregate_id = record["stream_id"]
        event.version = record["version"]
        event.position = record["position"]
        event.schema_version = version
        event.metadata = metadata
    else:
        # Replays build many events: no __init__ (no fresh id or clock read to throw
        # away), and only the fields whose type JSON lost are converted.
        fields = cls.__fields__
        event = cls.__new__(cls)
        values = event.__dict__
        values.update(
            id=record["event_id"], aggregate_id=record["stream_id"], metadata=metadata, version=record["version"],
            position=record["position"], schema_version=version, event_type=event_type, _data=None,
        )
        for name, target in _revivers(cls).items():
            if name in data:
                data[name] = _revive(target, data[name])
        for name, default in fields.items():
            if name in data:
                values[name] = data[name]
            elif default is MISSING:
                raise TypeError(f"stored {event_type} event {record['event_id']} lacks the field {name!r}; "
                                "add a default, or an upcaster that fills it")
            else:
                values[name] = default
    event.timestamp = (
        _dt.datetime.fromisoformat(str(stamp)) if stamp else _dt.datetime.now(_dt.UTC)
    )
    return event
