"""The transactional outbox against the local RabbitMQ (and once against Kafka), through a real app process
(integration/apps/outbox_app.py): saved events reach the queue with the aggregate id as
key and the event id as message id; an event saved while the broker is stopped arrives
once it is back; a rolled-back transaction publishes nothing."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.processes import ServerProcess, wait_until
from test_rabbitmq import DEADLINE, PREFIX, call, rabbitmq, rabbitmqctl  # noqa: F401 - the fixture

APP = Path(__file__).resolve().parent / "apps" / "outbox_app.py"
ROOT = Path(__file__).resolve().parent.parent


POSTGRES_URL = os.environ.get("CELLO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def outbox_app(tmp_path: Path) -> Iterator[Callable[..., int]]:
    started: list[ServerProcess] = []

    def start(database: str = "sqlite", broker: str = "rabbitmq") -> int:
        prefix = f"{PREFIX}{uuid.uuid4().hex[:10]}."
        url = POSTGRES_URL if database == "postgres" else f"sqlite://{tmp_path / 'o.db'}"
        process = ServerProcess([sys.executable, str(APP), "--port", "0"],
                                env={"CELLO_TEST_PREFIX": prefix, "CELLO_TEST_DB": url, "CELLO_TEST_BROKER": broker})
        started.append(process)
        port, _ = process.wait_ready()
        return port

    yield start
    for process in started:
        process.kill()


def seen(port: int, count: int) -> list[dict[str, Any]]:
    def enough() -> list[dict[str, Any]] | None:
        values: list[dict[str, Any]] = call(port, "GET", "/seen")["seen"]
        return values if len(values) >= count else None

    result: list[dict[str, Any]] = wait_until(enough, DEADLINE, f"{count} messages from the outbox")
    return result


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_saved_events_reach_the_queue_once(outbox_app: Any, database: str) -> None:
    port = outbox_app(database)
    first = call(port, "POST", "/orders/apple")["id"]
    second = call(port, "POST", "/orders/pear")["id"]
    messages = seen(port, 2)
    assert [(m["key"], m["type"], m["body"]["data"]) for m in messages] == [
        (first, "Placed", {"item": "apple"}), (second, "Placed", {"item": "pear"}),
    ]
    assert messages[0]["id"] == messages[0]["body"]["event_id"]  # the consumers' de-duplication key
    wait_until(lambda: call(port, "GET", "/state")["pending"] == 0, DEADLINE, "the rows marked published")


def test_a_rolled_back_transaction_publishes_nothing(outbox_app: Any) -> None:
    port = outbox_app()
    assert call(port, "POST", "/manual/rollback") == {"rolled_back": True}
    assert call(port, "POST", "/manual/commit") == {"rolled_back": False}
    messages = seen(port, 1)
    # The committed one arrived; the relay is idle with nothing pending, so the
    # rolled-back one was never written.
    wait_until(lambda: call(port, "GET", "/state")["pending"] == 0, DEADLINE, "the outbox drained")
    assert [m["body"] for m in call(port, "GET", "/seen")["seen"]] == [{"manual": "commit"}]
    assert messages[0]["key"] == "m"


def test_an_event_saved_while_the_broker_is_down_arrives_when_it_is_back(outbox_app: Any) -> None:
    port = outbox_app()
    call(port, "POST", "/orders/before")
    seen(port, 1)
    try:
        rabbitmqctl("stop_app")
        wait_until(lambda: not call(port, "GET", "/state")["connected"], DEADLINE, "the connection lost")
        saved = call(port, "POST", "/orders/during")["id"]  # committed with the broker down
        assert call(port, "GET", "/state")["pending"] == 1
    finally:
        rabbitmqctl("start_app")
    rabbitmqctl("await_startup")
    messages = seen(port, 2)
    assert messages[1]["key"] == saved and messages[1]["body"]["data"] == {"item": "during"}
    wait_until(lambda: call(port, "GET", "/state")["pending"] == 0, DEADLINE, "the outbox drained")


def test_saved_events_reach_a_kafka_topic_keyed_by_aggregate(outbox_app: Any) -> None:
    import subprocess

    subprocess.run([str(ROOT / "scripts" / "services.sh"), "kafka"], check=True, timeout=1800, cwd=ROOT)
    port = outbox_app("postgres", broker="kafka")
    ids = [call(port, "POST", f"/orders/item-{n}")["id"] for n in range(6)]
    messages = seen(port, 6)
    assert sorted(m["key"] for m in messages) == sorted(ids)
    assert all(m["id"] == m["body"]["event_id"] and m["type"] == "Placed" for m in messages)
    # One aggregate's events share its key, so they share a partition and keep their order.
    assert {m["partition"] for m in messages} <= {0, 1, 2}
    wait_until(lambda: call(port, "GET", "/state")["pending"] == 0, DEADLINE, "the rows marked published")
