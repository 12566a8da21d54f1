"""`Aggregate` / `AggregateRoot`: state rebuilt from its events, and the handlers that
apply them (``on_<snake_case>`` methods, or ``@event_handler``)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, TypeVar

from cello.eventsourcing._events import Event

__all__ = ["Aggregate", "AggregateRoot", "Snapshot", "event_handler"]

Method = TypeVar("Method", bound=Callable[..., Any])

_UNRESOLVED: Any = object()
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
# What an aggregate keeps for itself; everything else in its __dict__ is its state.
_INTERNAL = frozenset({"id", "version", "state", "uncommitted_events"})


def _snake(name: str) -> str:
    return _CAMEL.sub("_", name).lower()


def event_handler(event_type: str | type[Event]) -> Callable[[Method], Method]:
    """Marks an aggregate method as the handler of `event_type` (a name or an `Event`
    subclass), for events whose ``on_<snake_case>`` name does not fit.

    Example:
        >>> from cello.eventsourcing import AggregateRoot, event_handler
        >>> class Account(AggregateRoot):
        ...     @event_handler("MoneyDeposited")
        ...     def deposit(self, event):
        ...         self.state["balance"] = self.state.get("balance", 0) + event.data["amount"]
    """
    name = event_type if isinstance(event_type, str) else event_type.__event_type__

    def mark(method: Method) -> Method:
        method._cello_event_type = name  # type: ignore[attr-defined]
        return method

    return mark


class Snapshot:
    """An aggregate's state as of `version` (``state`` is a JSON-compatible dict)."""

    def __init__(self, aggregate_id: str, version: int, state: dict[str, Any]) -> None:
        self.aggregate_id = aggregate_id
        self.version = version
        self.state = state

    def __repr__(self) -> str:
        return f"Snapshot(aggregate_id={self.aggregate_id!r}, version={self.version}, state={self.state!r})"


class Aggregate:
    """An entity whose state is the sum of its events.

    Commands are methods that check their input and call `apply` with a new event;
    handlers change the state: ``on_order_created(self, event)`` handles
    ``OrderCreated`` (or mark a method with `event_handler`; the original's
    ``_handle_<event_type>`` names work too). `cello.eventsourcing.EventStore` saves the
    uncommitted events, and loads the aggregate by replaying them.

    Example:
        >>> from cello.eventsourcing import AggregateRoot, Event
        >>> class Opened(Event):
        ...     owner: str
        >>> class Account(AggregateRoot):
        ...     def open(self, owner):
        ...         self.apply(Opened(owner=owner))
        ...     def on_opened(self, event):
        ...         self.owner = event.owner
        >>> account = Account()
        >>> account.open("ada")
        >>> account.owner, account.version
        ('ada', 1)
    """

    __handlers__: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        handlers: dict[str, str] = {}
        for klass in reversed(cls.__mro__):
            for attribute, value in klass.__dict__.items():
                marked = getattr(value, "_cello_event_type", None)
                if isinstance(marked, str):
                    handlers[marked] = attribute
        cls.__handlers__ = handlers

    def __init__(self, aggregate_id: str | None = None) -> None:
        self.id: str = aggregate_id if aggregate_id is not None else str(uuid.uuid4())
        self.version = 0
        self.state: dict[str, Any] = {}
        self.uncommitted_events: list[Event] = []

    def apply(self, event: Event) -> None:
        """Records a new event: runs its handler, bumps the version, keeps it to save."""
        if not isinstance(event, Event):
            raise TypeError(f"apply() takes an Event, got {event!r}")
        if event.aggregate_id is None:
            event.aggregate_id = self.id
        event.version = self.version + 1
        self._mutate(event)
        self.version = event.version
        self.uncommitted_events.append(event)

    def _mutate(self, event: Event) -> None:
        cls = type(self)
        names = cls.__dict__.get("__resolved__")
        if names is None:
            names = {}
            cls.__resolved__ = names  # type: ignore[attr-defined]
        name = names.get(event.event_type, _UNRESOLVED)
        if name is _UNRESOLVED:
            # The handler's method name, found once per event type.
            name = cls.__handlers__.get(event.event_type)
            for candidate in (f"on_{_snake(event.event_type)}", f"_handle_{event.event_type}"):
                if name is None and callable(getattr(cls, candidate, None)):
                    name = candidate
            names[event.event_type] = name
        if name is not None:
            getattr(self, name)(event)

    def load_from_events(self, events: Iterable[Event]) -> None:
        """Replays stored events (versions must follow the current one without a gap)."""
        for event in events:
            if event.version != self.version + 1:
                raise ValueError(
                    f"aggregate {self.id!r}: event version {event.version} does not follow version "
                    f"{self.version}; the stream has a gap or the events are out of order"
                )
            self._mutate(event)
            self.version = event.version

    def clear_uncommitted(self) -> None:
        """Forgets the uncommitted events (the store calls it after saving them)."""
        self.uncommitted_events.clear()

    def get_version(self) -> int:
        return self.version

    def snapshot_state(self) -> dict[str, Any]:
        """The state a snapshot keeps: ``state`` plus the public attributes the handlers
        set. Override it (and `restore_snapshot`) for state that is not JSON."""
        attributes = {
            name: value for name, value in vars(self).items() if name not in _INTERNAL and not name.startswith("_")
        }
        return {"state": self.state, "attributes": attributes}

    def restore_snapshot(self, state: dict[str, Any]) -> None:
        """Restores what `snapshot_state` returned."""
        self.state = dict(state.get("state") or {})
        for name, value in (state.get("attributes") or {}).items():
            setattr(self, name, value)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id!r}, version={self.version})"


class AggregateRoot(Aggregate):
    """The name seed 001 uses for `Aggregate`."""
