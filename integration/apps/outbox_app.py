"""The outbox against the local RabbitMQ: ``python integration/apps/outbox_app.py --port 0``
with CELLO_TEST_PREFIX (queue names) and CELLO_TEST_DB (an SQLite file or a PostgreSQL
URL); with CELLO_TEST_BROKER=kafka, to a Kafka topic on 127.0.0.1:9092 instead. Orders are event-sourced with ``EventSourcingConfig(outbox=...)``; a subscriber
records what reaches the queue (``GET /seen``)."""

from __future__ import annotations

import os

from cello import App, DatabaseConfig, EventSourcingConfig, KafkaConfig, RabbitMQConfig
from cello.eventsourcing import AggregateRoot, Event
from cello.messaging import Message

PREFIX = os.environ["CELLO_TEST_PREFIX"]
QUEUE = f"{PREFIX}events"
app = App()
app.enable_database(DatabaseConfig(os.environ["CELLO_TEST_DB"]))
KAFKA = os.environ.get("CELLO_TEST_BROKER") == "kafka"
if KAFKA:
    app.enable_messaging(KafkaConfig(brokers="127.0.0.1:9092", group_id=f"{PREFIX}group", topic_partitions=3))
else:
    app.enable_rabbitmq(RabbitMQConfig(
        url=os.environ.get("CELLO_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672"),
        connection_name=f"{PREFIX}app",
    ))
app.enable_event_sourcing(EventSourcingConfig(store_type="database", table_prefix=PREFIX.replace("-", "_").replace(".", "_"),
                                              outbox=QUEUE))
seen: list[dict[str, object]] = []


class Placed(Event):
    item: str


class Order(AggregateRoot):
    def on_placed(self, event: Placed) -> None:
        self.item = event.item


@app.subscriber(QUEUE)
def on_event(message: Message) -> None:
    body = message.json()
    seen.append({"id": message.id, "key": message.key, "partition": message.partition, "type": message.headers.get("event-type"),
                 "event_type": body.get("event_type") if "event_type" in body else None, "body": body})


@app.post("/orders/{item}")
async def place(request):
    order = Order()
    order.apply(Placed(item=request.params["item"]))
    await app.event_store.save(order)
    return {"id": order.id}


@app.post("/manual/{outcome}")
async def manual(request):
    """Queues a message in a transaction that commits, or one that rolls back."""
    try:
        async with app.database.transaction() as tx:
            await app.outbox.add(QUEUE, {"manual": request.params["outcome"]}, key="m", tx=tx)
            if request.params["outcome"] == "rollback":
                raise RuntimeError("rolled back on purpose")
    except RuntimeError as error:
        if "on purpose" not in str(error):
            raise
        return {"rolled_back": True}
    return {"rolled_back": False}


@app.get("/seen")
def get_seen(request):
    return {"seen": seen}


@app.get("/state")
async def state(request):
    return {"connected": (app.kafka if KAFKA else app.rabbitmq).connected, "pending": await app.outbox.pending()}


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
