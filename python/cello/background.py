"""Background tasks: work that runs after the response has been sent.

Both the seed's form and Starlette's work::

    @app.post("/orders")
    async def create_order(request):
        tasks = BackgroundTasks()             # belongs to this request
        tasks.add_task(send_email, order_id)
        return Response.json({"ok": True})    # tasks run once this has been sent

    return Response.json(..., background=tasks)   # Starlette's form, same effect

Tasks run in order on the worker's event loop; ``async def`` tasks are awaited and
plain functions run in the default thread pool so they cannot stall the loop. A
failing task is logged with its traceback and does not stop the ones after it.
Shutdown waits for running tasks up to the drain deadline.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from typing import Any

from cello import _cello

__all__ = ["BackgroundTask", "BackgroundTasks", "current_request"]

logger = logging.getLogger("cello.background")

#: The request being handled; set by the dispatcher around each handler call.
current_request: ContextVar[Any] = ContextVar("cello_current_request", default=None)

_running: set[asyncio.Task[None]] = set()


class BackgroundTask:
    """One call: ``func(*args, **kwargs)``, sync or async."""

    def __init__(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        if not callable(func):
            raise TypeError(f"a background task must be callable, got {func!r}")
        self.func = func
        self.args = args
        self.kwargs = kwargs

    async def __call__(self) -> None:
        result = self.func(*self.args, **self.kwargs) if _is_async(self.func) else None
        if result is not None:
            await result
            return
        if not _is_async(self.func):
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, functools.partial(self.func, *self.args, **self.kwargs))

    def __repr__(self) -> str:
        return f"BackgroundTask({getattr(self.func, '__qualname__', self.func)!r})"


def _is_async(func: Callable[..., Any]) -> bool:
    while isinstance(func, functools.partial):
        func = func.func
    return inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(
        getattr(func, "__call__", None)  # noqa: B004 - async callable objects
    )


class BackgroundTasks:
    """Tasks to run, in order, after the current request's response has been sent.

    Creating one inside a handler attaches it to that request, so returning any
    response is enough; passing it as ``Response(..., background=tasks)`` works too.

    Example:
        >>> from cello import BackgroundTasks
        >>> tasks = BackgroundTasks()
        >>> tasks.add_task(print, "sent")
    """

    def __init__(self, tasks: Iterable[BackgroundTask] | None = None) -> None:
        self.tasks: list[BackgroundTask] = list(tasks or [])
        # Async handlers: a context variable (their task copies it). Sync handlers: the
        # engine's per-thread slot, which costs nothing when no one asks.
        request = current_request.get()
        if request is None:
            request = _cello.current_request()
        if request is not None:
            request._add_background(self)

    def add_task(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Adds ``func(*args, **kwargs)`` (sync or async) to run after the response."""
        self.tasks.append(BackgroundTask(func, *args, **kwargs))

    async def __call__(self) -> None:
        for task in self.tasks:
            try:
                await task()
            except Exception:
                logger.exception("background task %r failed", task)

    def __len__(self) -> int:
        return len(self.tasks)


async def _run_all(groups: list[Any]) -> None:
    for group in groups:
        try:
            if isinstance(group, (BackgroundTasks, BackgroundTask)):
                await group()
            elif callable(group):
                result = group()
                if inspect.isawaitable(result):
                    await result
        except Exception:
            logger.exception("background task %r failed", group)


def schedule(groups: list[Any]) -> None:
    """Called by the engine once a response has been sent: runs `groups` in order.

    A group attached to the request and also passed as ``background=`` runs once.
    """
    unique: list[Any] = []
    for group in groups:
        if not any(group is seen for seen in unique):
            unique.append(group)
    task = asyncio.get_event_loop().create_task(_run_all(unique))
    _running.add(task)
    task.add_done_callback(_running.discard)


async def drain(timeout: float) -> None:
    """Waits (at most `timeout` seconds) for background tasks still running."""
    if not _running:
        return
    pending = list(_running)
    _, still_running = await asyncio.wait(pending, timeout=timeout)
    for task in still_running:
        logger.warning("background task %r did not finish before shutdown; cancelling it", task)
        task.cancel()
