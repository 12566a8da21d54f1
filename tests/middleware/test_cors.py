"""CORS over a real socket (httpx): preflights answered in Rust without the handler,
headers on every status (404, 405, 500 and an HTTPException), disallowed origins
untouched, bad configuration refused at enable time."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from cello import App, HTTPException
from cello.testing import LiveServer, TestClient

ORIGIN = "https://app.example"


def cors_app(**options: object) -> tuple[App, list[str]]:
    app = App()
    calls: list[str] = []
    app.enable_cors(**options)  # type: ignore[arg-type]

    @app.route("/items", methods=["GET", "DELETE"])
    def items(request):
        calls.append(request.method)
        return {"items": []}

    @app.get("/boom")
    def boom(request):
        raise RuntimeError("boom")

    @app.get("/teapot")
    def teapot(request):
        raise HTTPException(418, "short and stout")

    return app, calls


def test_preflight_is_answered_without_the_handler(live: Callable[..., LiveServer]) -> None:
    app, calls = cors_app(origins=[ORIGIN], allow_credentials=True, max_age=120)
    server = live(app)
    response = httpx.options(
        f"{server.url}/items",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "DELETE",
            "Access-Control-Request-Headers": "content-type, authorization",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "DELETE" in response.headers["access-control-allow-methods"]
    assert response.headers["access-control-allow-headers"] == "content-type, authorization"
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["access-control-max-age"] == "120"
    assert "Origin" in response.headers.get_list("vary")
    assert calls == []


@pytest.mark.parametrize(
    ("path", "method", "status"),
    [("/items", "GET", 200), ("/missing", "GET", 404), ("/items", "PUT", 405),
     ("/boom", "GET", 500), ("/teapot", "GET", 418)],
)
def test_every_status_carries_cors_headers(
    live: Callable[..., LiveServer], path: str, method: str, status: int
) -> None:
    app, _ = cors_app(origins=[ORIGIN], expose_headers=["X-Total"])
    server = live(app)
    response = httpx.request(method, f"{server.url}{path}", headers={"Origin": ORIGIN})
    assert response.status_code == status
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["access-control-expose-headers"] == "X-Total"
    assert "access-control-allow-credentials" not in response.headers


def test_disallowed_origin_gets_no_cors_headers(live: Callable[..., LiveServer]) -> None:
    app, calls = cors_app(origins=[ORIGIN])
    server = live(app)
    response = httpx.get(f"{server.url}/items", headers={"Origin": "https://evil.example"})
    assert response.status_code == 200
    assert not [name for name in response.headers if name.startswith("access-control-")]
    assert response.headers["vary"] == "Origin"
    preflight = httpx.options(
        f"{server.url}/items",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "DELETE"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    assert calls == ["GET"]


def test_any_origin_default_and_starlette_spelling() -> None:
    app, _ = cors_app()
    with TestClient(app) as client:
        response = client.get("/items", headers={"Origin": "https://anyone.example"})
    assert response.headers["access-control-allow-origin"] == "*"
    app, _ = cors_app(allow_origins=[ORIGIN])
    with TestClient(app) as client:
        assert client.get("/items", headers={"Origin": ORIGIN}).headers[
            "access-control-allow-origin"
        ] == ORIGIN


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"allow_credentials": True}, "list the allowed origins"),
        ({"origins": ["https://app.example/path"]}, "no path"),
        ({"origins": ["app.example"]}, "scheme and host"),
        ({"methods": ["GE T"]}, "not an HTTP method"),
        ({"max_age": -1}, "max_age"),
        ({"origin": [ORIGIN]}, "unexpected"),
    ],
)
def test_bad_configuration_is_refused_when_enabled(options: dict[str, object], message: str) -> None:
    app = App()
    with pytest.raises((ValueError, TypeError), match=message):
        app.enable_cors(**options)  # type: ignore[arg-type]


def test_enabling_twice_is_an_error() -> None:
    app = App()
    app.enable_cors()
    with pytest.raises(ValueError, match="already enabled"):
        app.enable_cors(origins=[ORIGIN])
