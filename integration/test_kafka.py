"""Messaging on Kafka, against a Kafka-protocol broker (tansu on 127.0.0.1:9092, started
by scripts/services.sh), through real app processes (integration/apps/messaging_app.py
with CELLO_TEST_BROKER=kafka): round trips from HTTP routes and publishers, retries then
the dead-letter topic, validation failures, manual acks that commit only what was
acked, a consumer group of two processes splitting partitions and taking over, a
shutdown with records in flight that loses none, and the original's client API."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cello.messaging import Message, Retry
from messaging_support import DEADLINE, call, seen
from support.processes import ServerProcess, wait_until

APP = Path(__file__).resolve().parent / "apps" / "messaging_app.py"
ROOT = Path(__file__).resolve().parent.parent
BROKERS = "127.0.0.1:9092"


@pytest.fixture(scope="module", autouse=True)
def kafka() -> None:
    """The local Kafka-protocol broker (tansu), built and started when missing."""
    subprocess.run([str(ROOT / "scripts" / "services.sh"), "kafka"], check=True, timeout=1800, cwd=ROOT)


@pytest.fixture
def prefix() -> str:
    """Topic names and a consumer group of this test's own."""
    return f"cello-it-{uuid.uuid4().hex[:10]}."


@pytest.fixture
def app_process(prefix: str) -> Iterator[Callable[..., tuple[ServerProcess, int]]]:
    started: list[ServerProcess] = []

    def start(partitions: int = 1) -> tuple[ServerProcess, int]:
        process = ServerProcess([sys.executable, str(APP), "--port", "0", "--workers", "1"],
                                env={"CELLO_TEST_PREFIX": prefix, "CELLO_TEST_BROKER": "kafka",
                                     "CELLO_TEST_PARTITIONS": str(partitions)})
        started.append(process)
        port, _ = process.wait_ready()
        return process, port

    yield start
    for process in started:
        process.kill()


def stop(process: ServerProcess) -> set[str]:
    """SIGTERM, a clean exit, and the `handled slow ...` bodies it printed."""
    process.proc.send_signal(signal.SIGTERM)
    assert process.proc.wait(timeout=DEADLINE) == 0
    process.finish_output()
    return {line.split(" ", 2)[2] for line in process.output().splitlines() if line.startswith("handled slow ")}


def test_http_route_publisher_reaches_a_typed_subscriber_with_depends_and_headers(app_process: Any) -> None:
    _, port = app_process()
    assert call(port, "POST", "/orders", json.dumps({"id": 7, "quantity": 2}).encode(),
                {"content-type": "application/json"}) == {"id": 7, "quantity": 2}
    call(port, "POST", "/publish/orders", b'{"id": 8, "quantity": "3"}', {"x-msg-x-origin": "direct"})
    orders = seen(port, "orders", 2)
    assert sorted(orders, key=lambda order: order["id"]) == [
        {"id": 7, "quantity": 2, "via": "orders-subscriber", "origin": "http"},
        {"id": 8, "quantity": 3, "via": "orders-subscriber", "origin": "direct"},
    ]


def test_a_subscriber_publishes_its_return_value(app_process: Any) -> None:
    _, port = app_process()
    call(port, "POST", "/publish/echo", b'"hello"')
    assert seen(port, "echoed", 1) == ['"HELLO"']


def test_a_failing_handler_is_retried_with_a_count_then_dead_lettered(app_process: Any) -> None:
    _, port = app_process()
    call(port, "POST", "/publish/flaky", b'{"n": 1}')
    assert seen(port, "flaky.dead", 1) == [{"body": '{"n": 1}', "retries": 2}]
    assert call(port, "GET", "/seen")["flaky"] == [{"retries": 0}, {"retries": 1}, {"retries": 2}]


def test_a_record_that_does_not_validate_goes_to_the_dead_letter_at_once(app_process: Any) -> None:
    _, port = app_process()
    call(port, "POST", "/publish/orders", b'{"id": "not a number", "quantity": 1}')
    call(port, "POST", "/publish/orders", b"not json")
    dead = seen(port, "orders.dead", 2)
    assert sorted(entry["body"] for entry in dead) == ['not json', '{"id": "not a number", "quantity": 1}']
    assert all(entry["retries"] == 0 for entry in dead)
    assert "orders" not in call(port, "GET", "/seen")


def test_manual_ack_commits_only_up_to_the_first_record_not_acked(app_process: Any) -> None:
    process, port = app_process()
    for body in (b"ack", b"keep", b"ack"):
        call(port, "POST", "/publish/manual", body)
    assert seen(port, "manual", 3) == ["ack", "keep", "ack"]
    stop(process)
    # The group resumes at the record never acked (and reads what follows it again).
    _, port = app_process()
    assert seen(port, "manual", 2) == ["keep", "ack"]


def test_shutdown_with_records_in_flight_loses_none(app_process: Any) -> None:
    process, port = app_process()
    total = 40
    for index in range(total):
        call(port, "POST", "/publish/slow", str(index).encode())
    seen(port, "slow", 1)  # consuming has begun: some are in flight when the signal lands
    handled = stop(process)
    # The next member of the group reads what was not committed; a last record marks the end.
    _, port = app_process()
    call(port, "POST", "/publish/slow", b"end")
    rest = wait_until(lambda: (got := call(port, "GET", "/seen").get("slow", [])) and got[-1] == "end" and got,
                      DEADLINE, "the end marker")
    bodies = [*handled, *rest[:-1]]
    assert sorted(map(int, bodies)) == list(range(total)), "each record handled once"


def test_a_group_of_two_processes_splits_partitions_and_takes_over(app_process: Any) -> None:
    _, first_port = app_process(partitions=4)
    second, second_port = app_process(partitions=4)

    def split() -> Any:
        a = call(first_port, "GET", "/assignment")["keyed"]
        b = call(second_port, "GET", "/assignment")["keyed"]
        return a and b and sorted(a + b) == [0, 1, 2, 3] and (a, b)

    a, b = wait_until(split, DEADLINE, "the 4 partitions split between the two processes")
    for key in range(40):
        call(first_port, "POST", f"/publish/keyed?key=k{key}", b"{}")
    pids = {call(port, "GET", "/pid")["pid"]: port for port in (first_port, second_port)}

    def handled() -> int:
        return sum(len(call(port, "GET", "/seen").get("keyed", [])) for port in pids.values())

    wait_until(lambda: handled() == 40, DEADLINE, "the 40 records handled")
    by_process = {pid: call(port, "GET", "/seen")["keyed"] for pid, port in pids.items()}
    assert all(by_process.values()), "both members handled records"
    for pid, records in by_process.items():
        assert {record["pid"] for record in records} == {pid}
        owned = a if pids[pid] == first_port else b
        assert {record["partition"] for record in records} <= set(owned)
    stop(second)
    wait_until(lambda: call(first_port, "GET", "/assignment")["keyed"] == [0, 1, 2, 3], DEADLINE,
               "the first process holding every partition")
    before = len(call(first_port, "GET", "/seen")["keyed"])
    for key in range(8):
        call(first_port, "POST", f"/publish/keyed?key=after{key}", b"{}")
    wait_until(lambda: len(call(first_port, "GET", "/seen")["keyed"]) == before + 8, DEADLINE,
               "the records of the departed member's partitions handled")


SEED_003_ENABLE_MESSAGING = """
from cello import App, KafkaConfig

app = App()
app.enable_messaging(KafkaConfig(
    brokers=["localhost:9092"],
    group_id="my-group"
))
"""


def test_seed_003_enable_messaging_example_runs_and_connects() -> None:
    from cello.testing import TestClient

    namespace: dict[str, Any] = {}
    exec(SEED_003_ENABLE_MESSAGING, namespace)  # noqa: S102 - the seed's example as written
    app = namespace["app"]

    @app.get("/broker")
    def broker(request: Any) -> Any:
        return {"address": app.kafka.address, "group": app.kafka.config.group}

    with TestClient(app) as client:
        assert client.get("/broker").json() == {"address": "localhost:9092", "group": "my-group"}


def test_an_unreachable_broker_stops_the_worker_naming_it() -> None:
    from cello import App, KafkaConfig
    from cello.messaging import BrokerConnectionError
    from cello.testing import TestClient

    app = App()
    app.enable_messaging(KafkaConfig(brokers="127.0.0.1:1", connection_timeout_secs=1))
    with pytest.raises(BrokerConnectionError, match="127.0.0.1:1"), TestClient(app):
        pass


def test_producer_and_consumer_round_trip_with_commits(prefix: str) -> None:
    import cello.data
    from cello.messaging import Consumer, KafkaConfig, Producer

    topic = f"{prefix}audit"
    config = KafkaConfig(brokers=BROKERS, group_id=f"{prefix}audit-group", auto_commit=False)

    async def main() -> tuple[list[Any], list[Any], list[Any]]:
        producer = await Producer.connect(config)
        consumer = await Consumer.connect(config)
        await consumer.subscribe([topic])
        assert await producer.send(topic, {"n": 1}, key="a", headers={"origin": "test"}) is True
        assert await producer.send_batch([{"topic": topic, "value": {"n": n}} for n in (2, 3)]) == 2
        first: list[Any] = []
        while len(first) < 3:
            first += await consumer.poll(timeout_ms=5000)
        await consumer.commit(first[0])  # only the first: the others are read again
        await consumer.close()
        again = await Consumer.connect(config)
        await again.subscribe(topic)
        second: list[Any] = []
        while len(second) < 2:
            second += await again.poll(timeout_ms=5000)
        await again.commit()
        await again.close()
        last = await Consumer.connect(config)
        await last.subscribe(topic)
        nothing = await last.poll(timeout_ms=1500)
        await last.close()
        await producer.close()
        return first, second, nothing

    with asyncio.Runner(loop_factory=cello.data.event_loop) as runner:
        first, second, nothing = runner.run(main())
    assert [message.json() for message in first] == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert (first[0].key, first[0].headers, first[0].partition, first[0].offset) == ("a", {"origin": "test"}, 0, 0)
    assert [message.json() for message in second] == [{"n": 2}, {"n": 3}]
    assert nothing == []


def test_kafka_consumer_and_kafka_producer_decorators(prefix: str) -> None:
    from cello import App, KafkaConfig
    from cello.messaging import kafka_consumer, kafka_producer
    from cello.testing import TestClient

    got: list[Any] = []
    app = App()
    app.enable_messaging(KafkaConfig(brokers=BROKERS, group_id=f"{prefix}group"))

    @app.post("/notes")
    @kafka_producer(f"{prefix}notes")
    def create(request: Any) -> Any:
        return request.json()

    @kafka_consumer(f"{prefix}notes", group=f"{prefix}readers")
    async def read(message: Message) -> None:
        got.append((message.json(), message.topic))

    @app.get("/got")
    async def got_so_far(request: Any) -> Any:
        await asyncio.sleep(0.05)  # the TestClient runs the loop (and the consumer) during requests
        return got

    assert read._cello_consumer_topic == f"{prefix}notes"  # type: ignore[attr-defined]
    with TestClient(app) as client:
        assert client.post("/notes", json={"text": "hi"}).json() == {"text": "hi"}
        wait_until(lambda: client.get("/got").json(), DEADLINE, "the note consumed")
    assert got == [({"text": "hi"}, f"{prefix}notes")]



def test_consumers_report_through_health_checks_and_metrics(prefix: str) -> None:
    from cello import App, HealthCheckConfig, KafkaConfig
    from cello.testing import TestClient

    app = App()
    app.enable_messaging(KafkaConfig(brokers=BROKERS, group_id=f"{prefix}group"))
    app.enable_health_checks(HealthCheckConfig(base_path="/health"))
    app.enable_prometheus()
    topic = f"{prefix}events"
    handled: list[Any] = []

    @app.subscriber(topic, retry=Retry(max_retries=0))
    def on_event(body: dict[str, Any]) -> None:
        if body.get("fail"):
            raise ValueError("this one fails")
        handled.append(body)

    @app.post("/events")
    async def publish(request: Any) -> Any:
        await app.publish(request.json(), topic)
        return {}

    @app.get("/handled")
    async def handled_so_far(request: Any) -> Any:
        await asyncio.sleep(0.05)  # the TestClient runs the loop (and the consumer) during requests
        return handled

    def details() -> Any:
        client.get("/handled")
        return client.get("/health").json()["checks"]["kafka"]

    with TestClient(app) as client:
        kafka = wait_until(lambda: (got := details())["details"]["subscribers"][topic]["partitions"] and got,
                           DEADLINE, "the subscriber's partitions in the health report")
        assert kafka["status"] == "UP"
        assert kafka["details"]["address"] == BROKERS
        assert kafka["details"]["subscribers"][topic] == {"running": True, "group": f"{prefix}group",
                                                         "partitions": [0], "pending": 0}
        client.post("/events", json={"n": 1})
        client.post("/events", json={"fail": True})
        client.post("/events", json={"n": 2})
        wait_until(lambda: len(client.get("/handled").json()) == 2, DEADLINE, "two events handled")
        metrics = wait_until(lambda: client.get("/handled") and (text := client.get("/metrics").text)
                             and "outcome=\"error\"" in text and text, DEADLINE, "the failure counted")
    labels = f'broker="kafka",source="{topic}"'
    assert f'cello_messages_handled_total{{{labels},outcome="ok"}} 2' in metrics
    assert f'cello_messages_handled_total{{{labels},outcome="error"}} 1' in metrics
    assert f'cello_message_handler_seconds_count{{{labels}}} 3' in metrics

