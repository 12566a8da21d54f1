"""Shared fixtures: apps are built inline per test (Starlette style)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cello import App
from cello.testing import LiveServer, TestClient
from support.processes import ServerProcess


@pytest.fixture
def app() -> App:
    return App()


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def live() -> Iterator[Callable[..., LiveServer]]:
    """Starts `LiveServer`s (real sockets, port 0) and stops them after the test."""
    started: list[LiveServer] = []

    def start(application: App, **options: object) -> LiveServer:
        server = LiveServer(application, **options)  # type: ignore[arg-type]
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def spawn() -> Iterator[Callable[..., ServerProcess]]:
    """Starts servers in subprocesses (`support.processes.ServerProcess`); kills their
    process groups after the test."""
    started: list[ServerProcess] = []

    def start(args: list[str], **options: Any) -> ServerProcess:
        process = ServerProcess(args, **options)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()
