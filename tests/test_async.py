"""Async handlers: eager completion, real suspension, concurrency, blocking pool."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import threading
import time
from collections.abc import Callable

import httpx
from cello import App
from cello.testing import LiveServer, TestClient


def test_async_handler_that_never_suspends() -> None:
    app = App()

    @app.get("/")
    async def index(request):
        return {"task": asyncio.current_task() is not None}

    with TestClient(app) as client:
        assert client.get("/").json() == {"task": True}


def test_async_handler_uses_asyncio_features() -> None:
    app = App()
    variable: contextvars.ContextVar[str] = contextvars.ContextVar("variable", default="unset")

    @app.get("/")
    async def index(request):
        async with asyncio.timeout(1):
            await asyncio.sleep(0.01)
        variable.set("set in handler")
        results = await asyncio.gather(asyncio.sleep(0, "a"), asyncio.sleep(0.001, "b"))
        return {"results": results, "variable": variable.get()}

    with TestClient(app) as client:
        assert client.get("/").json() == {"results": ["a", "b"], "variable": "set in handler"}
        # contextvars set by one request do not leak into the next
        assert variable.get() == "unset"


def test_suspended_handlers_do_not_block_each_other(live: Callable[..., LiveServer]) -> None:
    app = App()
    gate: dict[str, asyncio.Event] = {}

    @app.get("/wait")
    async def wait(request):
        gate.setdefault("event", asyncio.Event())
        await gate["event"].wait()
        return {"released": True}

    @app.get("/release")
    def release(request):
        gate.setdefault("event", asyncio.Event()).set()
        return {"ok": True}

    server = live(app)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        waiting = pool.submit(httpx.get, server.url + "/wait", timeout=10)
        deadline = time.monotonic() + 10
        while "event" not in gate and time.monotonic() < deadline:
            time.sleep(0.005)
        assert httpx.get(server.url + "/release").json() == {"ok": True}
        assert waiting.result().json() == {"released": True}


def test_many_requests_are_in_flight_at_once(live: Callable[..., LiveServer]) -> None:
    # Ten handlers that each wait until all ten have arrived: only possible if the
    # worker runs them concurrently (a serialising server would time every one out).
    app = App()
    arrived: list[int] = []
    everyone: dict[str, asyncio.Event] = {}

    @app.get("/gather")
    async def gather(request):
        event = everyone.setdefault("event", asyncio.Event())
        arrived.append(1)
        if len(arrived) == 10:
            event.set()
        try:
            await asyncio.wait_for(event.wait(), timeout=10)
        except TimeoutError:
            return {"all_arrived": False}
        return {"all_arrived": True}

    server = live(app)
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        results = list(
            pool.map(lambda _: httpx.get(server.url + "/gather", timeout=20).json(), range(10))
        )
    assert results == [{"all_arrived": True}] * 10


def test_blocking_handler_runs_off_the_loop(live: Callable[..., LiveServer]) -> None:
    # The blocking handler waits for an event that only another request can set: if it
    # ran on the loop's thread, that other request could never be served.
    app = App()
    release = threading.Event()
    loop_threads: set[int] = set()

    @app.get("/block", blocking=True)
    def block(request):
        released = release.wait(timeout=10)
        return {"released": released, "thread": threading.get_ident()}

    @app.get("/release")
    async def release_handler(request):
        loop_threads.add(threading.get_ident())
        release.set()
        return {"ok": True}

    server = live(app)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        blocked = pool.submit(httpx.get, server.url + "/block", timeout=20)
        assert httpx.get(server.url + "/release", timeout=20).json() == {"ok": True}
        answer = blocked.result().json()
    assert answer["released"] is True
    assert answer["thread"] not in loop_threads


def test_blocking_flag_refused_on_async_handler() -> None:
    import pytest

    app = App()
    with pytest.raises(TypeError, match="blocking=True"):

        @app.get("/", blocking=True)
        async def index(request):
            return {}


def test_async_exception_handler_and_hooks() -> None:
    app = App()
    calls: list[str] = []

    @app.on_event("startup")
    async def start():
        await asyncio.sleep(0)
        calls.append("startup")

    @app.on_event("shutdown")
    def stop():
        calls.append("shutdown")

    @app.exception_handler(LookupError)
    async def lookup(request, exc):
        await asyncio.sleep(0)
        return {"handled": type(exc).__name__}, 404

    @app.get("/missing")
    async def missing(request):
        await asyncio.sleep(0)
        raise KeyError("k")

    with TestClient(app) as client:
        response = client.get("/missing")
        assert response.status_code == 404
        assert response.json() == {"handled": "KeyError"}
    assert calls == ["startup", "shutdown"]


def test_unknown_event_name_is_refused() -> None:
    import pytest

    with pytest.raises(ValueError, match="startup"):
        App().on_event("boot")
