"""Messaging: RabbitMQ subscribers and publishers in every worker.

``app.enable_rabbitmq(RabbitMQConfig(...))`` connects each worker; ``@app.subscriber``
handlers consume queues with typed, validated message arguments and ``Depends``;
``@app.publisher`` and ``await app.publish(...)`` publish with the broker's confirm.
See docs/messaging.md.
"""

from __future__ import annotations

from cello.messaging._registrar import MessagingMixin
from cello.messaging.config import RabbitMQConfig, Retry, SqsConfig
from cello.messaging.errors import (
    BrokerConnectionError,
    BrokerError,
    MessageSettledError,
    MessagingError,
)
from cello.messaging.message import Message, MessageResult
from cello.messaging.rabbitmq import RabbitMQ
from cello.messaging.sqs import Sqs
from cello.messaging.subscriber import ACK_POLICIES

__all__ = [
    "ACK_POLICIES",
    "BrokerConnectionError",
    "BrokerError",
    "Message",
    "MessageResult",
    "MessageSettledError",
    "MessagingError",
    "MessagingMixin",
    "RabbitMQ",
    "RabbitMQConfig",
    "Retry",
    "Sqs",
    "SqsConfig",
]
