"""`App.enable_rabbitmq`, `App.enable_messaging` (Kafka), `App.enable_sqs`, ``@app.subscriber``, ``@app.publisher`` and ``app.publish``:
messaging's half of `cello.App`.

Registrations are collected on the app; each worker connects in a startup hook (after
the fork, on its own loop), declares its subscribers' queues and starts consuming, and
at shutdown stops consuming, lets the handlers finish and closes the connection.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from cello._features import require_feature
from cello.messaging.config import KafkaConfig, RabbitMQConfig, Retry, SqsConfig
from cello.messaging.kafka import Kafka
from cello.messaging.rabbitmq import RabbitMQ
from cello.messaging.sqs import Sqs
from cello.messaging.subscriber import ACK_POLICIES, Subscriber

__all__ = ["BROKERS", "MessagingMixin"]

# The brokers, in the order a subscriber or publish without ``broker=`` picks among the
# enabled ones.
BROKERS = ("rabbitmq", "kafka", "sqs")

F = TypeVar("F", bound=Callable[..., Any])


class MessagingMixin:
    """``enable_rabbitmq`` / ``subscriber`` / ``publisher`` / ``publish`` for `cello.App`."""

    _hooks: dict[str, list[Any]]
    _add_check: Callable[[Any], None]

    def _broker_enabled(self, name: str, opened: Callable[[], Any], closed: Callable[[], Any]) -> None:
        """The hooks that connect each worker to broker `name`, its subscribers' metrics,
        and its automatic health check (``/health/ready``: DOWN while the worker has no
        connection, or RabbitMQ's is lost; the subscribers' state as details)."""
        from cello.messaging import _metrics
        from cello.observability.health import HealthCheck

        self._hooks["startup"].insert(0, opened)
        self._hooks["shutdown"].insert(0, closed)
        _metrics.define()

        async def check() -> dict[str, Any]:
            client = self.__dict__.get(f"_{name}")
            if client is None:
                return {"status": "DOWN", "reason": "not connected"}
            subscribers = {registration.queue: registration.status() for registration in self._subscribers(name)}
            up = client.connected and all(status["running"] for status in subscribers.values()
                                          if status.get("in_this_worker", True))
            return {"status": "UP" if up else "DOWN", "address": client.address, "subscribers": subscribers}

        self._add_check(HealthCheck(name, check, automatic=True))

    def enable_rabbitmq(self, config: RabbitMQConfig | None = None) -> None:
        """Gives every worker a RabbitMQ connection, opened when the worker starts, and
        runs the app's subscribers in each worker.

        Example:
            >>> from cello import App, RabbitMQConfig
            >>> app = App()
            >>> app.enable_rabbitmq(RabbitMQConfig(
            ...     url="amqp://localhost",
            ...     prefetch_count=20
            ... ))
        """
        if config is None:
            config = RabbitMQConfig()
        if not isinstance(config, RabbitMQConfig):
            raise TypeError(f"enable_rabbitmq() takes a RabbitMQConfig, got {config!r}")
        if "_rabbitmq_config" in self.__dict__:
            raise ValueError("enable_rabbitmq() was called already: call it once, with the config to use")
        require_feature("rabbitmq", "RabbitMQ (app.enable_rabbitmq)")
        self.__dict__["_rabbitmq_config"] = config
        self._broker_enabled("rabbitmq", self._open_rabbitmq, self._close_rabbitmq)

    def enable_sqs(self, config: SqsConfig | None = None) -> None:
        """Gives every worker an SQS client, checked when the worker starts, and runs the
        app's SQS subscribers in each worker (``@app.subscriber(queue, broker="sqs")``,
        or every subscriber when RabbitMQ is not enabled).

        Example:
            >>> from cello import App, SqsConfig
            >>> app = App()
            >>> app.enable_sqs(SqsConfig(
            ...     region="us-west-2",
            ...     queue_url="https://sqs.us-west-2.amazonaws.com/123/queue"
            ... ))
        """
        if config is None:
            config = SqsConfig()
        if not isinstance(config, SqsConfig):
            raise TypeError(f"enable_sqs() takes a SqsConfig, got {config!r}")
        if "_sqs_config" in self.__dict__:
            raise ValueError("enable_sqs() was called already: call it once, with the config to use")
        require_feature("sqs", "SQS (app.enable_sqs)")
        self.__dict__["_sqs_config"] = config
        self._broker_enabled("sqs", self._open_sqs, self._close_sqs)

    def enable_messaging(self, config: KafkaConfig | None = None) -> None:
        """Gives every worker a Kafka client (a producer, and a consumer-group member per
        subscriber), opened when the worker starts, and runs the app's Kafka subscribers
        in each worker; the workers split each topic's partitions.

        Example:
            >>> from cello import App, KafkaConfig
            >>> app = App()
            >>> app.enable_messaging(KafkaConfig(
            ...     brokers=["localhost:9092"],
            ...     group_id="my-group"
            ... ))
        """
        if config is None:
            config = KafkaConfig()
        if not isinstance(config, KafkaConfig):
            raise TypeError(f"enable_messaging() takes a KafkaConfig, got {config!r}")
        if "_kafka_config" in self.__dict__:
            raise ValueError("enable_messaging() was called already: call it once, with the config to use")
        require_feature("kafka", "Kafka (app.enable_messaging)")
        self.__dict__["_kafka_config"] = config
        self._broker_enabled("kafka", self._open_kafka, self._close_kafka)

    enable_kafka = enable_messaging

    def _default_broker(self) -> str | None:
        """The broker of subscribers and publishes that name none: the first enabled of
        RabbitMQ, Kafka, SQS."""
        for name in BROKERS:
            if f"_{name}_config" in self.__dict__:
                return name
        return None

    def _subscribers(self, broker: str | None = None) -> list[Subscriber]:
        """Every registration; with `broker`, those that consume from it (a subscriber
        without ``broker=`` uses the first enabled of RabbitMQ, Kafka, SQS)."""
        found: list[Subscriber] = self.__dict__.setdefault("_message_subscribers", [])
        if broker is None:
            return found
        default = self._default_broker()
        return [registration for registration in found if (registration.broker or default) == broker]

    def subscriber(
        self,
        queue: str,
        *,
        exchange: str | None = None,
        routing_key: str | None = None,
        exchange_type: str = "direct",
        durable: bool = True,
        auto_delete: bool = False,
        dead_letter: str | None = None,
        ack_policy: str = "retry",
        retry: Retry | None = None,
        concurrency: int = 1,
        broker: str | None = None,
        group: str | None = None,
        workers: int | None = None,
    ) -> Callable[[F], F]:
        """Consumes `queue` (a Kafka topic) in every worker with the decorated handler (sync or async).

        The handler's first plain parameter is the message: typed with a model (Pydantic,
        msgspec, dataclass), ``dict`` or ``list`` it is the JSON body validated; ``bytes``
        or ``str`` the body; `cello.messaging.Message` (or no annotation) the message
        itself. Other parameters may be ``Depends(...)`` or ``Header()`` (message
        headers). With `exchange`, the queue is bound to it for `routing_key` (default:
        the queue's name).

        `ack_policy`: ``"retry"`` (ack after the handler returns; when it raises, publish
        again after a backoff per `retry`, then reject to `dead_letter`),
        ``"nack_on_error"``, ``"reject_on_error"``, ``"ack_first"`` or ``"manual"``
        (``await message.ack()``). A body that does not validate goes to the dead letter
        at once. A handler may return a `MessageResult` to settle its message itself.

        `broker`: ``"rabbitmq"``, ``"kafka"`` or ``"sqs"`` when several are enabled
        (default: the first enabled of these). `group`: the Kafka consumer group (default:
        ``KafkaConfig.group_id``). `workers`: consume in the first `workers` worker
        processes only (default: in every worker).

        Example:
            >>> from dataclasses import dataclass
            >>> from cello import App
            >>> app = App()
            >>> @dataclass
            ... class Order:
            ...     id: int
            >>> @app.subscriber("orders", dead_letter="orders.dead")
            ... async def on_order(order: Order) -> None:
            ...     print(order.id)
        """
        from cello.messaging._compile import compile_subscriber

        if ack_policy not in ACK_POLICIES:
            raise ValueError(f"unknown ack_policy {ack_policy!r}; use one of {', '.join(ACK_POLICIES)}")
        if not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"concurrency must be a positive integer, got {concurrency!r}")
        if not queue:
            raise ValueError("subscriber() needs a queue name")
        if workers is not None and (not isinstance(workers, int) or workers < 1):
            raise ValueError(f"workers must be a positive integer (or None: every worker), got {workers!r}")
        if broker is not None and broker not in BROKERS:
            raise ValueError(f"broker must be one of {', '.join(map(repr, BROKERS))}, got {broker!r}")

        def decorator(handler: F) -> F:
            owner = f"subscriber {queue!r} ({getattr(handler, '__qualname__', handler)})"
            registration = Subscriber(
                queue, handler, exchange, routing_key, exchange_type, durable, auto_delete,
                dead_letter, ack_policy, retry or Retry(), concurrency, broker=broker,
                group=group, retry_given=retry is not None, workers=workers,
            )
            registration.run = compile_subscriber(handler, self, owner)
            self._subscribers().append(registration)
            return handler

        return decorator

    def publisher(
        self,
        routing_key: str,
        *,
        exchange: str = "",
        headers: dict[str, Any] | None = None,
    ) -> Callable[[F], F]:
        """Publishes the decorated handler's return value (when it is not None) to
        `routing_key` (a queue name on the default exchange); for subscribers and HTTP
        routes alike, placed under ``@app.subscriber``/``@app.post``.

        Example:
            >>> from cello import App
            >>> app = App()
            >>> @app.post("/orders")
            ... @app.publisher("orders")
            ... def create(request):
            ...     return request.json()
        """
        from cello.messaging._compile import stand_in

        def decorator(handler: F) -> F:
            async def publishing(*args: Any, **kwargs: Any) -> Any:
                result = handler(*args, **kwargs)
                if inspect.isawaitable(result):
                    result = await result
                if result is not None:
                    await self.publish(result, routing_key, exchange=exchange, headers=headers)
                return result

            return stand_in(handler, publishing)  # type: ignore[return-value]

        return decorator

    async def publish(self, message: Any, routing_key: str, *, broker: str | None = None, **options: Any) -> None:
        """Publishes `message` through this worker's connection to `broker`
        (``"rabbitmq"``, ``"kafka"``, ``"sqs"``; default: the first enabled of these):
        bytes and text as they are, anything else as JSON; waits for the broker's
        confirm. `routing_key` is the queue (RabbitMQ's default exchange, SQS) or topic.

        Example:
            >>> async def handler(request):
            ...     await request.app.publish({"id": 1}, "orders", key="customer-7")
        """
        if broker is not None and broker not in BROKERS:
            raise ValueError(f"broker must be one of {', '.join(map(repr, BROKERS))}, got {broker!r}")
        chosen = broker or self._default_broker()
        client: Any
        if chosen == "sqs":
            client = self.sqs
        elif chosen == "kafka":
            client = self.kafka
        else:
            client = self.rabbitmq
        await client.publish(message, routing_key, **options)

    @property
    def kafka(self) -> Kafka:
        """This worker's Kafka client (`cello.messaging.Kafka`)."""
        client: Kafka | None = self.__dict__.get("_kafka")
        if client is not None:
            return client
        if "_kafka_config" not in self.__dict__:
            raise RuntimeError("no Kafka client: call app.enable_messaging(KafkaConfig(...)) first")
        raise RuntimeError("Kafka connects when a worker starts; publish from handlers and startup hooks")

    def _adopt_kafka_consumers(self) -> None:
        """Registers the process's ``@kafka_consumer`` functions as Kafka subscribers."""
        from cello.messaging import decorators
        from cello.messaging._compile import compile_subscriber

        adopted: set[int] = self.__dict__.setdefault("_adopted_consumers", set())
        for found in decorators.declared():
            if id(found.handler) in adopted:
                continue
            adopted.add(id(found.handler))
            owner = f"kafka_consumer {found.topic!r} ({getattr(found.handler, '__qualname__', found.handler)})"
            registration = Subscriber(
                found.topic, found.handler, None, None, "direct", True, False, None,
                "retry" if found.auto_commit else "manual", Retry(), 1, broker="kafka",
                group=found.group, retry_given=False,
            )
            registration.run = compile_subscriber(found.handler, self, owner)
            self._subscribers().append(registration)

    async def _open_kafka(self) -> None:
        from cello.messaging import decorators

        config: KafkaConfig = self.__dict__["_kafka_config"]
        self._adopt_kafka_consumers()
        client = await Kafka.connect(config)
        self.__dict__["_kafka"] = client
        decorators.activate(client)
        try:
            for registration in self._subscribers("kafka"):
                registration.dead_letter = registration.dead_letter or config.dead_letter_topic
                if not registration.retry_given:
                    registration.retry = Retry(max_retries=config.max_retries)
                await registration.declare(client)
            for registration in self._subscribers("kafka"):
                if registration.runs_here():
                    await registration.start(client)
        except BaseException:
            await self._close_kafka()
            raise

    async def _close_kafka(self) -> None:
        from cello.messaging import decorators

        client: Kafka | None = self.__dict__.pop("_kafka", None)
        if client is None:
            return
        decorators.activate(None)
        for registration in self._subscribers("kafka"):
            await registration.stop(client.config.shutdown_timeout_secs)
        await client.close()

    @property
    def sqs(self) -> Sqs:
        """This worker's SQS client (`cello.messaging.Sqs`)."""
        client: Sqs | None = self.__dict__.get("_sqs")
        if client is not None:
            return client
        if "_sqs_config" not in self.__dict__:
            raise RuntimeError("no SQS client: call app.enable_sqs(SqsConfig(...)) first")
        raise RuntimeError("SQS connects when a worker starts; publish from handlers and startup hooks")

    async def _open_sqs(self) -> None:
        client = await Sqs.connect(self.__dict__["_sqs_config"])
        self.__dict__["_sqs"] = client
        try:
            for registration in self._subscribers("sqs"):
                await registration.declare(client)
            for registration in self._subscribers("sqs"):
                if registration.runs_here():
                    await registration.start(client)
        except BaseException:
            await self._close_sqs()
            raise

    async def _close_sqs(self) -> None:
        client: Sqs | None = self.__dict__.pop("_sqs", None)
        if client is None:
            return
        for registration in self._subscribers("sqs"):
            await registration.stop(client.config.shutdown_timeout_secs)
        await client.close()

    @property
    def rabbitmq(self) -> RabbitMQ:
        """This worker's RabbitMQ connection (`cello.messaging.RabbitMQ`)."""
        broker: RabbitMQ | None = self.__dict__.get("_rabbitmq")
        if broker is not None:
            return broker
        if "_rabbitmq_config" not in self.__dict__:
            raise RuntimeError("no message broker: call app.enable_rabbitmq(RabbitMQConfig(...)) first")
        raise RuntimeError("RabbitMQ connects when a worker starts; publish from handlers and startup hooks")

    async def _open_rabbitmq(self) -> None:
        broker = await RabbitMQ.connect(self.__dict__["_rabbitmq_config"])
        self.__dict__["_rabbitmq"] = broker
        try:
            for registration in self._subscribers("rabbitmq"):
                await registration.declare(broker)
            for registration in self._subscribers("rabbitmq"):
                if registration.runs_here():
                    await registration.start(broker)
        except BaseException:
            await self._close_rabbitmq()
            raise

    async def _close_rabbitmq(self) -> None:
        broker: RabbitMQ | None = self.__dict__.pop("_rabbitmq", None)
        if broker is None:
            return
        timeout = broker.config.shutdown_timeout_secs
        for registration in self._subscribers("rabbitmq"):
            await registration.stop(timeout)
        await broker.close()
