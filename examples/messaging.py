"""Messaging with RabbitMQ: an HTTP route publishes orders, a typed subscriber handles
them in every worker, failures are retried and then dead-lettered.

    python examples/messaging.py --port 8000
    curl -X POST localhost:8000/orders -H 'content-type: application/json' -d '{"id": 1, "quantity": 2}'
    curl localhost:8000/shipped

Needs RabbitMQ on localhost:5672 (``CELLO_AMQP_URL`` overrides it) and a build with the
``rabbitmq`` feature.
"""

from __future__ import annotations

import os

from cello import App, RabbitMQConfig
from cello.messaging import Message, Retry
from pydantic import BaseModel, Field

app = App()
app.enable_rabbitmq(RabbitMQConfig(url=os.environ.get("CELLO_AMQP_URL", "amqp://localhost"), prefetch_count=20))
QUEUE = os.environ.get("CELLO_EXAMPLE_QUEUE", "example.orders")
shipped: list[dict[str, int]] = []


class Order(BaseModel):
    id: int
    quantity: int = Field(gt=0)


@app.post("/orders")
@app.publisher(QUEUE)
def create_order(order: Order) -> Order:
    """Answers the order and publishes it (after the broker confirmed it)."""
    return order


@app.subscriber(QUEUE, dead_letter=f"{QUEUE}.dead", retry=Retry(max_retries=3, delay=0.5))
async def ship(order: Order) -> None:
    """Runs for every order; one that raises is retried 3 times, then dead-lettered."""
    shipped.append({"id": order.id, "quantity": order.quantity})


@app.subscriber(f"{QUEUE}.dead")
def dead_order(message: Message) -> None:
    print(f"could not ship {message.text} after {message.retries} retries")


@app.get("/shipped")
def list_shipped(request):
    return shipped


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
