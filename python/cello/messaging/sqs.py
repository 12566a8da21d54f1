"""`Sqs`: a worker's SQS client (``app.sqs``), on the Cello loop, with the interface the
subscribers use for RabbitMQ: queues declared (with a dead letter), long-poll
subscriptions, publish. Acks delete the message, a requeue makes it visible again at
once, a reject copies it to the dead letter and deletes it."""

from __future__ import annotations

from typing import Any

from cello import _cello
from cello.data._native import driver, new_future
from cello.messaging.config import SqsConfig
from cello.messaging.errors import BrokerError
from cello.messaging.rabbitmq import encode

__all__ = ["Sqs"]


class Sqs:
    """One worker's SQS client.

    Example:
        >>> from cello import App, SqsConfig
        >>> app = App()
        >>> app.enable_sqs(SqsConfig.local())
        >>> @app.post("/jobs")
        ... async def queue_job(request):
        ...     await app.publish(request.json(), "jobs")
        ...     return {"queued": True}
    """

    def __init__(self, native: _cello.SqsBroker, config: SqsConfig) -> None:
        self._native = native
        self.config = config

    @classmethod
    async def connect(cls, config: SqsConfig) -> Sqs:
        """Checks that SQS answers (and that ``queue_url`` exists, when set);
        `BrokerConnectionError` naming the endpoint otherwise."""
        future = new_future()
        _cello.SqsBroker.connect(driver(), future, **config._native_args())
        native: _cello.SqsBroker = await future
        return cls(native, config)

    @property
    def address(self) -> str:
        """host[:port] of the endpoint."""
        return self._native.address

    @property
    def connected(self) -> bool:
        """Always True: SQS has no connection to lose (each request stands alone)."""
        return True

    async def _call(self, method: str, *args: Any) -> Any:
        future = new_future()
        getattr(self._native, method)(future, *args)
        return await future

    async def declare_queue(
        self,
        name: str,
        *,
        durable: bool = True,
        auto_delete: bool = False,
        dead_letter: str | None = None,
        arguments: dict[str, Any] | None = None,
    ) -> str:
        """Creates queue `name` (a ``.fifo`` name: a FIFO queue) unless it exists, and
        `dead_letter`; returns the queue's URL. SQS queues are always durable."""
        if auto_delete or arguments:
            raise BrokerError(f"queue {name!r}: SQS has no auto_delete queues or queue arguments")
        url: str = await self._call("declare_queue", name, dead_letter)
        return url

    async def declare_exchange(self, name: str, type: str = "direct", *, durable: bool = True) -> None:
        raise BrokerError(f"SQS has no exchanges (asked for {name!r}): subscribe to the queue itself")

    async def bind(self, queue: str, exchange: str, routing_key: str) -> None:
        raise BrokerError(f"SQS has no exchanges to bind {queue!r} to")

    async def publish(
        self,
        message: Any,
        queue: str,
        *,
        exchange: str = "",
        key: str | None = None,
        headers: dict[str, Any] | None = None,
        content_type: str | None = None,
        message_id: str | None = None,
        correlation_id: str | None = None,
        reply_to: str | None = None,
    ) -> None:
        """Sends `message` (encoded like RabbitMQ's: bytes, text, else JSON) to `queue`, a
        name or a URL; on a FIFO queue `key` is the message group. Headers travel as
        message attributes (SQS allows 10 in all)."""
        if exchange:
            raise BrokerError("SQS has no exchanges: publish to a queue name")
        body, default_type = encode(message)
        await self._call(
            "publish", queue, body, headers, key, content_type or default_type, message_id, correlation_id, reply_to,
        )

    async def subscribe(self, queue: str) -> _cello.SqsSubscription:
        subscription: _cello.SqsSubscription = await self._call("subscribe", queue)
        return subscription

    async def close(self) -> None:
        await self._call("close")
