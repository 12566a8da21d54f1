"""`Producer` and `Consumer`: the original's client API, for code outside subscribers
(scripts on the Cello loop, startup hooks, handlers), on any of the three brokers.

``await Producer.connect(config)`` and ``await Consumer.connect(config)`` take a
`KafkaConfig`, `RabbitMQConfig` or `SqsConfig`. They run on Cello's loop: in handlers,
startup hooks and the TestClient, or in a script under
``asyncio.Runner(loop_factory=cello.data.event_loop)``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any, Self

from cello.messaging.config import KafkaConfig, RabbitMQConfig, SqsConfig
from cello.messaging.kafka import Kafka
from cello.messaging.message import Message
from cello.messaging.rabbitmq import RabbitMQ
from cello.messaging.sqs import Sqs

__all__ = ["Consumer", "Producer"]

AnyConfig = KafkaConfig | RabbitMQConfig | SqsConfig
AnyClient = Kafka | RabbitMQ | Sqs


async def _connect(config: AnyConfig) -> AnyClient:
    if isinstance(config, KafkaConfig):
        return await Kafka.connect(config)
    if isinstance(config, RabbitMQConfig):
        return await RabbitMQ.connect(config)
    if isinstance(config, SqsConfig):
        return await Sqs.connect(config)
    raise TypeError(f"connect() takes a KafkaConfig, RabbitMQConfig or SqsConfig, got {config!r}")


class Producer:
    """Sends messages and waits for the broker's acknowledgement of each.

    Example:
        >>> from cello.messaging import KafkaConfig, Producer
        >>> async def main():
        ...     producer = await Producer.connect(KafkaConfig(brokers="localhost:9092"))
        ...     await producer.send("orders", {"id": 1}, key="customer-7")
        ...     await producer.close()
    """

    def __init__(self, client: AnyClient) -> None:
        self.client = client

    @classmethod
    async def connect(cls, config: AnyConfig) -> Producer:
        """Connects to the broker `config` describes; `BrokerConnectionError` when it
        cannot be reached."""
        return cls(await _connect(config))

    async def send(
        self, topic: str, value: Any, key: str | None = None, headers: dict[str, Any] | None = None,
    ) -> bool:
        """Sends `value` (bytes and text as they are, anything else as JSON) to `topic`
        (a queue on RabbitMQ and SQS); True once the broker acknowledged it. Raises
        `BrokerError` when it did not."""
        await self.client.publish(value, topic, key=key, headers=headers)
        return True

    async def send_batch(self, messages: Iterable[Mapping[str, Any]]) -> int:
        """Sends ``{"topic", "value", "key"?, "headers"?}`` mappings concurrently; the
        number sent, once every one was acknowledged."""
        batch = list(messages)
        for index, message in enumerate(batch):
            if "topic" not in message or "value" not in message:
                raise ValueError(f"message {index} of the batch needs 'topic' and 'value', got {sorted(message)}")
        await asyncio.gather(*(
            self.send(message["topic"], message["value"], message.get("key"), message.get("headers"))
            for message in batch
        ))
        return len(batch)

    async def close(self) -> None:
        """Waits for queued messages and closes the connection."""
        await self.client.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class Consumer:
    """Reads messages in batches with `poll`.

    With ``auto_commit`` (a `KafkaConfig`'s, else True) the messages one `poll` returned
    are acknowledged by the next `poll` or by `close`; without it, call `commit` (or
    settle each message with ``await message.ack()``). What is never acknowledged is
    delivered again (to this group's next member on Kafka).

    Example:
        >>> from cello.messaging import Consumer, KafkaConfig
        >>> async def main():
        ...     consumer = await Consumer.connect(KafkaConfig(group_id="audit"))
        ...     await consumer.subscribe(["orders"])
        ...     for message in await consumer.poll(timeout_ms=1000):
        ...         print(message.json())
        ...     await consumer.close()
    """

    def __init__(self, client: AnyClient, auto_commit: bool, batch: int) -> None:
        self.client = client
        self.auto_commit = auto_commit
        self._batch = batch
        self._subscriptions: list[Any] = []
        self._waiting: dict[asyncio.Future[Any], Any] = {}
        self._uncommitted: list[Message] = []

    @classmethod
    async def connect(cls, config: AnyConfig, *, auto_commit: bool | None = None) -> Consumer:
        """Connects to the broker `config` describes."""
        if auto_commit is None:
            auto_commit = config.auto_commit if isinstance(config, KafkaConfig) else True
        if isinstance(config, KafkaConfig):
            batch = config.max_poll_records
        elif isinstance(config, RabbitMQConfig):
            batch = max(config.prefetch_count, 1)
        else:
            batch = config.max_messages
        return cls(await _connect(config), auto_commit, batch)

    async def subscribe(self, topics: str | Iterable[str]) -> None:
        """Starts reading `topics` (queues on RabbitMQ and SQS, declared when missing)."""
        for topic in [topics] if isinstance(topics, str) else list(topics):
            await self.client.declare_queue(topic)
            self._subscriptions.append(await self.client.subscribe(topic))

    def _arm(self, subscription: Any) -> None:
        from cello.data._native import new_future

        future = new_future()
        subscription.next(future)
        self._waiting[future] = subscription

    async def poll(self, timeout_ms: int = 1000) -> list[Message]:
        """The messages that arrive within `timeout_ms` (at most the config's batch size:
        ``max_poll_records``, ``prefetch_count`` or ``max_messages``); [] when none."""
        if not self._subscriptions:
            raise RuntimeError("subscribe(topics) before poll()")
        if self.auto_commit:
            await self.commit()
        for subscription in self._subscriptions:
            if subscription not in self._waiting.values():
                self._arm(subscription)
        messages: list[Message] = []
        timeout: float | None = max(timeout_ms, 0) / 1000
        while len(messages) < self._batch:
            done, _ = await asyncio.wait(self._waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if not done:
                break
            for future in done:
                subscription = self._waiting.pop(future)
                delivery = future.result()
                if delivery is not None:
                    messages.append(Message._from_delivery(delivery))
                    if len(messages) < self._batch:
                        self._arm(subscription)
            timeout = 0  # then take what is already there, without waiting
        self._uncommitted.extend(messages)
        return messages

    async def commit(self, message: Message | None = None) -> None:
        """Acknowledges `message`, or every message polled and not settled yet."""
        if message is not None:
            if not message.settled:
                await message.ack()
            return
        pending, self._uncommitted = self._uncommitted, []
        for polled in pending:
            if not polled.settled:
                await polled.ack()

    async def close(self) -> None:
        """Commits (with ``auto_commit``), stops reading and closes the connection;
        messages not acknowledged are delivered again."""
        if self.auto_commit:
            await self.commit()
        for future in self._waiting:
            future.cancel()
        self._waiting.clear()
        from cello.data._native import new_future

        for subscription in self._subscriptions:
            future = new_future()
            subscription.stop(future)
            await future
        self._subscriptions.clear()
        await self.client.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
