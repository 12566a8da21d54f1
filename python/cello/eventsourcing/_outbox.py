"""The transactional outbox: rows written in the same transaction as the events (or the
app's own changes), published by a relay in each worker, marked once the broker
confirmed. A message is published if and only if its transaction committed, at least
once (a relay that dies between the confirm and the mark publishes it again: consumers
de-duplicate on the ``message_id``, the event id)."""

from __future__ import annotations

import asyncio
import datetime as _dt
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from cello.data.transaction import current_transaction

if TYPE_CHECKING:
    from cello.data.transaction import Transaction
    from cello.eventsourcing._store import EventStore

__all__ = ["Inbox", "Outbox"]

logger = logging.getLogger("cello.outbox")

Publish = Callable[..., Awaitable[Any]]
_MESSAGE_ID = re.compile(r"[A-Za-z0-9._:-]{1,255}")


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Outbox:
    """The outbox of an event store (``app.outbox`` with
    ``EventSourcingConfig(outbox="queue")``).

    Example:
        >>> async def place(request):
        ...     async with request.db.transaction() as tx:
        ...         await tx.execute("INSERT INTO orders (id) VALUES (?)", 1)
        ...         await request.app.outbox.add("billing", {"order": 1}, key="1", tx=tx)
    """

    def __init__(self, store: EventStore, publish: Publish | None = None, *, batch_size: int = 100,
                 poll_interval: float = 0.2) -> None:
        self.store = store
        self.publish = publish
        self.batch_size = batch_size
        self.poll_interval = poll_interval

    async def add(self, destination: str, message: Any, *, key: str | None = None,
                  headers: dict[str, Any] | None = None, tx: Transaction | None = None) -> str:
        """Queues `message` (JSON) for `destination` inside the transaction `tx` (or the
        current one): it is published after the transaction commits, never if it rolls
        back. Returns the message id."""
        tx = tx if tx is not None else current_transaction()
        if tx is None:
            raise RuntimeError(
                "outbox.add() belongs inside a database transaction: "
                "async with app.database.transaction() as tx: await app.outbox.add(..., tx=tx)"
            )
        database = await self.store._tables_database(create=False)
        message_id = str(uuid.uuid4())
        await tx.execute(
            self.store.sql(database, "INSERT INTO {p}outbox (id, destination, message_key, payload, headers, seq, "
                                     "created_at, published_at) VALUES (?, ?, ?, ?, ?, 0, ?, NULL)"),
            message_id, destination, key, json.dumps(message), json.dumps(headers or {}), _now(),
        )
        return message_id

    async def pending(self) -> int:
        """How many rows wait to be published."""
        database = await self.store._tables_database()
        count: int = await database.fetchval(self.store.sql(database, "SELECT COUNT(*) FROM {p}outbox WHERE published_at IS NULL"))
        return count

    async def relay_once(self) -> int:
        """Publishes one batch of unpublished rows, oldest first, and marks them, in one
        transaction (rows locked with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL and MySQL,
        so workers share the work); the number published. A publish that fails rolls
        the batch back: it is tried again later."""
        if self.publish is None:
            raise RuntimeError("the outbox has no broker to publish to: app.enable_rabbitmq(...), enable_messaging(...) or enable_sqs(...) first")
        database = await self.store._tables_database()
        sql = self.store.sql
        lock = "" if database.backend == "sqlite" else " FOR UPDATE SKIP LOCKED"
        # A look without a lock first: an idle relay takes no write lock (SQLite has one
        # for the whole database).
        waiting = await database.fetchval(sql(database, "SELECT id FROM {p}outbox WHERE published_at IS NULL LIMIT 1"))
        if waiting is None:
            return 0
        async with database.transaction() as tx:
            rows = await tx.fetch(
                sql(database, "SELECT id, destination, message_key, payload, headers FROM {p}outbox "
                              f"WHERE published_at IS NULL ORDER BY created_at, seq, id LIMIT ?{lock}"),
                self.batch_size,
            )
            for row in rows:
                await self.publish(
                    row["payload"].encode(), row["destination"], key=row["message_key"],
                    headers=json.loads(row["headers"]), content_type="application/json", message_id=row["id"],
                )
            stamp = _now()
            for row in rows:
                await tx.execute(
                    sql(database, "UPDATE {p}outbox SET published_at = ? WHERE id = ?"), stamp, row["id"]
                )
        return len(rows)

    async def run(self) -> None:
        """Relays until cancelled: at once while there is a backlog, every
        `poll_interval` when idle, backing off up to 5 s while the broker fails."""
        delay = self.poll_interval
        while True:
            try:
                published = await self.relay_once()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - the relay outlives a broker outage
                logger.warning("outbox relay: %s; retrying in %.1f s", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            delay = self.poll_interval
            if published < self.batch_size:
                await asyncio.sleep(self.poll_interval)


class Inbox:
    """Consumer-side de-duplication: ``await inbox.seen(message_id, tx)`` records the id
    in the transaction of the handler's effect and returns True when it was recorded
    before (skip the message then).

    Example:
        >>> async def on_order(message, db):
        ...     async with db.transaction() as tx:
        ...         if await app.inbox.seen(message.id, tx):
        ...             return
        ...         await tx.execute("INSERT INTO billed (order_id) VALUES (?)", message.key)
    """

    def __init__(self, table: str = "cello_inbox") -> None:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", table):
            raise ValueError(f"the inbox table name {table!r} may hold only letters, digits and underscores")
        self.table = table
        self._created = False

    async def seen(self, message_id: str, tx: Transaction) -> bool:
        from cello.data.errors import IntegrityError

        if not _MESSAGE_ID.fullmatch(message_id):
            raise ValueError(f"message id {message_id[:80]!r} is not an id: letters, digits and ._:- only, up to 255")

        if not self._created:  # once per process (an inbox belongs to one database)
            await tx.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} (id VARCHAR(255) NOT NULL PRIMARY KEY, seen_at VARCHAR(64) NOT NULL)"
            )
            self._created = True
        try:
            async with tx.transaction() as savepoint:
                await savepoint.execute(f"INSERT INTO {self.table} (id, seen_at) VALUES ('{message_id}', '{_now()}')")
        except IntegrityError:
            return True
        return False
