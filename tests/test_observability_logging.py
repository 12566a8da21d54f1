"""Logging: the access log and the app's records in one format (text, combined,
JSON) with the request id on every record emitted during a request, Rust's
connection errors through the same logging, rate-limited."""

from __future__ import annotations

import json
import logging
import socket
import sys
import time
from collections.abc import Callable

import pytest
from cello import App, LoggingConfig
from cello.observability import CelloFormatter
from cello.testing import TestClient
from support.processes import PROCESS_TIMEOUT, REPO, ServerProcess, get, wait_until

APP = REPO / "tests" / "apps" / "observability_app.py"


def get_with_id(port: int, path: str, request_id: str) -> int:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=PROCESS_TIMEOUT)
    try:
        connection.request("GET", path, headers={"X-Request-ID": request_id, "User-Agent": "obs-test/1"})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def json_lines(server: ServerProcess) -> list[dict[str, object]]:
    documents = []
    for line in server.stderr_matches(r"^\{"):
        documents.append(json.loads(line))
    return documents


def test_json_logs_carry_the_request_id_for_handler_and_access_records(
    spawn: Callable[..., ServerProcess],
) -> None:
    server = spawn([sys.executable, str(APP), "--port", "0"], env={"CELLO_OBS_LOG_FORMAT": "json"})
    port, _ = server.wait_ready()
    assert get_with_id(port, "/log?tag=sync", "sync-id-1") == 200
    assert get_with_id(port, "/alog?tag=async", "async-id-2") == 200

    def found() -> list[dict[str, object]] | None:
        documents = json_lines(server)
        wanted = [d for d in documents if d.get("request_id") in ("sync-id-1", "async-id-2")]
        return wanted if len(wanted) >= 4 else None

    documents = wait_until(found, PROCESS_TIMEOUT, "two handler and two access records")
    handler = {d["request_id"]: d for d in documents if d["logger"] == "observability_app"}
    assert handler["sync-id-1"]["message"] == "handler log line for sync"
    assert handler["async-id-2"]["message"] == "async handler log line for async"
    assert handler["sync-id-1"]["level"] == "WARNING"
    access = {d["request_id"]: d for d in documents if d["logger"] == "cello"}
    assert access["sync-id-1"]["route"] == "/log"
    assert access["sync-id-1"]["status"] == 200
    assert access["sync-id-1"]["user_agent"] == "obs-test/1"
    assert access["async-id-2"]["path"] == "/alog?tag=async"
    assert isinstance(access["async-id-2"]["duration_ms"], float)
    # Records outside a request have no id, and every line is JSON.
    assert all(line.startswith("{") for line in server.stderr if line.strip())


def test_malformed_connections_cannot_flood_the_log(spawn: Callable[..., ServerProcess]) -> None:
    server = spawn([sys.executable, str(APP), "--port", "0"], env={"CELLO_OBS_LOG_FORMAT": "text"})
    port, _ = server.wait_ready()

    def garbage() -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=PROCESS_TIMEOUT) as connection:
            connection.sendall(b"NOT HTTP AT ALL\x00\x01\r\n\r\n")
            try:
                while connection.recv(4096):
                    pass
            except OSError:
                pass

    sent = 300
    for _ in range(sent):
        garbage()
    assert get(port, "/pid")[0] == 200
    malformed = server.stderr_matches(r"WARNING cello\.connection: malformed request")
    assert malformed, server.output()
    assert len(malformed) < sent / 2, f"{len(malformed)} lines for {sent} malformed connections"

    def summary() -> list[str]:
        garbage()
        time.sleep(0.05)  # pacing the probes, not a timing assertion
        return server.stderr_matches(r"\((\d+) similar lines suppressed\)")

    lines = wait_until(summary, PROCESS_TIMEOUT * 2, "the line counting the suppressed ones")
    assert "peer=127.0.0.1:" in lines[0]


def make_record(**extra: object) -> logging.LogRecord:
    record = logging.LogRecord("cello", logging.INFO, __file__, 1, "GET / done", None, None)
    record.__dict__.update(extra)
    return record


ACCESS = {
    "method": "GET", "path": "/items/1?x=2", "route": "/items/{id}", "status": 200,
    "duration_ms": 1.5, "size": 12, "client": "10.0.0.9:5500", "user_agent": "curl/8",
    "referer": None, "request_id": "req-9", "http_version": "HTTP/1.1",
}


def test_the_three_formats_of_an_access_record() -> None:
    text = CelloFormatter("text").format(make_record(**ACCESS))
    assert text.endswith(
        'INFO cello: 10.0.0.9:5500 "GET /items/1?x=2" 200 1.50ms 12B route=/items/{id} ua="curl/8" request_id=req-9'
    ), text
    combined = CelloFormatter("combined").format(make_record(**ACCESS))
    assert combined.startswith('10.0.0.9 - - [')
    assert '] "GET /items/1?x=2 HTTP/1.1" 200 12 "-" "curl/8" request_id=req-9' in combined
    document = json.loads(CelloFormatter("json", ["method", "route", "status"]).format(make_record(**ACCESS)))
    assert document["request_id"] == "req-9"
    assert {key: document[key] for key in ("method", "route", "status")} == {
        "method": "GET", "route": "/items/{id}", "status": 200,
    }
    assert "user_agent" not in document
    plain = CelloFormatter("combined").format(make_record(request_id=None))
    assert plain.endswith("INFO cello: GET / done")


def test_in_process_records_get_the_request_id(caplog: pytest.LogCaptureFixture) -> None:
    app = App()
    app.enable_logging(LoggingConfig(level="INFO"))
    seen = logging.getLogger("test.inprocess")

    @app.get("/")
    def index(request):
        seen.info("inside the handler")
        return {"id": request.request_id}

    with caplog.at_level(logging.INFO), TestClient(app) as client:
        response = client.get("/", headers={"X-Request-ID": "in-process-1"})
    assert response.headers["x-request-id"] == "in-process-1", "enable_logging gives requests ids"
    inside = [r for r in caplog.records if r.name == "test.inprocess"]
    assert inside and inside[0].request_id == "in-process-1"
    access = [r for r in caplog.records if r.name == "cello" and hasattr(r, "status")]
    assert access[0].route == "/" and access[0].request_id == "in-process-1"


def test_explicit_request_id_settings_replace_the_implicit_ones() -> None:
    app = App()
    app.enable_logging()
    app.enable_request_id("X-Trace-Token", trust_incoming=False)

    @app.get("/")
    def index(request):
        return {}

    with TestClient(app) as client:
        response = client.get("/", headers={"X-Trace-Token": "mine"})
    assert response.headers["x-trace-token"] != "mine"
    with pytest.raises(ValueError, match="unknown LoggingConfig.fields"):
        LoggingConfig(fields=["nope"])
    with pytest.raises(ValueError, match="needs file_path"):
        LoggingConfig(destination="file")


def test_the_unhandled_error_record_carries_the_request_id(caplog: pytest.LogCaptureFixture) -> None:
    app = App()
    app.enable_logging()

    @app.get("/boom")
    def boom(request):
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, logger="cello"), TestClient(app) as client:
        assert client.get("/boom", headers={"X-Request-ID": "err-7"}).status_code == 500
    record = next(r for r in caplog.records if r.getMessage().startswith("unhandled RuntimeError"))
    assert record.request_id == "err-7"
