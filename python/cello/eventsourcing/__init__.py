"""Event sourcing on SQL: aggregates saved as streams of events, with optimistic
concurrency, a gap-free global order, snapshots, projections and upcasting.

The store is cello-patterns' (Rust), on the app's database (SQLite ``cello.db`` by
default), PostgreSQL or MySQL. See docs/patterns.md.

Example:
    >>> from cello import App
    >>> from cello.eventsourcing import EventStore, Event, AggregateRoot
    >>> app = App()
    >>> store = EventStore()
    >>> class OrderCreated(Event):
    ...     order_id: str
    ...     total: float
    >>> class Order(AggregateRoot):
    ...     def create(self, total):
    ...         self.apply(OrderCreated(order_id=self.id, total=total))
    ...     def on_order_created(self, event):
    ...         self.total = event.total
"""

from __future__ import annotations

from cello.eventsourcing._aggregate import Aggregate, AggregateRoot, Snapshot, event_handler
from cello.eventsourcing._events import ConcurrencyError, Event, event_class, upcaster
from cello.eventsourcing._outbox import Inbox, Outbox
from cello.eventsourcing._projection import Projection, rebuild, run_projection, subscribe
from cello.eventsourcing._store import EventStore
from cello.eventsourcing.config import EventSourcingConfig

__all__ = [
    "Aggregate",
    "AggregateRoot",
    "ConcurrencyError",
    "Event",
    "EventSourcingConfig",
    "EventStore",
    "Inbox",
    "Outbox",
    "Projection",
    "Snapshot",
    "event_class",
    "event_handler",
    "rebuild",
    "run_projection",
    "subscribe",
    "upcaster",
]
