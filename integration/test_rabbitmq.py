"""Messaging against the local RabbitMQ (127.0.0.1:5672, guest/guest), through a real app
process (integration/apps/messaging_app.py): round trips from HTTP routes and
publishers, retries then the dead letter, validation failures, manual acks, a shutdown
with messages in flight that loses none, and a reconnection after the broker closed
the app's connection. Queue counts are read from the broker with rabbitmqctl."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from messaging_support import DEADLINE, call, seen
from support.processes import ServerProcess, wait_until

APP = Path(__file__).resolve().parent / "apps" / "messaging_app.py"
ROOT = Path(__file__).resolve().parent.parent


PREFIX = "cello-it-"


@pytest.fixture(scope="module", autouse=True)
def rabbitmq() -> None:
    """The local RabbitMQ, started if it is installed and not running. A policy makes
    the tests' queues expire a minute after their last use: one call here instead of a
    (slow) rabbitmqctl call per queue after each test."""
    subprocess.run([str(ROOT / "scripts" / "services.sh"), "rabbitmq"], check=True, timeout=300)
    rabbitmqctl("set_policy", "cello-integration-expiry", f"^{PREFIX}", '{"expires": 60000}',
                "--apply-to", "queues")


def rabbitmqctl(*args: str) -> str:
    return subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, text=True,
                          timeout=120).stdout


def queue_counts(prefix: str) -> dict[str, tuple[int, int]]:
    """``{queue: (ready, unacknowledged)}`` for this test's queues."""
    counts = {}
    for line in rabbitmqctl("list_queues", "--no-table-headers", "name", "messages_ready",
                            "messages_unacknowledged").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].startswith(prefix):
            counts[parts[0][len(prefix):]] = (int(parts[1]), int(parts[2]))
    return counts


@pytest.fixture
def prefix() -> str:
    """Queue names of this test's own (they expire by the policy above)."""
    return f"{PREFIX}{uuid.uuid4().hex[:10]}."


@pytest.fixture
def app_process(prefix: str) -> Iterator[Callable[[], tuple[ServerProcess, int]]]:
    started: list[ServerProcess] = []

    def start(workers: int = 1) -> tuple[ServerProcess, int]:
        process = ServerProcess([sys.executable, str(APP), "--port", "0", "--workers", str(workers)],
                                env={"CELLO_TEST_PREFIX": prefix})
        started.append(process)
        port, _ = process.wait_ready()
        return process, port

    yield start
    for process in started:
        process.kill()


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
    # on_echo takes `body: str`: the JSON text as published, upper-cased and published on.
    assert seen(port, "echoed", 1) == ['"HELLO"']


def test_a_failing_handler_is_retried_with_a_count_then_dead_lettered(app_process: Any, prefix: str) -> None:
    _, port = app_process()
    call(port, "POST", "/publish/flaky", b'{"n": 1}')
    assert seen(port, "flaky.dead", 1) == [{"body": '{"n": 1}', "retries": 2}]
    assert call(port, "GET", "/seen")["flaky"] == [{"retries": 0}, {"retries": 1}, {"retries": 2}]
    wait_until(lambda: queue_counts(prefix).get("flaky") == (0, 0), DEADLINE, "the flaky queue empty")


def test_a_message_that_does_not_validate_goes_to_the_dead_letter_at_once(app_process: Any) -> None:
    _, port = app_process()
    call(port, "POST", "/publish/orders", b'{"id": "not a number", "quantity": 1}')
    call(port, "POST", "/publish/orders", b"not json")
    dead = seen(port, "orders.dead", 2)
    assert sorted(entry["body"] for entry in dead) == ['not json', '{"id": "not a number", "quantity": 1}']
    assert all(entry["retries"] == 0 for entry in dead)
    assert "orders" not in call(port, "GET", "/seen")


def test_manual_ack_settles_only_what_the_handler_acked(app_process: Any, prefix: str) -> None:
    _, port = app_process()
    call(port, "POST", "/publish/manual", b"ack")
    call(port, "POST", "/publish/manual", b"keep")
    assert sorted(seen(port, "manual", 2)) == ["ack", "keep"]
    # The one never acked stays with the consumer, unacknowledged.
    wait_until(lambda: queue_counts(prefix).get("manual") == (0, 1), DEADLINE, "one unacked message")


def test_shutdown_with_messages_in_flight_loses_none(app_process: Any, prefix: str) -> None:
    process, port = app_process()
    total = 40
    for index in range(total):
        call(port, "POST", "/publish/slow", str(index).encode())
    seen(port, "slow", 1)  # consuming has begun: some are in flight when the signal lands
    process.proc.send_signal(signal.SIGTERM)
    assert process.proc.wait(timeout=DEADLINE) == 0
    process.finish_output()
    handled = {line.split(" ", 2)[2] for line in process.output().splitlines()
               if line.startswith("handled slow ")}
    ready, unacked = queue_counts(prefix)["slow"]
    assert unacked == 0
    assert ready + len(handled) == total, (ready, sorted(handled, key=int))
    # What is left is consumed by the next process, none twice.
    _, port = app_process()
    rest = seen(port, "slow", ready) if ready else []
    assert sorted(map(int, [*handled, *rest])) == list(range(total))


def test_subscribers_come_back_after_the_broker_closes_the_connection(app_process: Any, prefix: str) -> None:
    _, port = app_process()
    call(port, "POST", "/publish/echo", b'"one"')
    assert seen(port, "echoed", 1) == ['"ONE"']
    listed = rabbitmqctl("list_connections", "--no-table-headers", "pid", "client_properties")
    pids = [line.split()[0] for line in listed.splitlines() if f'"{prefix}app"' in line]
    assert len(pids) == 1, listed
    rabbitmqctl("close_connection", pids[0], "cello integration test: forced close")
    wait_until(lambda: call(port, "GET", "/connected")["connected"] and
               pids[0] not in rabbitmqctl("list_connections", "--no-table-headers", "pid"),
               DEADLINE, "a new connection")
    call(port, "POST", "/publish/echo", b'"two"')
    assert seen(port, "echoed", 2) == ['"ONE"', '"TWO"']


def test_subscribers_come_back_after_the_broker_restarts(app_process: Any) -> None:
    _, port = app_process()
    call(port, "POST", "/publish/echo", b'"before"')
    assert seen(port, "echoed", 1) == ['"BEFORE"']
    try:
        rabbitmqctl("stop_app")
        wait_until(lambda: not call(port, "GET", "/connected")["connected"], DEADLINE, "the connection lost")
    finally:
        rabbitmqctl("start_app")
    rabbitmqctl("await_startup")
    wait_until(lambda: call(port, "GET", "/connected")["connected"], DEADLINE, "the connection back")
    call(port, "POST", "/publish/echo", b'"after"')
    assert seen(port, "echoed", 2) == ['"BEFORE"', '"AFTER"']


def test_every_worker_consumes_on_its_own_connection(app_process: Any, prefix: str) -> None:
    _, port = app_process(workers=2)

    def consumers(queue: str = "orders") -> int:
        for line in rabbitmqctl("list_queues", "--no-table-headers", "name", "consumers").splitlines():
            name, _, count = line.partition("\t")
            if name == f"{prefix}{queue}":
                return int(count)
        return 0

    wait_until(lambda: consumers() == 2, DEADLINE, "a consumer in each of the 2 workers")
    # workers=1: the first worker only.
    assert consumers("single") == 1
    listed = rabbitmqctl("list_connections", "--no-table-headers", "pid", "client_properties")
    assert sum(f'"{prefix}app"' in line for line in listed.splitlines()) == 2
    call(port, "POST", "/orders", b'{"id": 1, "quantity": 1}', {"content-type": "application/json"})
    wait_until(lambda: queue_counts(prefix).get("orders") == (0, 0), DEADLINE, "the order consumed")


SEED_003_ENABLE_RABBITMQ = """
from cello import App, RabbitMQConfig

app = App()
app.enable_rabbitmq(RabbitMQConfig(
    url="amqp://localhost",
    prefetch_count=20
))
"""


def test_seed_003_enable_rabbitmq_example_runs_and_connects() -> None:
    from cello.testing import TestClient

    namespace: dict[str, Any] = {}
    exec(SEED_003_ENABLE_RABBITMQ, namespace)  # noqa: S102 - the seed's example as written
    app = namespace["app"]

    @app.get("/broker")
    def broker(request: Any) -> Any:
        return {"address": app.rabbitmq.address, "connected": app.rabbitmq.connected}

    with TestClient(app) as client:
        assert client.get("/broker").json() == {"address": "localhost:5672", "connected": True}


def test_an_unreachable_broker_stops_the_worker_naming_host_and_port() -> None:
    from cello import App, RabbitMQConfig
    from cello.messaging import BrokerConnectionError
    from cello.testing import TestClient

    app = App()
    app.enable_rabbitmq(RabbitMQConfig(url="amqp://guest:guest@127.0.0.1:1", connection_timeout_secs=10))
    with pytest.raises(BrokerConnectionError, match="127.0.0.1:1"), TestClient(app):
        pass


def test_messaging_example_serves(prefix: str) -> None:
    process = ServerProcess([sys.executable, str(ROOT / "examples" / "messaging.py"), "--port", "0", "--workers", "1"],
                            env={"CELLO_EXAMPLE_QUEUE": f"{prefix}orders"})
    try:
        port, _ = process.wait_ready()
        assert call(port, "POST", "/orders", b'{"id": 1, "quantity": 2}',
                    {"content-type": "application/json"}) == {"id": 1, "quantity": 2}
        assert wait_until(lambda: call(port, "GET", "/shipped"), DEADLINE, "the order shipped") == [
            {"id": 1, "quantity": 2}]
    finally:
        process.kill()
