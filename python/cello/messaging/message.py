"""`Message`: what a subscriber receives (and what `Producer` sends), and
`MessageResult`, which a handler may return to settle its message."""

from __future__ import annotations

import datetime
import enum
import json as _json
import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cello import _cello

__all__ = ["MAX_JSON_SIZE", "Message", "MessageResult"]

# The original's limit for `Message.json()`.
MAX_JSON_SIZE = 10 * 1024 * 1024


class MessageResult(str, enum.Enum):
    """Returned by a handler, settles its message that way instead of the ack policy's."""

    ACK = "ack"
    NACK = "nack"
    REJECT = "reject"
    REQUEUE = "requeue"
    DEAD_LETTER = "dead_letter"


class Message:
    """A message: its body (``value``, bytes), headers and broker properties.

    A subscriber's message can be settled by hand (``ack_policy="manual"``)::

        @app.subscriber("orders", ack_policy="manual")
        async def on_order(message: Message) -> None:
            await message.ack()
    """

    def __init__(
        self,
        id: str | None = None,
        topic: str = "",
        key: str | None = None,
        value: bytes | None = None,
        headers: dict[str, Any] | None = None,
        timestamp: datetime.datetime | None = None,
    ) -> None:
        self.id = id if id is not None else str(uuid.uuid4())
        self.topic = topic
        self.key = key
        self.value = value if value is not None else b""
        self.headers = headers if headers is not None else {}
        self.timestamp = timestamp if timestamp is not None else datetime.datetime.now(datetime.UTC)
        self.routing_key = topic
        self.exchange = ""
        self.content_type: str | None = None
        self.correlation_id: str | None = None
        self.reply_to: str | None = None
        self.redelivered = False
        self.retries = 0
        self.partition: int | None = None
        self.offset: int | None = None
        self._delivery: _cello.Delivery | None = None

    @classmethod
    def _from_delivery(cls, delivery: _cello.Delivery) -> Message:
        message = cls(
            id=delivery.message_id,
            topic=delivery.source,
            key=delivery.key,
            value=delivery.body,
            headers=delivery.headers,
        )
        message.routing_key = delivery.routing_key
        message.exchange = delivery.exchange
        message.content_type = delivery.content_type
        message.correlation_id = delivery.correlation_id
        message.reply_to = delivery.reply_to
        message.redelivered = delivery.redelivered
        message.retries = delivery.retries
        message.partition = delivery.partition
        message.offset = delivery.offset
        if delivery.timestamp_ms is not None:
            message.timestamp = datetime.datetime.fromtimestamp(delivery.timestamp_ms / 1000, datetime.UTC)
        message._delivery = delivery
        return message

    @property
    def body(self) -> bytes:
        """The body (the same as ``value``)."""
        return self.value

    @property
    def text(self) -> str:
        """The body as UTF-8 text."""
        return self.value.decode()

    def json(self) -> Any:
        """The body parsed as a JSON object or array."""
        if len(self.value) > MAX_JSON_SIZE:
            raise ValueError(f"message body of {len(self.value)} bytes is over the {MAX_JSON_SIZE}-byte JSON limit")
        value = _json.loads(self.value)
        if not isinstance(value, (dict, list)):
            raise ValueError(  # noqa: TRY004 - the original raises ValueError
                f"message body is JSON {type(value).__name__}, not an object or array")
        return value

    @property
    def settled(self) -> bool:
        """Whether it was acked, nacked or rejected already."""
        return self._delivery is not None and self._delivery.settled

    async def _settle(self, action: str) -> None:
        from cello.data._native import new_future

        if self._delivery is None:
            raise RuntimeError("this message was not received from a broker: there is nothing to settle")
        future = new_future()
        self._delivery.settle(future, action)
        await future

    async def ack(self) -> None:
        """Acknowledges it: the broker forgets it."""
        await self._settle("ack")

    async def nack(self, requeue: bool = True) -> None:
        """Gives it back: to the queue (`requeue`), else to the dead letter."""
        await self._settle("requeue" if requeue else "nack")

    async def reject(self) -> None:
        """Refuses it: to the dead letter (dropped when the queue has none)."""
        await self._settle("reject")

    def __repr__(self) -> str:
        return f"Message(topic={self.topic!r}, key={self.key!r}, {len(self.value)} bytes, retries={self.retries})"
