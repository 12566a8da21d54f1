"""`Projection`: a read model fed by the global event order, its position kept in the
same transaction as its effect (each event counts once per projection, also with
several workers running it), rebuildable from zero; `subscribe`: catch-up reading."""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, ClassVar

from cello.data.errors import IntegrityError
from cello.eventsourcing._events import Event

if TYPE_CHECKING:
    from cello.data.transaction import Transaction
    from cello.eventsourcing._store import EventStore

__all__ = ["Projection", "rebuild", "run_projection", "subscribe"]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


class Projection:
    """A read model built from every aggregate's events in global order.

    Handlers are ``on_<snake_case>(self, event, tx)`` methods (sync or async); ``tx`` is
    the transaction that also moves the projection's position, so a read model kept in
    the same database is updated exactly once per event. `reset` clears it for
    `rebuild`.

    Example:
        >>> from cello.eventsourcing import Projection
        >>> class OrderTotals(Projection):
        ...     name = "order_totals"
        ...     async def on_order_created(self, event, tx):
        ...         await tx.execute("INSERT INTO totals (id, total) VALUES (?, ?)", event.order_id, event.total)
        ...     async def reset(self, tx):
        ...         await tx.execute("DELETE FROM totals")
    """

    name: ClassVar[str] = ""
    batch_size: ClassVar[int] = 200

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__dict__.get("name"):
            cls.name = cls.__name__

    async def reset(self, tx: Transaction) -> None:
        """Clears the read model before a rebuild (override it)."""

    async def handle(self, event: Event, tx: Transaction) -> None:
        handler = getattr(self, "on_" + _CAMEL.sub("_", event.event_type).lower(), None)
        if handler is None:
            return
        result = handler(event, tx)
        if inspect.isawaitable(result):
            await result


async def run_projection(store: EventStore, projection: Projection) -> int:
    """Feeds `projection` every event after its position; the number processed."""
    if not store.config.enable_replay:
        raise RuntimeError("replay is off (EventSourcingConfig(enable_replay=False))")
    database = await store._tables_database()
    try:
        await database.execute(store.sql(database, "INSERT INTO {p}projections (name, position) VALUES (?, 0)"),
                               projection.name)
    except IntegrityError:
        pass  # it has a row already
    lock = "" if database.backend == "sqlite" else " FOR UPDATE"
    processed = 0
    while True:
        async with database.transaction() as tx:
            position = await tx.fetchval(
                store.sql(database, "SELECT position FROM {p}projections WHERE name = ?" + lock), projection.name
            )
            events = await store.read_all(int(position), projection.batch_size)
            for event in events:
                await projection.handle(event, tx)
            if events:
                await tx.execute(
                    store.sql(database, "UPDATE {p}projections SET position = ? WHERE name = ?"),
                    events[-1].position,
                    projection.name,
                )
        processed += len(events)
        if len(events) < projection.batch_size:
            return processed


async def rebuild(store: EventStore, projection: Projection) -> int:
    """Resets `projection` (its `reset` and its position, in one transaction), then
    feeds it every event from the start; the number processed."""
    database = await store._tables_database()
    async with database.transaction() as tx:
        await projection.reset(tx)
        await tx.execute(store.sql(database, "DELETE FROM {p}projections WHERE name = ?"), projection.name)
    return await run_projection(store, projection)


async def subscribe(
    store: EventStore, from_position: int = 0, *, poll_interval: float = 0.2, batch_size: int = 200
) -> AsyncIterator[Event]:
    """Every event after `from_position` in global order, then each new one as it is
    committed (polling every `poll_interval` seconds when caught up). Positions are
    assigned in commit order, so a late commit is never skipped."""
    position = from_position
    while True:
        events = await store.read_all(position, batch_size)
        for event in events:
            assert event.position is not None
            position = event.position
            yield event
        if len(events) < batch_size:
            await asyncio.sleep(poll_interval)
