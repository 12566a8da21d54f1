"""Subscribers in-process through `cello.testing.TestBroker`: decoding and validation from
type hints, Depends and headers, ack policies, retries to the dead letter, publishers,
and the config's checks. (The same paths over RabbitMQ: integration/test_rabbitmq.py.)"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated, Any

import pytest
from cello import App, Depends, Header, RabbitMQConfig
from cello.messaging import Message, MessageResult, Retry
from cello.testing import TestBroker
from pydantic import BaseModel


class Order(BaseModel):
    id: int
    quantity: int


@dataclass
class Point:
    x: int
    y: int


def the_message(request: Any) -> Message:
    message: Message = request.message
    return message


def tenant(message: Annotated[Message, Depends(the_message)]) -> str:
    return f"tenant-{message.key}"


def run(app: App, *publishes: tuple[Any, ...]) -> TestBroker:
    async def main() -> TestBroker:
        async with TestBroker(app) as broker:
            for message, routing_key, *rest in publishes:
                await broker.publish(message, routing_key, **(rest[0] if rest else {}))
        return broker

    return asyncio.run(main())


def test_typed_arguments_are_decoded_and_validated() -> None:
    app = App()
    got: list[Any] = []

    @app.subscriber("orders")
    async def order(order: Order) -> None:
        got.append(order)

    @app.subscriber("points")
    def point(point: Point) -> None:
        got.append(point)

    @app.subscriber("raw")
    def raw(body: bytes) -> None:
        got.append(body)

    @app.subscriber("text")
    def text(body: str) -> None:
        got.append(body)

    @app.subscriber("numbers")
    def numbers(values: list[int]) -> None:
        got.append(values)

    run(app, ({"id": 1, "quantity": "2"}, "orders"), ({"x": 1, "y": 2}, "points"), (b"\x00\x01", "raw"),
        ("hello", "text"), ([1, "2"], "numbers"))
    assert got == [Order(id=1, quantity=2), Point(1, 2), b"\x00\x01", "hello", [1, 2]]


def test_depends_headers_and_the_message_itself() -> None:
    app = App()
    got: list[Any] = []

    @app.subscriber("events")
    def event(body: dict, who: Annotated[str, Depends(tenant)], message: Message,
              x_trace: Annotated[str, Header()] = "none") -> None:
        got.append((body, who, message.topic, x_trace, message.content_type))

    run(app, ({"a": 1}, "events", {"key": "7", "headers": {"x-trace": "abc"}}))
    assert got == [({"a": 1}, "tenant-7", "events", "abc", "application/json")]


def test_validation_failure_dead_letters_without_calling_the_handler() -> None:
    app = App()
    called: list[Any] = []
    dead: list[str] = []

    @app.subscriber("orders", dead_letter="orders.dead")
    def order(order: Order) -> None:
        called.append(order)

    @app.subscriber("orders.dead")
    def on_dead(message: Message) -> None:
        dead.append(message.text)

    broker = run(app, ({"id": "x"}, "orders"))
    assert called == []
    assert dead == ['{"id":"x"}']
    assert ("orders", "reject", b'{"id":"x"}') in broker.settlements


def test_a_raise_is_retried_with_a_count_then_dead_lettered() -> None:
    app = App()
    attempts: list[int] = []
    dead: list[int] = []

    @app.subscriber("jobs", dead_letter="jobs.dead", retry=Retry(max_retries=2, delay=0.001))
    def job(message: Message) -> None:
        attempts.append(message.retries)
        raise RuntimeError("boom")

    @app.subscriber("jobs.dead")
    def on_dead(message: Message) -> None:
        dead.append(message.retries)

    run(app, ("work", "jobs"))
    assert attempts == [0, 1, 2]
    assert dead == [2]


@pytest.mark.parametrize(("policy", "action"), [("nack_on_error", "requeue"), ("reject_on_error", "reject"),
                                                ("manual", "requeue")])
def test_ack_policies_on_error(policy: str, action: str) -> None:
    app = App()

    @app.subscriber("q", ack_policy=policy)
    def failing(message: Message) -> None:
        raise RuntimeError("boom")

    assert run(app, ("x", "q")).settlements == [("q", action, b"x")]


def test_ack_first_manual_ack_and_message_results() -> None:
    app = App()

    @app.subscriber("first", ack_policy="ack_first")
    def first(message: Message) -> None:
        raise RuntimeError("acked already: not retried")

    @app.subscriber("manual", ack_policy="manual")
    async def manual(message: Message) -> None:
        await message.ack()

    @app.subscriber("result")
    def result(message: Message) -> MessageResult:
        return MessageResult.REJECT

    settlements = run(app, ("a", "first"), ("b", "manual"), ("c", "result")).settlements
    assert settlements == [("first", "ack", b"a"), ("manual", "ack", b"b"), ("result", "reject", b"c")]


def test_publisher_sends_the_return_value_on() -> None:
    app = App()
    got: list[Any] = []

    @app.subscriber("in")
    @app.publisher("out")
    def relay(body: str) -> dict[str, str]:
        return {"relayed": body}

    @app.subscriber("out")
    def out(body: dict) -> None:
        got.append(body)

    broker = run(app, ("hi", "in"))
    assert got == [{"relayed": "hi"}]
    assert [message.json() for message in broker.published["out"]] == [{"relayed": "hi"}]


def test_bad_registrations_and_configs_say_what_to_do() -> None:
    app = App()
    with pytest.raises(ValueError, match="unknown ack_policy"):
        app.subscriber("q", ack_policy="sometimes")
    with pytest.raises(ValueError, match="concurrency"):
        app.subscriber("q", concurrency=0)
    with pytest.raises(ValueError, match="amqp://"):
        RabbitMQConfig(url="localhost")
    with pytest.raises(ValueError, match="prefetch_count"):
        RabbitMQConfig(prefetch_count=70000)
    with pytest.raises(TypeError, match="RabbitMQConfig"):
        app.enable_rabbitmq("amqp://localhost")  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="enable_rabbitmq"):
        _ = app.rabbitmq
    config = RabbitMQConfig()
    assert (config.url, config.vhost, config.prefetch_count, config.heartbeat, config.connection_timeout_secs) == (
        "amqp://localhost", "/", 10, 60, 5.0)
