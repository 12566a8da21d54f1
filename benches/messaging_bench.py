"""Messaging end to end: Cello's subscribers and `app.publish` against FastStream, on the
same local brokers, in one run.

    make bench-messaging          # or: .venv/bin/python benches/messaging_bench.py --messages 20000

For each broker (RabbitMQ on 127.0.0.1:5672; Kafka, tansu, on 127.0.0.1:9092) and each
framework, one round publishes `--messages` small JSON messages (``{"id": n, "name":
...}``), `--window` at a time concurrently, each publish awaiting the broker's
confirmation, to a queue/topic of the round's own; a subscriber validates each into a
Pydantic model and counts it. The figure is messages per second from the first publish
to the last message handled (produced and consumed). Rounds alternate between the
frameworks; the median of `--rounds` is reported.

FastStream runs on asyncio's default loop with aio-pika (RabbitMQ) and aiokafka (Kafka),
its per-message logging off (``logger=None``), as Cello's subscribers log nothing per message;
Cello runs its app in-process under its TestClient (the same loop and runtime as a
worker). Needs ``pip install "faststream[rabbit,kafka]"`` (the Makefile target installs it).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from typing import Any

from pydantic import BaseModel


class Order(BaseModel):
    id: int
    name: str


# --- Cello ---------------------------------------------------------------------------

def cello_round(broker: str, messages: int, window: int) -> float:
    from cello import App, KafkaConfig, RabbitMQConfig
    from cello.testing import TestClient

    name = f"bench-{uuid.uuid4().hex[:8]}"
    app = App()
    if broker == "rabbitmq":
        app.enable_rabbitmq(RabbitMQConfig(url="amqp://guest:guest@127.0.0.1:5672", prefetch_count=window))
    else:
        app.enable_messaging(KafkaConfig(brokers="127.0.0.1:9092", group_id=name, max_poll_records=window))
    state: dict[str, Any] = {"count": 0, "done": None}

    @app.subscriber(name)
    async def handle(order: Order) -> None:
        state["count"] += 1
        if state["count"] == messages:
            state["done"].set()

    @app.post("/run")
    async def run(request: Any) -> Any:
        state["done"] = asyncio.Event()
        started = time.perf_counter()
        for first in range(0, messages, window):
            await asyncio.gather(*(app.publish({"id": n, "name": "widget"}, name)
                                   for n in range(first, min(first + window, messages))))
        await state["done"].wait()
        return {"rate": messages / (time.perf_counter() - started)}

    with TestClient(app) as client:
        rate: float = client.post("/run").json()["rate"]
    return rate


# --- FastStream ----------------------------------------------------------------------

async def faststream_round(broker_name: str, messages: int, window: int) -> float:
    name = f"bench-{uuid.uuid4().hex[:8]}"
    broker: Any
    if broker_name == "rabbitmq":
        from faststream.rabbit import Channel, RabbitBroker

        broker = RabbitBroker("amqp://guest:guest@127.0.0.1:5672/", default_channel=Channel(prefetch_count=window),
                              logger=None)
        subscribe = broker.subscriber(name)
    else:
        from faststream.kafka import KafkaBroker

        broker = KafkaBroker("127.0.0.1:9092", logger=None)
        subscribe = broker.subscriber(name, group_id=name, auto_offset_reset="earliest",
                                      max_poll_records=window)
    state: dict[str, Any] = {"count": 0, "done": asyncio.Event()}

    @subscribe
    async def handle(order: Order) -> None:
        state["count"] += 1
        if state["count"] == messages:
            state["done"].set()

    async with broker:
        await broker.start()
        if broker_name == "kafka":
            await asyncio.sleep(3)  # the consumer joins its group before the clock starts
        started = time.perf_counter()
        for first in range(0, messages, window):
            await asyncio.gather(*(broker.publish({"id": n, "name": "widget"}, name)
                                   for n in range(first, min(first + window, messages))))
        await state["done"].wait()
        return messages / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--window", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--brokers", default="rabbitmq,kafka")
    args = parser.parse_args()
    for broker in args.brokers.split(","):
        cello: list[float] = []
        faststream: list[float] = []
        for _ in range(args.rounds):
            cello.append(cello_round(broker, args.messages, args.window))
            faststream.append(asyncio.run(faststream_round(broker, args.messages, args.window)))
        ours, theirs = statistics.median(cello), statistics.median(faststream)
        print(f"{broker:9} cello {ours:10,.0f} msg/s   faststream {theirs:10,.0f} msg/s   "
              f"ratio {ours / theirs:5.2f}x   (rounds: cello {[round(r) for r in cello]}, "
              f"faststream {[round(r) for r in faststream]})", flush=True)


if __name__ == "__main__":
    main()
