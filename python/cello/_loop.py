"""The worker's event loop: asyncio driven by Cello's Tokio runtime on one thread.

`TokioSelector.select()` hands the thread to Rust (`Driver.wait`), which serves HTTP
until asyncio has something to do. Handlers, tasks and callbacks all run on this one
thread, so async handlers are real asyncio tasks and sync handlers need no thread hop.
"""

from __future__ import annotations

import asyncio
import selectors
import sys
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from cello import _cello

__all__ = ["CelloEventLoop", "task_starter"]


class TokioSelector(selectors.BaseSelector):
    """A selector whose waiting is done by the Tokio runtime."""

    def __init__(self, driver: _cello.Driver) -> None:
        if not hasattr(selectors, "EpollSelector"):
            raise RuntimeError("Cello's event loop needs epoll (Linux)")
        self._driver = driver
        self._inner = selectors.EpollSelector()

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        self._driver.wait(self._inner.fileno(), timeout)
        return self._inner.select(0)

    def get_key(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.get_key(fileobj)

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._inner.get_map()

    def close(self) -> None:
        self._inner.close()


class CelloEventLoop(asyncio.SelectorEventLoop):
    """An asyncio event loop that also runs Cello's HTTP engine."""

    def __init__(self) -> None:
        self.driver = _cello.Driver()
        super().__init__(selector=TokioSelector(self.driver))
        self.driver.bind_loop(self)


def task_starter(
    loop: asyncio.AbstractEventLoop,
) -> Callable[[Coroutine[Any, Any, Any]], asyncio.Task[Any]]:
    """How handler coroutines become tasks: eagerly stepped on Python 3.12+, so a
    coroutine that finishes without suspending never waits for a loop iteration."""
    if sys.version_info >= (3, 12):
        task_type: Any = asyncio.Task

        def start(coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
            task: asyncio.Task[Any] = task_type(coroutine, loop=loop, eager_start=True)
            return task

        return start
    return loop.create_task
