"""`Kafka`: a worker's Kafka client (``app.kafka``), on the Cello loop, with the
interface the subscribers use for RabbitMQ and SQS.

Each subscription is a member of a consumer group: the workers of one app (same group)
split the topic's partitions, and a worker that stops hands its partitions to the
others. Only processed offsets are committed. Kafka cannot requeue or dead-letter a
single record, so a requeue publishes a copy to the end of the topic and a reject
copies it to the subscriber's dead-letter topic; then the record counts as processed.
"""

from __future__ import annotations

from typing import Any

from cello import _cello
from cello.data._native import driver, new_future
from cello.messaging.config import KafkaConfig
from cello.messaging.errors import BrokerError
from cello.messaging.rabbitmq import encode

__all__ = ["Kafka"]


class Kafka:
    """One worker's Kafka client: a producer, and a group member per subscription.

    Example:
        >>> from cello import App, KafkaConfig
        >>> app = App()
        >>> app.enable_messaging(KafkaConfig(brokers=["localhost:9092"], group_id="my-group"))
        >>> @app.post("/orders")
        ... async def create(request):
        ...     await app.publish(request.json(), "orders", key="customer-7")
        ...     return {"queued": True}
    """

    def __init__(self, native: _cello.KafkaBroker, config: KafkaConfig) -> None:
        self._native = native
        self.config = config

    @classmethod
    async def connect(cls, config: KafkaConfig) -> Kafka:
        """Opens the producer and waits for the brokers' metadata;
        `BrokerConnectionError` naming the brokers when none answers within
        ``connection_timeout_secs``."""
        future = new_future()
        _cello.KafkaBroker.connect(driver(), future, **config._native_args())
        native: _cello.KafkaBroker = await future
        return cls(native, config)

    @property
    def address(self) -> str:
        """host:port,... of the bootstrap brokers."""
        return self._native.address

    @property
    def connected(self) -> bool:
        """librdkafka reconnects by itself; a publish that cannot reach a broker within
        ``publish_timeout_secs`` raises `BrokerError`."""
        return True

    async def _call(self, method: str, *args: Any) -> Any:
        future = new_future()
        getattr(self._native, method)(future, *args)
        return await future

    async def declare_topic(self, name: str, partitions: int | None = None) -> None:
        """Creates topic `name` with `partitions` (default: the config's
        ``topic_partitions``) unless it exists."""
        await self._call("declare_topic", name, partitions)

    async def declare_queue(
        self,
        name: str,
        *,
        durable: bool = True,
        auto_delete: bool = False,
        dead_letter: str | None = None,
        arguments: dict[str, Any] | None = None,
    ) -> None:
        """Creates topic `name` and its `dead_letter` topic unless they exist (what
        ``@app.subscriber`` calls). Kafka topics are always durable."""
        if auto_delete or arguments:
            raise BrokerError(f"topic {name!r}: Kafka has no auto_delete topics or queue arguments")
        await self.declare_topic(name)
        if dead_letter:
            await self.declare_topic(dead_letter)

    async def declare_exchange(self, name: str, type: str = "direct", *, durable: bool = True) -> None:
        raise BrokerError(f"Kafka has no exchanges (asked for {name!r}): subscribe to the topic itself")

    async def bind(self, queue: str, exchange: str, routing_key: str) -> None:
        raise BrokerError(f"Kafka has no exchanges to bind {queue!r} to")

    async def publish(
        self,
        message: Any,
        topic: str,
        *,
        exchange: str = "",
        key: str | None = None,
        headers: dict[str, Any] | None = None,
        content_type: str | None = None,
        message_id: str | None = None,
        correlation_id: str | None = None,
        reply_to: str | None = None,
    ) -> None:
        """Produces `message` (bytes and text as they are, anything else as JSON) to
        `topic` and waits for the brokers' acknowledgement. Records of one `key` go to
        one partition, so they keep their order. Header values travel as text."""
        if exchange:
            raise BrokerError("Kafka has no exchanges: publish to a topic")
        body, default_type = encode(message)
        await self._call(
            "publish", topic, body, headers, key, content_type or default_type, message_id, correlation_id, reply_to,
        )

    async def subscribe(
        self, topic: str, *, group: str | None = None, dead_letter: str | None = None,
    ) -> _cello.KafkaSubscription:
        """Joins `group` (default: the config's ``group_id``) as a member reading
        `topic`; rejected records are copied to `dead_letter`."""
        subscription: _cello.KafkaSubscription = await self._call("subscribe", topic, group, dead_letter)
        return subscription

    async def close(self) -> None:
        """Commits what was processed, leaves every group and flushes the producer."""
        await self._call("close")
