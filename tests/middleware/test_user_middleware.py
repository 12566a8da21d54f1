"""Python middleware for users: ``@app.middleware("http")`` with call_next, and
before/after hooks, with sync and async handlers and guards; none registered → the
handlers are registered unwrapped."""

from __future__ import annotations

import pytest
from cello import App, HTTPException, Response
from cello.testing import TestClient


def test_middleware_order_and_call_next_response() -> None:
    app = App()
    seen: list[str] = []

    @app.middleware("http")
    async def inner(request, call_next):
        seen.append("inner-in")
        response = await call_next(request)
        response.headers["X-Inner"] = "1"
        seen.append("inner-out")
        return response

    @app.middleware("http")
    async def outer(request, call_next):
        seen.append("outer-in")
        response = await call_next(request)
        seen.append(f"outer-out:{response.status_code}:{response.headers['x-inner']}")
        return response

    @app.get("/sync")
    def sync_handler(request):
        seen.append("handler")
        return {"ok": True}

    @app.get("/async")
    async def async_handler(request):
        return {"async": True}, 201

    with TestClient(app) as client:
        response = client.get("/sync")
        assert response.json() == {"ok": True}
        assert response.headers["x-inner"] == "1"
        assert seen == ["outer-in", "inner-in", "handler", "inner-out", "outer-out:200:1"]
        created = client.get("/async")
        assert created.status_code == 201 and created.json() == {"async": True}


def test_middleware_can_answer_and_errors_still_become_problems() -> None:
    app = App()

    @app.middleware("http")
    async def gate(request, call_next):
        if request.headers.get("x-key") != "open":
            return Response.json({"error": "no key"}, status=401)
        return await call_next(request)

    @app.get("/boom")
    def boom(request):
        raise HTTPException(409, "conflict")

    with TestClient(app) as client:
        assert client.get("/boom").status_code == 401
        refused = client.get("/boom", headers={"x-key": "open"})
        assert refused.status_code == 409
        assert refused.headers["content-type"] == "application/problem+json"


def test_before_and_after_hooks() -> None:
    app = App()

    @app.before_request
    def stamp(request):
        if request.path == "/blocked":
            return Response.text("blocked", status=403)
        return None

    @app.after_request
    def replace_204(response):
        if response.status_code == 204:
            return Response.text("was empty")
        return None

    @app.after_request
    async def tag(request, response):
        response.headers["X-Path"] = request.path

    @app.get("/blocked")
    def blocked(request):
        raise AssertionError("not reached")

    @app.get("/empty")
    def empty():
        return None

    with TestClient(app) as client:
        assert client.get("/blocked").status_code == 403
        response = client.get("/empty")
        assert response.text == "was empty"
        assert response.headers["x-path"] == "/empty"


def test_registration_errors() -> None:
    app = App()
    with pytest.raises(TypeError, match="async def"):

        @app.middleware("http")
        def not_async(request, call_next):
            return call_next(request)

    with pytest.raises(ValueError, match="'http'"):
        app.middleware("websocket")
