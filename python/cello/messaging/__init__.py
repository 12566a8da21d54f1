"""Messaging: RabbitMQ, Kafka and SQS subscribers and publishers in every worker.

``app.enable_rabbitmq(RabbitMQConfig(...))``, ``app.enable_messaging(KafkaConfig(...))``
and ``app.enable_sqs(SqsConfig(...))`` connect each worker; ``@app.subscriber``
handlers consume queues with typed, validated message arguments and ``Depends``;
``@app.publisher`` and ``await app.publish(...)`` publish with the broker's confirm.
See docs/messaging.md.
"""

from __future__ import annotations

from cello.messaging._registrar import MessagingMixin
from cello.messaging.clients import Consumer, Producer
from cello.messaging.config import KafkaConfig, RabbitMQConfig, Retry, SqsConfig
from cello.messaging.decorators import kafka_consumer, kafka_producer
from cello.messaging.errors import (
    BrokerConnectionError,
    BrokerError,
    MessageSettledError,
    MessagingError,
)
from cello.messaging.kafka import Kafka
from cello.messaging.message import Message, MessageResult
from cello.messaging.rabbitmq import RabbitMQ
from cello.messaging.sqs import Sqs
from cello.messaging.subscriber import ACK_POLICIES

__all__ = [
    "ACK_POLICIES",
    "BrokerConnectionError",
    "BrokerError",
    "Consumer",
    "Kafka",
    "KafkaConfig",
    "Message",
    "MessageResult",
    "MessageSettledError",
    "MessagingError",
    "MessagingMixin",
    "Producer",
    "RabbitMQ",
    "RabbitMQConfig",
    "Retry",
    "Sqs",
    "SqsConfig",
    "kafka_consumer",
    "kafka_producer",
]
