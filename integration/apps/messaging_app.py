"""A messaging app for the integration tests: ``python integration/apps/messaging_app.py
--port 0``. Queue names carry CELLO_TEST_PREFIX, so runs never share queues. RabbitMQ by
default; with ``CELLO_TEST_BROKER=kafka`` the same subscribers run on Kafka (topics of
CELLO_TEST_PARTITIONS partitions, consumer group CELLO_TEST_GROUP).

Handlers record what they saw in memory (``GET /seen``) and print ``handled <queue>
<body>`` lines, so a test can count messages across a shutdown.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import Annotated

from cello import App, Depends, Header, KafkaConfig, RabbitMQConfig
from cello.messaging import Message, Retry

PREFIX = os.environ["CELLO_TEST_PREFIX"]
KAFKA = os.environ.get("CELLO_TEST_BROKER") == "kafka"
app = App()
if KAFKA:
    app.enable_messaging(KafkaConfig(
        brokers=os.environ.get("CELLO_TEST_KAFKA_BROKERS", "127.0.0.1:9092"),
        group_id=os.environ.get("CELLO_TEST_GROUP", f"{PREFIX}group"),
        session_timeout_ms=6000,
        topic_partitions=int(os.environ.get("CELLO_TEST_PARTITIONS", "1")),
        shutdown_timeout_secs=60,
    ))
else:
    app.enable_rabbitmq(RabbitMQConfig(
        url=os.environ.get("CELLO_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672"),
        prefetch_count=5,
        connection_name=f"{PREFIX}app",
        shutdown_timeout_secs=60,
    ))
seen: dict[str, list[object]] = {}


def q(name: str) -> str:
    return f"{PREFIX}{name}"


def record(queue: str, value: object) -> None:
    seen.setdefault(queue, []).append(value)
    print(f"handled {queue} {value}", flush=True)


@dataclass
class Order:
    id: int
    quantity: int


def source() -> str:
    return "orders-subscriber"


@app.subscriber(q("orders"), dead_letter=q("orders.dead"))
async def on_order(
    order: Order,
    via: Annotated[str, Depends(source)],
    x_origin: Annotated[str, Header()] = "unknown",
) -> None:
    record("orders", {"id": order.id, "quantity": order.quantity, "via": via, "origin": x_origin})


@app.subscriber(q("orders.dead"))
def on_dead_order(message: Message) -> None:
    record("orders.dead", {"body": message.text, "retries": message.retries})


@app.subscriber(q("flaky"), dead_letter=q("flaky.dead"), retry=Retry(max_retries=2, delay=0.01))
def on_flaky(message: Message) -> None:
    record("flaky", {"retries": message.retries})
    raise RuntimeError("this handler always fails")


@app.subscriber(q("flaky.dead"))
def on_dead_flaky(message: Message) -> None:
    record("flaky.dead", {"body": message.text, "retries": message.retries})


@app.subscriber(q("manual"), ack_policy="manual")
async def on_manual(message: Message) -> None:
    if message.text == "ack":
        await message.ack()
    record("manual", message.text)


@app.subscriber(q("slow"))
async def on_slow(body: str) -> None:
    await asyncio.sleep(0.05)
    record("slow", body)


@app.subscriber(q("single"), workers=1)
def on_single(body: str) -> None:
    record("single", {"body": body, "pid": os.getpid()})


@app.subscriber(q("keyed"))
def on_keyed(message: Message) -> None:
    record("keyed", {"key": message.key, "pid": os.getpid(), "partition": message.partition})


@app.subscriber(q("echo"))
@app.publisher(q("echoed"))
def on_echo(body: str) -> str:
    return body.upper()


@app.subscriber(q("echoed"))
def on_echoed(body: bytes) -> None:
    record("echoed", body.decode())


@app.post("/publish/{name}")
async def publish(request, name: str):
    headers = {key[len("x-msg-"):]: value for key, value in request.headers.items() if key.startswith("x-msg-")}
    await app.publish(request.body(), q(name), headers=headers or None, content_type="application/json",
                      key=request.query_params.get("key"))
    return {"published": name}


@app.post("/orders")
@app.publisher(q("orders"), headers={"x-origin": "http"})
def create_order(request):
    return request.json()


@app.get("/seen")
def get_seen(request):
    return seen


@app.get("/connected")
def connected(request):
    return {"connected": (app.kafka if KAFKA else app.rabbitmq).connected}


@app.get("/assignment")
def assignment(request):
    """The Kafka partitions each subscriber of this worker holds."""
    return {registration.queue[len(PREFIX):]: registration._subscription.assignment
            for registration in app._subscribers("kafka") if registration._subscription is not None}


@app.get("/pid")
def pid(request):
    return {"pid": os.getpid()}


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000, env="production", logs=False)
