"""The quick start, through both the TestClient and a real socket."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from cello import App
from cello.testing import LiveServer, TestClient


def quick_start() -> App:
    app = App()

    @app.get("/")
    def hello(request):
        return {"message": "Hello from Cello v1.0.1!"}

    @app.get("/users/{id}")
    def get_user(request):
        user_id = request.params["id"]
        return {"id": user_id, "name": "Alice"}

    return app


def test_quick_start_in_process() -> None:
    with TestClient(quick_start()) as client:
        assert client.get("/").json() == {"message": "Hello from Cello v1.0.1!"}
        assert client.get("/users/7").json() == {"id": "7", "name": "Alice"}


def test_quick_start_over_a_socket(live: Callable[..., LiveServer]) -> None:
    server = live(quick_start())
    response = httpx.get(f"{server.url}/users/42")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"id": "42", "name": "Alice"}
