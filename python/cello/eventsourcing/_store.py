"""`EventStore`: aggregates saved and loaded through cello-patterns' event store (Rust),
on the app's database or a pool of its own, opened in each worker on first use."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from cello import _cello
from cello._features import require_feature
from cello.data._native import driver, new_future
from cello.eventsourcing._aggregate import Aggregate, Snapshot
from cello.eventsourcing._events import Event, _from_record
from cello.eventsourcing.config import EventSourcingConfig

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from cello.data.database import Database
    from cello.eventsourcing._projection import Projection

__all__ = ["EventStore"]

A = TypeVar("A", bound=Aggregate)


class EventStore:
    """Streams of events per aggregate, in SQL, with optimistic concurrency.

    ``EventStore()`` keeps its tables in the app's database (``app.enable_database``;
    without one, SQLite ``cello.db`` in the working directory). An `EventSourcingConfig`
    (or ``database=``) chooses otherwise. It can be created at import time: each worker
    opens its connection on first use.

    Saving checks the aggregate's stream is still at the version it was loaded at; when
    another writer saved first, `ConcurrencyError` (409 if unhandled) and nothing is
    written. Every event gets a global ``position`` (1, 2, 3, ... across aggregates, in
    commit order, no gaps) that `read_all` and projections follow.

    Example:
        >>> from cello.eventsourcing import EventStore
        >>> store = EventStore()
        >>> # in a handler: await store.save(order); order = await store.load(Order, order_id)
    """

    def __init__(self, config: EventSourcingConfig | None = None, *, database: Database | None = None) -> None:
        if not {"sqlite", "postgres", "mysql"} & set(_cello.features()):
            require_feature("sqlite", "the event store (cello.eventsourcing)")
        if config is not None and not isinstance(config, EventSourcingConfig):
            raise TypeError(f"EventStore() takes an EventSourcingConfig, got {config!r}")
        self.config = config if config is not None else EventSourcingConfig(store_type="database")
        self._database = database
        self._own: tuple[Any, Database] | None = None
        self._native: tuple[Any, Any, _cello.EventStoreCore] | None = None
        self._opening: tuple[Any, asyncio.Lock] | None = None
        self._pid = os.getpid()

    @classmethod
    async def connect(cls, config: EventSourcingConfig | None = None) -> EventStore:
        """A store with its database open and its tables created (the original's way)."""
        store = cls(config)
        native = await store._core()
        future = new_future()
        native.ensure_schema(future)
        await future
        return store

    async def _core(self) -> _cello.EventStoreCore:
        """The native store on this worker's loop, opening the store's pool first when it
        has one of its own."""
        if self._pid != os.getpid():
            # A forked worker starts over: the parent's pool is not its to use.
            self._own, self._native, self._opening, self._pid = None, None, None, os.getpid()
        current = driver()
        database = await self._open_database(current)
        cached = self._native
        if cached is not None and cached[0] is database and cached[1] is current:
            return cached[2]
        native = _cello.EventStoreCore(database._native, self.config.table_prefix, self.config.outbox)
        self._native = (database, current, native)
        return native

    async def _open_database(self, current: Any) -> Database:
        """The database of this worker the store keeps its tables in."""
        if self._database is not None:
            return self._database
        if self.config.database_url() is None:
            from cello.data.transaction import _databases

            wanted = self.config.backend()
            if _databases:
                database = _databases[0]
                if wanted is not None and database.backend != wanted:
                    raise RuntimeError(
                        f"EventSourcingConfig(store_type={self.config.store_type!r}) but the app's database is "
                        f"{database.backend}: give the config a connection_url, or enable that database"
                    )
                return database
            if wanted is not None:
                raise RuntimeError(
                    f"EventSourcingConfig(store_type={self.config.store_type!r}) needs a database: set its "
                    "connection_url, or call app.enable_database() with that database's URL"
                )
        return await self._own_database(current)

    async def _own_database(self, current: Any) -> Database:
        """The store's own pool on this worker's loop (a new loop, as each TestClient
        has, gets a new pool)."""
        from cello.data.config import DatabaseConfig
        from cello.data.database import Database

        own = self._own
        if own is not None and own[0] is current:
            return own[1]
        if self._opening is None or self._opening[0] is not current:
            self._opening = (current, asyncio.Lock())
        async with self._opening[1]:
            own = self._own
            if own is None or own[0] is not current:
                url = self.config.database_url() or "sqlite://cello.db"
                own = self._own = (current, await Database.connect(DatabaseConfig(url)))
        return own[1]

    async def _tables_database(self, *, create: bool = True) -> Database:
        """This worker's database with the store's tables created (`create=False` inside
        a caller's transaction: creating tables then would wait for that transaction's
        own lock on SQLite)."""
        if create:
            await self._call("ensure_schema")
        else:
            await self._core()
        assert self._native is not None
        return self._native[0]  # type: ignore[no-any-return]

    def sql(self, database: Database, sql: str) -> str:
        """`sql` with ``{p}`` as the table prefix and ``?`` placeholders as `database`'s
        own (``$1, $2`` on PostgreSQL), for the Python parts that query the tables."""
        sql = sql.replace("{p}", self.config.table_prefix)
        if database.backend != "postgres":
            return sql
        numbers = iter(range(1, sql.count("?") + 1))
        return re.sub(r"\?", lambda _: f"${next(numbers)}", sql)

    async def _call(self, method: str, *args: Any) -> Any:
        native = await self._core()
        future = new_future()
        getattr(native, method)(future, *args)
        return await future

    # --- aggregates -------------------------------------------------------------------

    async def save(self, aggregate: Aggregate) -> list[Event]:
        """Appends the aggregate's uncommitted events, if its stream is still at the version
        it was loaded at (else `ConcurrencyError`, and nothing is written); snapshots it
        every ``snapshot_interval`` events. Returns the events with their positions."""
        events = list(aggregate.uncommitted_events)
        if not events:
            return []
        limit = self.config.max_events_per_aggregate
        if aggregate.version > limit:
            raise ValueError(
                f"aggregate {aggregate.id!r} would reach {aggregate.version} events, above "
                f"max_events_per_aggregate={limit}"
            )
        expected = aggregate.version - len(events)
        stored = await self.append(aggregate.id, events, expected_version=expected)
        aggregate.clear_uncommitted()
        interval = self.config.snapshot_interval
        if self.config.enable_snapshots and aggregate.version // interval > expected // interval:
            await self._call("save_snapshot", aggregate.id, aggregate.version, aggregate.snapshot_state())
        return stored

    async def load(self, aggregate_type: type[A], aggregate_id: str) -> A | None:
        """The aggregate rebuilt from its latest snapshot and the events after it, or None
        when it has no events."""
        aggregate = aggregate_type(aggregate_id)
        since = 0
        if self.config.enable_snapshots:
            snapshot = await self._call("load_snapshot", aggregate_id)
            if snapshot is not None:
                aggregate.restore_snapshot(snapshot["state"])
                aggregate.version = since = snapshot["version"]
        events = await self.get_events(aggregate_id, since_version=since)
        if not events and since == 0:
            return None
        aggregate.load_from_events(events)
        return aggregate

    async def create_snapshot(self, aggregate_type: type[Aggregate], aggregate_id: str) -> Snapshot | None:
        """Loads the aggregate and snapshots it now; None when it does not exist."""
        aggregate = await self.load(aggregate_type, aggregate_id)
        if aggregate is None:
            return None
        state = aggregate.snapshot_state()
        await self._call("save_snapshot", aggregate.id, aggregate.version, state)
        return Snapshot(aggregate.id, aggregate.version, state)

    # --- streams (the original's calls) ------------------------------------------------

    async def append(
        self,
        aggregate_id: str | Event,
        events: Sequence[Event] | Event | None = None,
        expected_version: int | str | None = None,
    ) -> list[Event]:
        """Appends `events` to `aggregate_id`'s stream; ``append(event)`` appends one event
        to its own ``aggregate_id``. `expected_version`: None (any), ``"no_stream"`` or the
        version the stream must be at (`ConcurrencyError` otherwise). Returns the events
        with their versions and positions set."""
        if isinstance(aggregate_id, Event):
            if events is not None:
                raise TypeError("append(event) takes one event; append(aggregate_id, events) takes several")
            events, aggregate_id = [aggregate_id], aggregate_id.aggregate_id or ""
        if isinstance(events, Event):
            events = [events]
        batch = list(events or [])
        if not isinstance(aggregate_id, str) or not aggregate_id:
            raise ValueError("append() needs the aggregate id (set event.aggregate_id, or pass it first)")
        if not batch:
            return []
        for event in batch:
            if not isinstance(event, Event):
                raise TypeError(f"append() takes Event objects, got {event!r}")
        records = await self._call("append", aggregate_id, expected_version, [event._record() for event in batch])
        for event, record in zip(batch, records, strict=True):
            event.aggregate_id = aggregate_id
            event.version = record["version"]
            event.position = record["position"]
        return batch

    async def get_events(self, aggregate_id: str, since_version: int = 0) -> list[Event]:
        """The stream's events after `since_version`, oldest first."""
        return [_from_record(record) for record in await self._call("read_stream", aggregate_id, since_version)]

    async def stream_version(self, aggregate_id: str) -> int:
        """The stream's version (0 when it has no events)."""
        version: int = await self._call("stream_version", aggregate_id)
        return version

    async def read_all(self, from_position: int = 0, limit: int = 1000) -> list[Event]:
        """Up to `limit` events of every aggregate after global position `from_position`."""
        if not self.config.enable_replay:
            raise RuntimeError("replay is off (EventSourcingConfig(enable_replay=False))")
        return [_from_record(record) for record in await self._call("read_all", from_position, limit)]

    async def save_snapshot(
        self, snapshot: Snapshot | str, version: int | None = None, state: dict[str, Any] | None = None
    ) -> None:
        """Replaces the aggregate's snapshot: ``save_snapshot(Snapshot(...))`` or
        ``save_snapshot(aggregate_id, version, state)``."""
        if isinstance(snapshot, Snapshot):
            snapshot_id, version, state = snapshot.aggregate_id, snapshot.version, snapshot.state
        else:
            snapshot_id = snapshot
        if version is None or state is None:
            raise TypeError("save_snapshot() takes a Snapshot, or an aggregate id, a version and a state")
        await self._call("save_snapshot", snapshot_id, version, state)

    async def get_snapshot(self, aggregate_id: str) -> Snapshot | None:
        """The aggregate's latest snapshot, or None."""
        found = await self._call("load_snapshot", aggregate_id)
        if found is None:
            return None
        return Snapshot(found["stream_id"], found["version"], found["state"])

    # --- projections and subscriptions -----------------------------------------------

    async def run_projection(self, projection: Projection) -> int:
        """Feeds `projection` the events after its position (each once); how many."""
        from cello.eventsourcing._projection import run_projection

        return await run_projection(self, projection)

    async def rebuild_projection(self, projection: Projection) -> int:
        """Resets `projection` and feeds it every event from the start; how many."""
        from cello.eventsourcing._projection import rebuild

        return await rebuild(self, projection)

    async def projection_position(self, name: str) -> int:
        """The global position projection `name` has processed up to."""
        position: int = await self._call("projection_position", name)
        return position

    def subscribe(self, from_position: int = 0, *, poll_interval: float = 0.2) -> AsyncIterator[Event]:
        """Every event after `from_position`, then new ones as they commit:
        ``async for event in store.subscribe(): ...``."""
        from cello.eventsourcing._projection import subscribe

        return subscribe(self, from_position, poll_interval=poll_interval)

    async def close(self) -> None:
        """Closes the store's own pool (the app's database stays open)."""
        own, self._own, self._native = self._own, None, None
        if own is not None:
            await own[1].close()

    @property
    def database(self) -> Database | None:
        """The database this worker's store uses, once opened."""
        return self._native[0] if self._native is not None else None

