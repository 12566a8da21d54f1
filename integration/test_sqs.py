"""SQS from Python against a local SQS server (moto, started by scripts/services.sh on
127.0.0.1:4566): ``app.enable_sqs``, typed subscribers, ``app.publish`` from a route,
retries then the dead letter, and the errors for what SQS cannot do."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from cello import App, SqsConfig
from cello.messaging import BrokerConnectionError, Message
from cello.testing import TestClient
from support.processes import ServerProcess, wait_until

ROOT = Path(__file__).resolve().parent.parent
APP = Path(__file__).resolve().parent / "apps" / "sqs_app.py"
ENDPOINT = "http://127.0.0.1:4566"
DEADLINE = 30.0


@pytest.fixture(scope="module", autouse=True)
def sqs_server() -> None:
    subprocess.run([str(ROOT / "scripts" / "services.sh"), "sqs"], check=True, timeout=300, cwd=ROOT)


def test_seed_003_enable_sqs_example_registers() -> None:
    app = App()
    app.enable_sqs(SqsConfig(
        region="us-west-2",
        queue_url="https://sqs.us-west-2.amazonaws.com/123/queue"
    ))
    config = SqsConfig()
    assert (config.region, config.queue_url, config.endpoint_url, config.max_messages, config.wait_time_secs,
            config.visibility_timeout_secs) == ("us-east-1", "", None, 10, 20, 30)
    assert SqsConfig.local("q").endpoint_url == "http://localhost:4566"
    with pytest.raises(ValueError, match="between 1 and 10"):
        SqsConfig(max_messages=11)


def test_publish_from_a_route_reaches_a_typed_subscriber_then_retries_and_dead_letters() -> None:
    queue = f"cello-it-{uuid.uuid4().hex[:10]}"
    process = ServerProcess([sys.executable, str(APP), "--port", "0"], env={"CELLO_TEST_QUEUE": queue})
    try:
        port, _ = process.wait_ready()
        assert call(port, "POST", "/jobs", {"id": 1, "name": "ok"}) == {"queued": True}
        call(port, "POST", "/jobs", {"id": 2, "name": "broken"})
        seen = wait_until(lambda: (got := call(port, "GET", "/seen"))["jobs"] and got["dead"] and got,
                          DEADLINE, "the job handled and the broken one dead-lettered")
    finally:
        process.kill()
    assert seen["jobs"] == [[1, "ok", "k-1", "http"]]
    assert seen["attempts"] == [0, 1, 2]  # the first delivery and two retries
    assert seen["dead"] == [{"id": 2, "name": "broken"}]


def test_the_outbox_relays_events_to_sqs(tmp_path: Path) -> None:
    queue = f"cello-it-{uuid.uuid4().hex[:10]}"
    process = ServerProcess([sys.executable, str(APP), "--port", "0"],
                            env={"CELLO_TEST_QUEUE": queue, "CELLO_TEST_DB": f"sqlite://{tmp_path / 'o.db'}"})
    try:
        port, _ = process.wait_ready()
        first = call(port, "POST", "/notes/hello")["id"]
        events = wait_until(lambda: call(port, "GET", "/seen")["events"], DEADLINE, "the event relayed to SQS")
    finally:
        process.kill()
    assert events == [[first, "Noted", {"text": "hello"}]]


def call(port: int, method: str, path: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_what_sqs_cannot_do_is_a_clear_error() -> None:
    app = App()
    app.enable_sqs(SqsConfig(endpoint_url=ENDPOINT, wait_time_secs=1))

    @app.subscriber("cello-it-exchange", exchange="events")
    def on_event(message: Message) -> None: ...

    with pytest.raises(Exception, match="SQS has no exchanges"), TestClient(app):
        pass


def test_an_unreachable_endpoint_stops_the_worker_naming_it() -> None:
    app = App()
    app.enable_sqs(SqsConfig(endpoint_url="http://127.0.0.1:1"))
    started = time.monotonic()
    with pytest.raises(BrokerConnectionError, match="127.0.0.1:1"), TestClient(app):
        pass
    assert time.monotonic() - started < DEADLINE
