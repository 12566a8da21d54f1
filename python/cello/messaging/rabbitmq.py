"""`RabbitMQ`: a worker's connection to RabbitMQ (``app.rabbitmq``), on the Cello loop.

The connection reconnects by itself after a loss, declares the queues, exchanges and
bindings made through it again, and its subscriptions resume; ``publish`` waits for the
broker's confirm, and a message no queue would receive raises `BrokerError`.
"""

from __future__ import annotations

from typing import Any

from cello import _cello
from cello.data._native import driver, new_future
from cello.messaging.config import RabbitMQConfig

__all__ = ["RabbitMQ", "encode"]


def encode(value: Any) -> tuple[bytes, str]:
    """The body and content type for `value`: bytes as they are, text as UTF-8, anything
    else (dicts, lists, dataclasses, Pydantic models, msgspec structs) as JSON."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value), "application/octet-stream"
    if isinstance(value, str):
        return value.encode(), "text/plain; charset=utf-8"
    return _cello.json_dumps(value), "application/json"


class RabbitMQ:
    """One worker's RabbitMQ connection.

    Example:
        >>> from cello import App, RabbitMQConfig
        >>> app = App()
        >>> app.enable_rabbitmq(RabbitMQConfig(url="amqp://localhost"))
        >>> @app.post("/orders")
        ... async def create(request):
        ...     await app.publish(request.json(), "orders")
        ...     return {"queued": True}
    """

    def __init__(self, native: _cello.RabbitBroker, config: RabbitMQConfig) -> None:
        self._native = native
        self.config = config

    @classmethod
    async def connect(cls, config: RabbitMQConfig) -> RabbitMQ:
        """Connects on the running Cello loop; `BrokerConnectionError` (naming the host
        and port) when RabbitMQ cannot be reached within ``connection_timeout_secs``."""
        future = new_future()
        _cello.RabbitBroker.connect(driver(), future, **config._native_args())
        native: _cello.RabbitBroker = await future
        return cls(native, config)

    @property
    def address(self) -> str:
        """host:port of the broker."""
        return self._native.address

    @property
    def connected(self) -> bool:
        """Whether the connection is up now (False while it reconnects)."""
        return self._native.connected

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
    ) -> None:
        """Declares a queue (and `dead_letter`, a queue that receives what it rejects)."""
        await self._call("declare_queue", name, durable, auto_delete, dead_letter, arguments)

    async def declare_exchange(self, name: str, type: str = "direct", *, durable: bool = True) -> None:
        """Declares an exchange: ``direct``, ``fanout``, ``topic`` or ``headers``."""
        await self._call("declare_exchange", name, type, durable)

    async def bind(self, queue: str, exchange: str, routing_key: str) -> None:
        """Binds `queue` to `exchange` for `routing_key` (a pattern on a topic exchange)."""
        await self._call("bind", queue, exchange, routing_key)

    async def publish(
        self,
        message: Any,
        routing_key: str,
        *,
        exchange: str = "",
        key: str | None = None,
        headers: dict[str, Any] | None = None,
        content_type: str | None = None,
        message_id: str | None = None,
        correlation_id: str | None = None,
        reply_to: str | None = None,
    ) -> None:
        """Publishes `message` (encoded by `encode`) and waits for the broker's confirm.

        On the default exchange (``exchange=""``) the routing key is the queue's name.
        """
        body, default_type = encode(message)
        future = new_future()
        self._native.publish(
            future, exchange, routing_key, body, headers, key, content_type or default_type,
            message_id, correlation_id, reply_to,
        )
        await future

    async def subscribe(self, queue: str) -> _cello.RabbitSubscription:
        """The native subscription of `queue` (subscribers use this)."""
        subscription: _cello.RabbitSubscription = await self._call("subscribe", queue)
        return subscription

    async def close(self) -> None:
        """Closes the connection; unsettled messages go back to their queues."""
        await self._call("close")
