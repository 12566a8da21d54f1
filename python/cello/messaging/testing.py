"""`TestBroker`: the app's subscribers fed in-process, for fast unit tests of handlers.

Messages published through it (``broker.publish``, ``app.publish`` and ``@app.publisher``
while it is active) go straight to the subscribers of the queue they are routed to, with
the same decoding, validation, ``Depends``, ack policy, retries and dead letters as on
RabbitMQ; no broker, no network. It stands beside the tests on a real broker, not in
their place: routing here is by queue name, and by exact routing key through the
exchanges the subscribers declared.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any, Self

from cello.messaging.message import Message
from cello.messaging.rabbitmq import encode
from cello.messaging.subscriber import Subscriber

__all__ = ["TestBroker"]


class _MemoryDelivery:
    """What a subscriber settles, in memory: the same surface as ``_cello.Delivery``."""

    def __init__(self, broker: TestBroker, subscriber: Subscriber, message: Message) -> None:
        self._broker = broker
        self._subscriber = subscriber
        self._message = message
        self.body = message.value
        self.headers = dict(message.headers)
        self.source = subscriber.queue
        self.exchange = message.exchange
        self.routing_key = message.routing_key
        self.key = message.key
        self.content_type = message.content_type
        self.message_id = message.id
        self.correlation_id = message.correlation_id
        self.reply_to = message.reply_to
        self.redelivered = False
        self.retries = int(message.headers.get("x-cello-retries", 0))
        self.partition: int | None = None
        self.offset: int | None = None
        self.timestamp_ms: int | None = None
        self.settled = False

    def settle(self, future: asyncio.Future[Any], action: str) -> None:
        if self.settled:
            from cello.messaging.errors import MessageSettledError

            future.set_exception(MessageSettledError(f"this message was already settled (now: {action})"))
            return
        self.settled = True
        self._broker.settlements.append((self.source, action, self.body))
        if action in ("nack", "reject") and self._subscriber.dead_letter:
            self._broker._spawn(self._broker._route(self._copy(), self._subscriber.dead_letter))
        future.set_result(None)

    def _copy(self, **headers: Any) -> Message:
        copy = Message(id=self.message_id, topic=self.source, key=self.key, value=self.body,
                       headers={**self.headers, **headers})
        copy.content_type = self.content_type
        return copy

    def retry(self, future: asyncio.Future[Any], _broker: Any, max_retries: int, delay: float,
              backoff: float, max_delay: float) -> None:
        if self.retries >= max_retries:
            self.settle(future, "reject")
            return

        async def again() -> None:
            await asyncio.sleep(min(delay * backoff**self.retries, max_delay))
            self._broker._spawn(self._broker._route(self._copy(**{"x-cello-retries": self.retries + 1}),
                                                    self.source))
            self.settled = True
            self._broker.settlements.append((self.source, "retry", self.body))
            future.set_result("retried")

        self._broker._spawn(again())


class TestBroker:
    """Delivers published messages to `app`'s subscribers in-process.

    Example:
        >>> import asyncio
        >>> from cello import App
        >>> from cello.testing import TestBroker
        >>> app = App()
        >>> got = []
        >>> @app.subscriber("greetings")
        ... def greet(name: str) -> None:
        ...     got.append(name)
        >>> async def main() -> None:
        ...     async with TestBroker(app) as broker:
        ...         await broker.publish("ada", "greetings")
        >>> asyncio.run(main())
        >>> got
        ['ada']
    """

    __test__ = False  # not a pytest test class

    def __init__(self, app: Any) -> None:
        self.app = app
        #: Every message published, by routing key (dead letters and retries included).
        self.published: dict[str, list[Message]] = defaultdict(list)
        #: ``(queue, action, body)`` for each settlement: ack, requeue, nack, reject, retry.
        self.settlements: list[tuple[str, str, bytes]] = []
        self._pending: set[asyncio.Task[Any]] = set()
        self._previous: Any = None
        self.connected = True
        self.address = "memory"
        self._native: Any = None  # what a subscriber hands its deliveries' retry()

    async def __aenter__(self) -> Self:
        self._previous = self.app.__dict__.get("_rabbitmq")
        self.app.__dict__["_rabbitmq"] = self
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self._drain()
        if self._previous is None:
            self.app.__dict__.pop("_rabbitmq", None)
        else:
            self.app.__dict__["_rabbitmq"] = self._previous

    def _spawn(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _drain(self) -> None:
        while self._pending:
            await asyncio.gather(*list(self._pending))

    async def publish(self, message: Any, routing_key: str, *, exchange: str = "", key: str | None = None,
                      headers: dict[str, Any] | None = None, content_type: str | None = None,
                      message_id: str | None = None, correlation_id: str | None = None,
                      reply_to: str | None = None) -> None:
        """Publishes like `RabbitMQ.publish`, and returns once every subscriber it reached
        (and every retry and dead letter that followed) has finished."""
        body, default_type = encode(message)
        outgoing = Message(id=message_id, topic=routing_key, key=key, value=body, headers=dict(headers or {}))
        outgoing.exchange = exchange
        outgoing.content_type = content_type or default_type
        outgoing.correlation_id = correlation_id
        outgoing.reply_to = reply_to
        self._spawn(self._route(outgoing, routing_key, exchange))
        if asyncio.current_task() not in self._pending:  # not from a handler it is running
            await self._drain()

    async def _route(self, message: Message, routing_key: str, exchange: str = "") -> None:
        self.published[routing_key].append(message)
        for subscriber in self.app._subscribers():
            bound = subscriber.exchange == exchange and (subscriber.routing_key or subscriber.queue) == routing_key
            if (not exchange and subscriber.queue == routing_key) or (exchange and bound):
                await subscriber._handle(self, _MemoryDelivery(self, subscriber, message))
