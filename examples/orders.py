"""Orders, event-sourced: an aggregate saved as events, a read model fed by a projection
through the command bus, and a saga whose failed payment compensates the stock it
reserved (docs/patterns.md). SQLite, no server needed.

    python examples/orders.py --port 8000          # orders.db in the working directory
    curl -X POST localhost:8000/orders -H 'content-type: application/json' -d '{"customer": "ada", "total": 12.5}'
    curl localhost:8000/orders/<id>                 # the aggregate, rebuilt from its events
    curl localhost:8000/totals                      # the read model (the projection)
    curl -X POST localhost:8000/orders/<id>/checkout -d '{"card": "ok"}'    # saga: completed
    curl -X POST localhost:8000/orders/<id>/checkout -d '{"card": "bad"}'   # saga: compensated

CELLO_ORDERS_URL chooses another database (``postgresql://...``). With CELLO_ORDERS_AMQP
(``amqp://guest:guest@localhost:5672``) every event also goes to the RabbitMQ queue
``order-events`` through the transactional outbox (CELLO_ORDERS_QUEUE renames it), and a
subscriber on that queue counts them (``GET /published``).
"""

from __future__ import annotations

import os
from typing import Any

from cello import (
    App,
    CqrsConfig,
    DatabaseConfig,
    EventSourcingConfig,
    HTTPException,
    RabbitMQConfig,
    SagaConfig,
)
from cello.cqrs import Command, CommandResult, command_handler
from cello.eventsourcing import AggregateRoot, Event, EventStore, Projection
from cello.saga import Saga, SagaError, SagaStep

app = App()
app.enable_database(DatabaseConfig(os.environ.get("CELLO_ORDERS_URL", "sqlite://orders.db"), pool_size=4))
AMQP = os.environ.get("CELLO_ORDERS_AMQP")
QUEUE = os.environ.get("CELLO_ORDERS_QUEUE", "order-events")
if AMQP:
    app.enable_rabbitmq(RabbitMQConfig(url=AMQP))
(
    app.enable_event_sourcing(EventSourcingConfig(store_type="database", outbox=QUEUE if AMQP else None))
    .enable_cqrs(CqrsConfig(max_retries=3))
    .enable_saga(SagaConfig(retry_delay_ms=50))
)
published: list[str] = []

if AMQP:

    @app.subscriber(QUEUE)
    def on_order_event(event: dict) -> None:
        """What the outbox relay published (in a real system: another service)."""
        published.append(event["event_type"])


class OrderPlaced(Event):
    customer: str
    total: float


class OrderPaid(Event):
    payment: str


class Order(AggregateRoot):
    def place(self, customer: str, total: float) -> None:
        if total <= 0:
            raise ValueError("total must be positive")
        self.apply(OrderPlaced(customer=customer, total=total))

    def pay(self, payment: str) -> None:
        self.apply(OrderPaid(payment=payment))

    def on_order_placed(self, event: OrderPlaced) -> None:
        self.customer, self.total, self.paid = event.customer, event.total, False

    def on_order_paid(self, event: OrderPaid) -> None:
        self.paid = True


class CustomerTotals(Projection):
    """The read model: what each customer ordered, in the same database."""

    name = "customer_totals"

    async def on_order_placed(self, event: OrderPlaced, tx: Any) -> None:
        changed = await tx.execute("UPDATE totals SET total = total + ? WHERE customer = ?", event.total, event.customer)
        if changed == 0:
            await tx.execute("INSERT INTO totals (customer, total) VALUES (?, ?)", event.customer, event.total)

    async def reset(self, tx: Any) -> None:
        await tx.execute("DELETE FROM totals")


app.command_bus.add_projection(CustomerTotals())


class PlaceOrder(Command):
    customer: str
    total: float


@command_handler(PlaceOrder)
async def place_order(command: PlaceOrder, event_store: EventStore) -> dict[str, Any]:
    order = Order()
    order.place(command.customer, command.total)
    await event_store.save(order)
    return {"order_id": order.id}


# --- the checkout saga: reserve stock, charge the card, mark the order paid ---

async def reserve_stock(context: Any) -> None:
    await app.database.execute(
        "INSERT INTO reservations (key, order_id) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
        context.idempotency_key,
        context["order_id"],
    )


async def release_stock(context: Any) -> None:
    await app.database.execute("DELETE FROM reservations WHERE order_id = ?", context["order_id"])


async def charge(context: Any) -> str:
    if context["card"] != "ok":
        raise RuntimeError("card declined")
    context["payment"] = f"pay-{context['order_id'][:8]}"
    return context["payment"]


async def mark_paid(context: Any) -> None:
    order = await app.event_store.load(Order, context["order_id"])
    assert order is not None
    if not order.paid:
        order.pay(context["payment"])
        await app.event_store.save(order)


class Checkout(Saga):
    steps = (
        SagaStep("reserve", reserve_stock, compensate=release_stock),
        SagaStep("charge", charge),
        SagaStep("mark_paid", mark_paid),
    )


app.saga_orchestrator.register(Checkout)


@app.on_event("startup")
async def create_schema() -> None:
    await app.database.execute("CREATE TABLE IF NOT EXISTS totals (customer TEXT PRIMARY KEY, total REAL NOT NULL)")
    await app.database.execute("CREATE TABLE IF NOT EXISTS reservations (key TEXT PRIMARY KEY, order_id TEXT NOT NULL)")


@app.post("/orders")
async def create_order(request):
    body = request.json()
    result: CommandResult = await app.command_bus.dispatch(PlaceOrder(customer=body["customer"], total=body["total"]))
    if not result.success:
        raise HTTPException(422, result.error)
    return result.data


@app.get("/orders/{order_id}")
async def read_order(request):
    order = await app.event_store.load(Order, request.params["order_id"])
    if order is None:
        raise HTTPException(404, "no such order")
    return {"id": order.id, "customer": order.customer, "total": order.total, "paid": order.paid, "version": order.version}


@app.get("/totals")
async def totals(request):
    rows = await app.database.fetch("SELECT customer, total FROM totals ORDER BY customer")
    return {row["customer"]: row["total"] for row in rows}


@app.get("/published")
async def get_published(request):
    return {"published": published}


@app.post("/orders/{order_id}/checkout")
async def checkout(request):
    order_id = request.params["order_id"]
    try:
        await app.saga_orchestrator.execute("Checkout", {"order_id": order_id, "card": request.json()["card"]})
    except SagaError as error:
        reserved = await app.database.fetchval("SELECT COUNT(*) FROM reservations WHERE order_id = ?", order_id)
        return {"status": "compensated", "error": str(error.original_error), "reserved": reserved}
    reserved = await app.database.fetchval("SELECT COUNT(*) FROM reservations WHERE order_id = ?", order_id)
    return {"status": "completed", "reserved": reserved}


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=8000)
