"""`RabbitMQConfig`, with the original's fields and defaults, and the per-subscriber
`Retry` policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["KafkaConfig", "RabbitMQConfig", "Retry", "SqsConfig"]


@dataclass
class KafkaConfig:
    """How each worker reaches Kafka (the original's fields and defaults, and the two its
    event-driven guide uses: `dead_letter_topic`, `max_retries`).

    Args:
        brokers: the bootstrap brokers, a list of ``host:port`` or one comma-separated
            string.
        group_id: the consumer group of subscribers that name none (None: ``"cello"``).
            The workers of an app share it, so they split each topic's partitions.
        client_id: the client id the brokers log (None: ``"cello"``).
        auto_commit: True: processed offsets are committed in the background every
            second (and when partitions move or the worker stops); False: each processed
            offset is committed at once. Either way only processed records are committed.
        session_timeout_ms: a member silent this long loses its partitions to the others.
        max_poll_records: records a subscriber holds read ahead of its handler.
        dead_letter_topic: where subscribers without ``dead_letter=`` send the records
            they reject (None: a rejected record is skipped, with a warning).
        max_retries: retries of subscribers without ``retry=``, before the dead letter.
        topic_partitions, replication_factor: the topics subscribers create when they do
            not exist.
        connection_timeout_secs: how long connecting (the first metadata) may take.
        publish_timeout_secs: how long a publish waits for the brokers' acknowledgement.
        shutdown_timeout_secs: how long a stopping worker waits for its handlers.
        options: further librdkafka settings (``{"compression.type": "zstd"}``), applied
            last.

    Example:
        >>> from cello import App, KafkaConfig
        >>> app = App()
        >>> app.enable_messaging(KafkaConfig(
        ...     brokers=["localhost:9092"],
        ...     group_id="my-group"
        ... ))
    """

    brokers: list[str] | str | None = None
    group_id: str | None = None
    client_id: str | None = None
    auto_commit: bool = True
    session_timeout_ms: int = 30000
    max_poll_records: int = 500
    dead_letter_topic: str | None = None
    max_retries: int = 3
    topic_partitions: int = 1
    replication_factor: int = 1
    connection_timeout_secs: float = 5.0
    publish_timeout_secs: float = 30.0
    shutdown_timeout_secs: float = 30.0
    options: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.brokers is None:
            self.brokers = ["localhost:9092"]
        elif isinstance(self.brokers, str):
            self.brokers = [broker.strip() for broker in self.brokers.split(",") if broker.strip()]
        else:
            self.brokers = [str(broker) for broker in self.brokers]
        if not self.brokers or any(":" not in broker for broker in self.brokers):
            raise ValueError(f"KafkaConfig(brokers=...) takes host:port entries, got {self.brokers!r}")
        if self.group_id == "":
            raise ValueError("group_id must not be empty (None: 'cello')")
        if self.session_timeout_ms < 1:
            raise ValueError(f"session_timeout_ms must be positive, got {self.session_timeout_ms}")
        if self.max_poll_records < 1:
            raise ValueError(f"max_poll_records must be at least 1, got {self.max_poll_records}")
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be 0 or more, got {self.max_retries}")
        if self.topic_partitions < 1 or self.replication_factor < 1:
            raise ValueError("topic_partitions and replication_factor must be at least 1")
        for name in ("connection_timeout_secs", "publish_timeout_secs", "shutdown_timeout_secs"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be a positive number of seconds")

    @classmethod
    def local(cls) -> KafkaConfig:
        """The broker on this machine (``localhost:9092``), group ``cello-local``."""
        return cls(brokers=["localhost:9092"], group_id="cello-local", client_id="cello-dev")

    @property
    def group(self) -> str:
        """The consumer group subscribers join when they name none."""
        return self.group_id or "cello"

    def _native_args(self) -> dict[str, Any]:
        assert isinstance(self.brokers, list)
        return {
            "brokers": self.brokers,
            "group_id": self.group,
            "client_id": self.client_id,
            "auto_commit": self.auto_commit,
            "auto_commit_interval_secs": 1.0,
            "session_timeout_secs": self.session_timeout_ms / 1000,
            "max_poll_records": self.max_poll_records,
            "connection_timeout_secs": float(self.connection_timeout_secs),
            "publish_timeout_secs": float(self.publish_timeout_secs),
            "topic_partitions": self.topic_partitions,
            "replication_factor": self.replication_factor,
            "options": [(str(name), str(value)) for name, value in self.options.items()],
        }


@dataclass
class RabbitMQConfig:
    """How each worker reaches RabbitMQ.

    Args:
        url: ``amqp://user:password@host:5672/vhost``; a vhost in the URL wins over `vhost`.
        vhost: the virtual host when the URL names none.
        prefetch_count: unacknowledged messages each subscriber holds at most.
        heartbeat: the heartbeat interval asked for, in seconds (0: none).
        connection_timeout_secs: how long one connection attempt may take.
        publish_timeout_secs: how long ``publish`` waits for a lost connection to come
            back before it raises `BrokerConnectionError`.
        shutdown_timeout_secs: how long a stopping worker waits for its handlers to finish;
            messages still unfinished then go back to their queue.
        connection_name: shown by ``rabbitmqctl list_connections client_properties``.

    Example:
        >>> from cello import App, RabbitMQConfig
        >>> app = App()
        >>> app.enable_rabbitmq(RabbitMQConfig(
        ...     url="amqp://localhost",
        ...     prefetch_count=20
        ... ))
    """

    url: str = "amqp://localhost"
    vhost: str = "/"
    prefetch_count: int = 10
    heartbeat: int = 60
    connection_timeout_secs: float = 5.0
    publish_timeout_secs: float = 30.0
    shutdown_timeout_secs: float = 30.0
    connection_name: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.url, str) or "://" not in self.url:
            raise ValueError(f"RabbitMQConfig(url=...) takes an amqp:// URL, got {self.url!r}")
        if not 0 <= self.prefetch_count <= 65535:
            raise ValueError(f"prefetch_count must be between 0 and 65535, got {self.prefetch_count}")
        if not 0 <= self.heartbeat <= 65535:
            raise ValueError(f"heartbeat must be between 0 and 65535 seconds, got {self.heartbeat}")
        for name in ("connection_timeout_secs", "publish_timeout_secs", "shutdown_timeout_secs"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be a positive number of seconds")

    @classmethod
    def local(cls) -> RabbitMQConfig:
        """The broker on this machine with the default guest login."""
        return cls(url="amqp://guest:guest@localhost:5672")

    def _native_args(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "vhost": self.vhost,
            "prefetch_count": self.prefetch_count,
            "heartbeat": self.heartbeat,
            "connection_timeout_secs": float(self.connection_timeout_secs),
            "publish_timeout_secs": float(self.publish_timeout_secs),
            "connection_name": self.connection_name,
        }


@dataclass
class SqsConfig:
    """How each worker reaches SQS (the original's fields and defaults).

    Args:
        region: the AWS region; part of every request's signature.
        queue_url: a queue checked when the worker connects ("" : none).
        endpoint_url: another endpoint than AWS's (``http://localhost:4566`` for
            LocalStack or moto); None: ``https://sqs.<region>.amazonaws.com``.
        max_messages: messages one receive asks for (1 to 10).
        wait_time_secs: long polling: how long one receive waits (0 to 20).
        visibility_timeout_secs: how long a received message stays hidden from other
            consumers before SQS delivers it again (unless deleted).
        aws_access_key_id, aws_secret_access_key, aws_session_token: the credentials;
            None: ``AWS_ACCESS_KEY_ID`` etc. from the environment, or ``test``/``test``
            with an `endpoint_url` (what local servers accept).
        shutdown_timeout_secs: how long a stopping worker waits for its handlers.

    Example:
        >>> from cello import App, SqsConfig
        >>> app = App()
        >>> app.enable_sqs(SqsConfig(
        ...     region="us-west-2",
        ...     queue_url="https://sqs.us-west-2.amazonaws.com/123/queue"
        ... ))
    """

    region: str = "us-east-1"
    queue_url: str = ""
    endpoint_url: str | None = None
    max_messages: int = 10
    wait_time_secs: int = 20
    visibility_timeout_secs: int = 30
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    aws_session_token: str | None = None
    shutdown_timeout_secs: float = 30.0

    def __post_init__(self) -> None:
        if not self.region:
            raise ValueError("SqsConfig needs a region, such as 'us-east-1'")
        if not 1 <= self.max_messages <= 10:
            raise ValueError(f"max_messages must be between 1 and 10 (SQS's limit), got {self.max_messages}")
        if not 0 <= self.wait_time_secs <= 20:
            raise ValueError(f"wait_time_secs must be between 0 and 20 (SQS's limit), got {self.wait_time_secs}")
        if not 0 <= self.visibility_timeout_secs <= 43200:
            raise ValueError(f"visibility_timeout_secs must be between 0 and 43200, got {self.visibility_timeout_secs}")
        if self.endpoint_url is not None and not self.endpoint_url.startswith(("http://", "https://")):
            raise ValueError(f"endpoint_url must be an http:// or https:// URL, got {self.endpoint_url!r}")

    @classmethod
    def local(cls, queue_url: str = "") -> SqsConfig:
        """LocalStack (or moto) on this machine: ``http://localhost:4566``."""
        return cls(queue_url=queue_url, endpoint_url="http://localhost:4566")

    def _native_args(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "endpoint_url": self.endpoint_url,
            "queue_url": self.queue_url or None,
            "access_key_id": self.aws_access_key_id,
            "secret_access_key": self.aws_secret_access_key,
            "session_token": self.aws_session_token,
            "max_messages": self.max_messages,
            "wait_time_secs": float(self.wait_time_secs),
            "visibility_timeout_secs": float(self.visibility_timeout_secs),
        }


@dataclass(frozen=True)
class Retry:
    """How a subscriber retries a message whose handler raised.

    The message is published again to its queue with its ``x-cello-retries`` header one
    higher after ``delay * backoff ** retry`` seconds (at most `max_delay`), and the
    original acked only once the broker confirmed the copy. After `max_retries` retries
    it goes to the subscriber's dead letter.
    """

    max_retries: int = 3
    delay: float = 0.1
    backoff: float = 2.0
    max_delay: float = 30.0

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("Retry(max_retries=...) must be 0 or more")
        if self.delay <= 0 or self.max_delay <= 0 or self.backoff < 1:
            raise ValueError("Retry needs delay > 0, max_delay > 0 and backoff >= 1")
