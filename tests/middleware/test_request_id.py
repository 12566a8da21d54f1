"""Request ids: kept when sane, made otherwise, readable as `request.request_id`,
echoed, and added to problem+json error bodies."""

from __future__ import annotations

import logging
import uuid

import pytest
from cello import App, HTTPException
from cello.testing import TestClient


def id_app() -> App:
    app = App()
    app.enable_request_id()

    @app.get("/")
    def index(request):
        return {"id": request.request_id}

    @app.get("/gone")
    def gone(request):
        raise HTTPException(410, "gone for good")

    return app


def test_incoming_id_kept_and_seen_by_the_handler() -> None:
    with TestClient(id_app()) as client:
        response = client.get("/", headers={"X-Request-ID": "abc-123"})
    assert response.json() == {"id": "abc-123"}
    assert response.headers["x-request-id"] == "abc-123"


def test_unsafe_or_missing_ids_are_replaced() -> None:
    with TestClient(id_app()) as client:
        for headers in ({"X-Request-ID": "a b <script>"}, {}):
            response = client.get("/", headers=headers)
            made = response.headers["x-request-id"]
            assert uuid.UUID(made).version == 4
            assert response.json() == {"id": made}


def test_error_bodies_carry_the_id() -> None:
    with TestClient(id_app()) as client:
        for path in ("/gone", "/nowhere"):
            response = client.get(path, headers={"X-Request-ID": "trace-9"})
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["request_id"] == "trace-9"


def test_without_the_middleware_request_id_is_none() -> None:
    app = App()

    @app.get("/")
    def index(request):
        return {"id": request.request_id}

    with TestClient(app) as client:
        assert client.get("/").json() == {"id": None}


def test_enable_logging_writes_one_record_per_request(caplog: pytest.LogCaptureFixture) -> None:
    app = id_app()
    app.enable_logging()
    with caplog.at_level(logging.INFO, logger="cello"), TestClient(app) as client:
        client.get("/?q=1", headers={"X-Request-ID": "log-1"})
        client.get("/gone")
    records = [r for r in caplog.records if r.name == "cello" and hasattr(r, "status")]
    assert [(r.method, r.path, r.status) for r in records] == [("GET", "/?q=1", 200), ("GET", "/gone", 410)]
    assert records[0].request_id == "log-1"
    assert records[0].size == len(b'{"id":"log-1"}')
    assert records[0].duration_ms >= 0
    assert '"GET /?q=1" 200' in records[0].getMessage()


def test_the_access_log_carries_the_id(spawn) -> None:  # type: ignore[no-untyped-def]
    import sys
    from pathlib import Path

    import httpx

    app_file = Path(__file__).with_name("request_id_app.py")
    server = spawn([sys.executable, str(app_file), "--port", "0"])
    port, _ = server.wait_ready()
    httpx.get(f"http://127.0.0.1:{port}/", headers={"X-Request-ID": "log-me-7"})
    server.wait_for_line("stderr", r'INFO \S+ "GET /" 200 .* id=log-me-7$')
