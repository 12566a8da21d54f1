"""Background tasks run after the response has been sent (seed 004 and Starlette forms)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

import httpx
import pytest
from cello import App, BackgroundTasks, Response
from cello.testing import LiveServer, TestClient


def test_seed_form_tasks_belong_to_the_request(live: Callable[..., LiveServer]) -> None:
    app = App()
    done: list[object] = []
    finished = threading.Event()

    async def save_order(data):
        await asyncio.sleep(0)
        return 42

    async def send_confirmation_email(order_id):
        await asyncio.sleep(0.01)
        done.append(("email", order_id))

    def update_inventory(items):
        done.append(("inventory", list(items)))
        finished.set()

    @app.post("/orders")
    async def create_order(request):
        data = request.json()
        order_id = await save_order(data)

        tasks = BackgroundTasks()
        tasks.add_task(send_confirmation_email, order_id)
        tasks.add_task(update_inventory, data["items"])

        return Response.json(
            {"order_id": order_id, "status": "created"},
            status=201
        )

    server = live(app)
    response = httpx.post(server.url + "/orders", json={"items": ["a", "b"]})
    assert response.status_code == 201
    assert response.json() == {"order_id": 42, "status": "created"}
    assert finished.wait(10)
    assert done == [("email", 42), ("inventory", ["a", "b"])]


def test_tasks_start_only_after_the_response_was_sent(live: Callable[..., LiveServer]) -> None:
    app = App()
    client_has_response = threading.Event()
    observed: list[bool] = []
    finished = threading.Event()

    def check_order():
        # Waits for the test to say it holds the response: had the task run before
        # the response was sent, this would time out and record False.
        observed.append(client_has_response.wait(10))
        finished.set()

    @app.get("/")
    def index(request):
        tasks = BackgroundTasks()
        tasks.add_task(check_order)
        return {"ok": True}

    server = live(app)
    assert httpx.get(server.url + "/").json() == {"ok": True}
    client_has_response.set()
    assert finished.wait(10)
    assert observed == [True]


def test_starlette_form_and_no_double_run() -> None:
    app = App()
    calls: list[str] = []

    @app.get("/")
    async def index(request):
        tasks = BackgroundTasks()
        tasks.add_task(calls.append, "once")
        return Response.json({"ok": True}, background=tasks)

    with TestClient(app) as client:
        assert client.get("/").status_code == 200
    assert calls == ["once"]


def test_failing_task_is_logged_and_later_tasks_run(caplog: pytest.LogCaptureFixture) -> None:
    app = App()
    calls: list[str] = []

    def broken():
        raise RuntimeError("task failed on purpose")

    async def after():
        calls.append("after")

    @app.get("/")
    def index(request):
        tasks = BackgroundTasks()
        tasks.add_task(broken)
        tasks.add_task(after)
        return "ok"

    with caplog.at_level(logging.ERROR, logger="cello.background"), TestClient(app) as client:
        response = client.get("/")
        assert response.status_code == 200 and response.text == "ok"
    assert calls == ["after"]
    assert any("task failed on purpose" in record.exc_text for record in caplog.records if record.exc_text)


def test_shutdown_waits_for_running_tasks() -> None:
    app = App()
    calls: list[str] = []

    async def slow():
        await asyncio.sleep(0.3)
        calls.append("finished")

    @app.get("/")
    def index(request):
        BackgroundTasks().add_task(slow)
        return "ok"

    with LiveServer(app) as server:
        assert httpx.get(server.url + "/").text == "ok"
    assert calls == ["finished"]


def test_tasks_from_a_blocking_handler() -> None:
    app = App()
    calls: list[int] = []

    @app.get("/", blocking=True)
    def index(request):
        BackgroundTasks().add_task(calls.append, 7)
        return "ok"

    with TestClient(app) as client:
        assert client.get("/").text == "ok"
    assert calls == [7]


def test_background_tasks_outside_a_request_are_just_a_list() -> None:
    tasks = BackgroundTasks()
    tasks.add_task(print, "x")
    assert len(tasks) == 1
    with pytest.raises(TypeError, match="callable"):
        tasks.add_task(42)  # type: ignore[arg-type]
