"""Per-route body limits (`body_limit=`) and `app.enable_body_limit()`, beside the
server's global `max_body_size`, over a real socket."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from cello import App
from cello.testing import LiveServer


def limited_app() -> App:
    app = App()
    app.enable_body_limit(64)

    @app.post("/small", body_limit=16)
    def small(request):
        return {"size": len(request.body())}

    @app.post("/default")
    def default(request):
        return {"size": len(request.body())}

    return app


def test_route_and_app_limits(live: Callable[..., LiveServer]) -> None:
    server = live(limited_app())
    assert httpx.post(f"{server.url}/small", content=b"x" * 16).json() == {"size": 16}
    refused = httpx.post(f"{server.url}/small", content=b"x" * 17)
    assert refused.status_code == 413
    assert refused.headers["content-type"] == "application/problem+json"
    assert "16" in refused.json()["detail"]
    assert httpx.post(f"{server.url}/default", content=b"x" * 64).json() == {"size": 64}
    assert httpx.post(f"{server.url}/default", content=b"x" * 65).status_code == 413


def test_chunked_body_over_the_limit(live: Callable[..., LiveServer]) -> None:
    server = live(limited_app())

    def chunks():
        for _ in range(4):
            yield b"x" * 8

    response = httpx.post(f"{server.url}/small", content=chunks())
    assert response.status_code == 413
    # The worker is fine afterwards.
    assert httpx.post(f"{server.url}/small", content=b"ok").json() == {"size": 2}


def test_invalid_limits() -> None:
    app = App()
    with pytest.raises(ValueError, match="body_limit"):
        app.post("/x", body_limit=-1)
    with pytest.raises(ValueError, match="max_size"):
        app.enable_body_limit(-5)
