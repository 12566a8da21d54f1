"""``@kafka_consumer`` and ``@kafka_producer``: the original's module-level decorators,
doing what they say.

``@kafka_consumer(topic, group=None, auto_commit=True)`` marks a function as a Kafka
subscriber; every app in the process that enables Kafka (``app.enable_messaging``) runs
it in each worker, as if it were ``@app.subscriber(topic, broker="kafka", group=group)``.
With ``auto_commit`` the record is committed once the function returns (retried, then
dead-lettered, when it raises); without it the function settles the record itself
(``await message.ack()``).

``@kafka_producer(topic)`` sends the function's return value (when not None) to `topic`
through the worker's Kafka client; stack it under ``@app.post(...)``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["kafka_consumer", "kafka_producer"]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Declared:
    """One ``@kafka_consumer`` function."""

    topic: str
    group: str | None
    auto_commit: bool
    handler: Callable[..., Any]


_DECLARED: list[Declared] = []
# The Kafka client of the app running in this worker (set when it connects).
_active: list[Any] = []


def declared() -> list[Declared]:
    """Every ``@kafka_consumer`` function of the process, in definition order."""
    return list(_DECLARED)


def activate(client: Any | None) -> None:
    """The worker's Kafka client that ``@kafka_producer`` sends through (None: none)."""
    _active.clear()
    if client is not None:
        _active.append(client)


def kafka_consumer(topic: str, group: str | None = None, auto_commit: bool = True) -> Callable[[F], F]:
    """Runs the decorated function (sync or async; its first parameter typed as for
    ``@app.subscriber``) on every record of `topic`, in consumer group `group` (default:
    ``KafkaConfig.group_id``), in every worker of the app that enables Kafka.

    Example:
        >>> from cello.messaging import Message, kafka_consumer
        >>> @kafka_consumer("orders", group="billing")
        ... async def bill(message: Message) -> None:
        ...     print(message.json())
    """
    if not topic:
        raise ValueError("kafka_consumer() needs a topic")

    def decorator(handler: F) -> F:
        handler._cello_consumer = True  # type: ignore[attr-defined]
        handler._cello_consumer_topic = topic  # type: ignore[attr-defined]
        handler._cello_consumer_group = group  # type: ignore[attr-defined]
        handler._cello_consumer_auto_commit = auto_commit  # type: ignore[attr-defined]
        _DECLARED.append(Declared(topic, group, auto_commit, handler))
        return handler

    return decorator


def kafka_producer(topic: str) -> Callable[[F], F]:
    """Sends the decorated function's return value (when not None; JSON unless bytes or
    text) to `topic` and waits for the brokers' acknowledgement.

    Example:
        >>> from cello import App
        >>> from cello.messaging import kafka_producer
        >>> app = App()
        >>> @app.post("/orders")
        ... @kafka_producer("orders")
        ... def create(request):
        ...     return request.json()
    """
    from cello.messaging._compile import stand_in

    if not topic:
        raise ValueError("kafka_producer() needs a topic")

    def decorator(handler: F) -> F:
        async def producing(*args: Any, **kwargs: Any) -> Any:
            result = handler(*args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
            if result is not None:
                if not _active:
                    raise RuntimeError(
                        f"@kafka_producer({topic!r}): no Kafka client in this worker; "
                        "call app.enable_messaging(KafkaConfig(...))")
                await _active[0].publish(result, topic)
            return result

        return stand_in(handler, producing)  # type: ignore[return-value]

    return decorator
