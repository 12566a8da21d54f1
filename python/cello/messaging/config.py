"""`RabbitMQConfig`, with the original's fields and defaults, and the per-subscriber
`Retry` policy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["RabbitMQConfig", "Retry"]


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
