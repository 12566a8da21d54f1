"""Errors become problem+json responses; the worker always survives."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from cello import App, HTTPException, Response
from cello.testing import LiveServer, TestClient


def failing_app() -> App:
    app = App()

    @app.get("/boom")
    def boom(request):
        raise RuntimeError("secret database password in message")

    @app.get("/http")
    def http_error(request):
        raise HTTPException(409, "already exists", headers={"x-reason": "dup"})

    @app.get("/bad-return")
    def bad_return(request):
        return object()

    @app.get("/ok")
    def ok(request):
        return {"ok": True}

    return app


def test_production_500_reveals_nothing() -> None:
    with TestClient(failing_app()) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 500 and body["title"] == "Internal Server Error"
    assert "secret" not in response.text and "Traceback" not in response.text


def test_debug_500_shows_the_traceback() -> None:
    app = failing_app()
    app.debug = True
    with TestClient(app) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    assert "Traceback" in response.json()["detail"]
    assert "secret database password" in response.json()["detail"]


def test_http_exception_status_detail_and_headers() -> None:
    with TestClient(failing_app()) as client:
        response = client.get("/http")
    assert response.status_code == 409
    assert response.headers["x-reason"] == "dup"
    assert response.json() == {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": "already exists",
    }


def test_unencodable_return_value_is_a_500_naming_the_type() -> None:
    app = failing_app()
    app.debug = True
    with TestClient(app) as client:
        response = client.get("/bad-return")
    assert response.status_code == 500
    assert "object" in response.json()["detail"]


def test_exception_handler_for_http_exception_wins() -> None:
    app = failing_app()

    @app.exception_handler(HTTPException)
    def custom(request, exc):
        return Response.text(f"custom {exc.status_code}", status=exc.status_code)

    with TestClient(app) as client:
        response = client.get("/http")
    assert response.status_code == 409 and response.text == "custom 409"


def test_failing_exception_handler_still_answers_500() -> None:
    app = failing_app()

    @app.exception_handler(RuntimeError)
    def broken(request, exc):
        raise ValueError("the handler itself fails")

    with TestClient(app) as client:
        assert client.get("/boom").status_code == 500
        assert client.get("/ok").json() == {"ok": True}


def test_worker_survives_errors_over_a_socket(live: Callable[..., LiveServer]) -> None:
    server = live(failing_app())
    with httpx.Client(base_url=server.url) as client:
        for _ in range(3):
            assert client.get("/boom").status_code == 500
            assert client.get("/bad-return").status_code == 500
            assert client.get("/ok").json() == {"ok": True}


def test_http_exception_validates_status() -> None:
    import pytest

    with pytest.raises(ValueError, match="400-599"):
        HTTPException(299)
    assert HTTPException(404).detail == "Not Found"
