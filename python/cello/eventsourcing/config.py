"""`EventSourcingConfig`: where the event store keeps its events, and its snapshots."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EventSourcingConfig"]

_STORE_TYPES = ("database", "sqlite", "postgresql", "postgres", "mysql", "memory")


@dataclass
class EventSourcingConfig:
    """The event store's settings (the original's fields and defaults).

    Args:
        store_type: ``"memory"`` (the original's default): an in-memory SQLite database
            per worker, gone when the worker stops; ``"database"``: the app's database
            (``app.enable_database``; SQLite ``cello.db`` when the app has none);
            ``"sqlite"``, ``"postgresql"`` or ``"mysql"``: a pool of its own on
            `connection_url`, or without one the app's database, which must then be of
            that kind (SQLite without either: ``cello.db``). With `connection_url` set,
            it is the store's database whatever the type says.
        snapshot_interval: a snapshot every this many events of an aggregate.
        enable_snapshots: load from the latest snapshot, then only the later events.
        max_events_per_aggregate: saving an aggregate beyond this many events fails.
        event_ttl_secs: must be 0: an event store keeps its events (expiring them
            would break replay); the field exists for the original's signature.
        connection_url: the database URL (``storage`` is accepted as its alias).
        enable_replay: False forbids `EventStore.read_all` and projections' catch-up.
        table_prefix: the tables are ``<prefix>events``, ``<prefix>snapshots``, ...
        outbox: a destination (a RabbitMQ queue through the default exchange, a Kafka
            topic or an SQS queue): each saved event is also written to the outbox table
            in the same transaction, and published there by a relay in every worker
            (``app.enable_rabbitmq``, ``app.enable_messaging`` or ``app.enable_sqs``; the
            first of these when several),
            with the aggregate id as the key and the event id as the message id.

    Example:
        >>> from cello.eventsourcing import EventSourcingConfig
        >>> config = EventSourcingConfig(store_type="postgresql", snapshot_interval=100,
        ...                              connection_url="postgresql://localhost/test")
    """

    store_type: str = "memory"
    snapshot_interval: int = 100
    enable_snapshots: bool = True
    max_events_per_aggregate: int = 10000
    event_ttl_secs: int = 0
    connection_url: str | None = None
    storage: str | None = None
    enable_replay: bool = True
    table_prefix: str = "cello_"
    outbox: str | None = None

    def __post_init__(self) -> None:
        if self.store_type not in _STORE_TYPES:
            raise ValueError(f"store_type must be one of {', '.join(_STORE_TYPES)}, got {self.store_type!r}")
        if self.storage is not None:
            if self.connection_url is not None and self.connection_url != self.storage:
                raise ValueError("give the database URL as connection_url or as storage, not both")
            self.connection_url = self.storage
        if self.snapshot_interval < 1:
            raise ValueError(f"snapshot_interval must be at least 1, got {self.snapshot_interval}")
        if self.max_events_per_aggregate < 1:
            raise ValueError(f"max_events_per_aggregate must be at least 1, got {self.max_events_per_aggregate}")
        if self.event_ttl_secs != 0:
            raise ValueError(
                "event_ttl_secs must be 0: the event store keeps every event (replay and projections "
                "need them); archive old streams with your own job instead"
            )

    @classmethod
    def memory(cls) -> EventSourcingConfig:
        """An in-memory SQLite store per worker (for tests and demos)."""
        return cls(store_type="memory")

    @classmethod
    def postgresql(cls, url: str) -> EventSourcingConfig:
        """A store on the PostgreSQL database at `url`."""
        return cls(store_type="postgresql", connection_url=url)

    def backend(self) -> str | None:
        """The backend the app's database must be when the store uses it, if any."""
        return {"postgresql": "postgres", "postgres": "postgres", "mysql": "mysql"}.get(self.store_type)

    def database_url(self) -> str | None:
        """The URL the store opens a pool of its own on, or None for the app's database."""
        if self.connection_url is not None:
            return self.connection_url
        if self.store_type == "memory":
            return "sqlite::memory:"
        return None
