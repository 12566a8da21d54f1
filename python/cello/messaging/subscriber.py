"""Subscribers: each consumes its queue in every worker, calls its handler per message,
and settles the message by its ack policy.

Order: with ``concurrency=1`` (the default) a subscriber handles one message at a time,
in queue order. With more, messages of one key (``publish(..., key=...)``) still go to
the same lane, one after the other; messages without a key are spread over the lanes.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
import os
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cello import _cello
from cello.exceptions import RequestValidationError
from cello.messaging import _metrics
from cello.messaging._compile import Incoming
from cello.messaging.config import Retry
from cello.messaging.message import Message, MessageResult

__all__ = ["ACK_POLICIES", "Subscriber"]

logger = logging.getLogger("cello.messaging")

# ack_first: acked on arrival (at most once). retry: acked after the handler returns; a
# raise retries with backoff, then dead-letters. nack_on_error: a raise puts it back on
# the queue. reject_on_error: a raise dead-letters it. manual: the handler settles it.
ACK_POLICIES = ("ack_first", "retry", "nack_on_error", "reject_on_error", "manual")

# Deliveries taken from the broker's client per wake-up, at most.
_BATCH = 64

_RESULTS = {
    MessageResult.ACK: "ack",
    MessageResult.NACK: "requeue",
    MessageResult.REQUEUE: "requeue",
    MessageResult.REJECT: "reject",
    MessageResult.DEAD_LETTER: "reject",
}


@dataclass
class Subscriber:
    """One ``@app.subscriber(...)`` registration."""

    queue: str
    handler: Callable[..., Any]
    exchange: str | None
    routing_key: str | None
    exchange_type: str
    durable: bool
    auto_delete: bool
    dead_letter: str | None
    ack_policy: str
    retry: Retry
    concurrency: int
    broker: str | None = None
    group: str | None = None
    retry_given: bool = True
    workers: int | None = None
    run: Callable[[Incoming], Any] | None = None
    _subscription: Any = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _broker_name: str = ""

    async def declare(self, broker: Any) -> None:
        await broker.declare_queue(self.queue, durable=self.durable, auto_delete=self.auto_delete,
                                   dead_letter=self.dead_letter)
        if self.exchange:
            await broker.declare_exchange(self.exchange, self.exchange_type, durable=self.durable)
            await broker.bind(self.queue, self.exchange, self.routing_key or self.queue)

    async def start(self, broker: Any) -> None:
        from cello.messaging.kafka import Kafka

        self._broker_name = type(broker).__name__.lower()
        if isinstance(broker, Kafka):
            self._subscription = await broker.subscribe(self.queue, group=self.group, dead_letter=self.dead_letter)
        else:
            self._subscription = await broker.subscribe(self.queue)
        # Bounded: a lane that falls behind stops the reading, and the broker's client
        # stops fetching (Kafka) once its own buffer is full.
        lanes: list[asyncio.Queue[Any]] = [asyncio.Queue(_BATCH) for _ in range(self.concurrency)]
        self._tasks = [asyncio.ensure_future(self._lane(broker, lane)) for lane in lanes]
        self._tasks.append(asyncio.ensure_future(self._read(lanes)))

    async def _read(self, lanes: list[asyncio.Queue[Any]]) -> None:
        from cello.data._native import new_future

        spread = itertools.cycle(range(len(lanes)))
        assert self._subscription is not None
        try:
            while True:
                # What has arrived, in one wake-up (waiting only for the first).
                future = new_future()
                self._subscription.next_batch(future, _BATCH)
                deliveries = await future
                if not deliveries:
                    break
                for delivery in deliveries:
                    key = delivery.key
                    index = zlib.crc32(key.encode()) % len(lanes) if key is not None else next(spread)
                    await lanes[index].put(delivery)
        finally:
            for lane in lanes:
                await lane.put(None)  # after what the lane still holds

    async def _lane(self, broker: Any, lane: asyncio.Queue[Any]) -> None:
        while (delivery := await lane.get()) is not None:
            try:
                await self._handle(broker, delivery)
            except Exception:  # a broken connection while settling: the broker redelivers it
                logger.exception("settling a message from %r failed", self.queue)

    async def _handle(self, broker: Any, delivery: _cello.Delivery) -> None:
        started = time.perf_counter()
        outcome = await self._outcome(broker, delivery)
        _metrics.observe(self._broker_name, self.queue, outcome, time.perf_counter() - started)

    async def _outcome(self, broker: Any, delivery: _cello.Delivery) -> str:
        """Handles one message and settles it; ``"ok"``, ``"error"`` or ``"invalid"``."""
        message = Message._from_delivery(delivery)
        if self.ack_policy == "ack_first":
            await message.ack()
        assert self.run is not None
        try:
            result = self.run(Incoming(message))
            if inspect.isawaitable(result):
                result = await result
        except RequestValidationError as exc:
            # Retrying cannot fix a body that does not validate: straight to the dead letter.
            logger.error("message from %r rejected, it does not validate: %s", self.queue, exc.errors())
            await self._settle(message, "reject")
            return "invalid"
        except Exception:
            logger.exception("handler %s failed on a message from %r (retries so far: %d)",
                             getattr(self.handler, "__qualname__", self.handler), self.queue, message.retries)
            await self._failed(broker, message, delivery)
            return "error"
        if isinstance(result, MessageResult):
            await self._settle(message, _RESULTS[result])
            return "ok"
        if self.ack_policy != "manual":
            await self._settle(message, "ack")
        return "ok"

    async def _failed(self, broker: Any, message: Message, delivery: _cello.Delivery) -> None:
        if message.settled:
            return
        if self.ack_policy == "retry":
            from cello.data._native import new_future

            retry = self.retry
            future = new_future()
            delivery.retry(future, broker._native, retry.max_retries, retry.delay, retry.backoff, retry.max_delay)
            await future
        elif self.ack_policy == "reject_on_error":
            await message.reject()
        else:  # nack_on_error, manual
            await message.nack(requeue=True)

    @staticmethod
    async def _settle(message: Message, action: str) -> None:
        if not message.settled:
            await message._settle(action)

    def runs_here(self) -> bool:
        """Whether this worker consumes for it: every worker, or the first `workers`
        (by the slot the supervisor gives each worker, kept across its restarts)."""
        return self.workers is None or int(os.environ.get("CELLO_WORKER_SLOT", "0")) < self.workers

    def status(self) -> dict[str, Any]:
        """What the health report shows of this subscriber."""
        if not self.runs_here():
            return {"running": False, "in_this_worker": False}
        status: dict[str, Any] = {"running": bool(self._tasks) and not all(task.done() for task in self._tasks)}
        if self._broker_name == "kafka" and self._subscription is not None:
            status.update(group=self._subscription.group, partitions=self._subscription.assignment,
                          pending=self._subscription.pending)
        return status

    async def stop(self, timeout: float) -> None:
        """Stops taking messages, lets those taken finish within `timeout`; what is still
        unfinished then goes back to the queue when the connection closes."""
        from cello.data._native import new_future

        if self._subscription is not None:
            future = new_future()
            self._subscription.stop(future)
            await future
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            self._tasks = []
