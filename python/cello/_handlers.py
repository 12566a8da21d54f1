"""Inspecting handlers once at registration, and wrapping them with guards."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

from cello._routing import Guard, describe
from cello.exceptions import HTTPException

__all__ = ["handler_kind", "handshake_check", "takes_request", "websocket_kind", "with_guards"]


def is_async(handler: Callable[..., Any]) -> bool:
    """Whether calling `handler` returns a coroutine (``async def``, also through
    ``functools.partial`` or an ``async def __call__``)."""
    target = handler
    while isinstance(target, functools.partial):
        target = target.func
    if inspect.iscoroutinefunction(target):
        return True
    if inspect.isroutine(target) or isinstance(target, type):
        return False
    return inspect.iscoroutinefunction(type(target).__call__)


def handler_kind(handler: Callable[..., Any], blocking: bool, owner: str) -> str:
    """``"sync"``, ``"async"`` or ``"blocking"``."""
    if is_async(handler):
        if blocking:
            raise TypeError(
                f"{owner} is async; blocking=True is only for def handlers "
                "(an async handler should await instead of blocking)"
            )
        return "async"
    return "blocking" if blocking else "sync"


def takes_request(handler: Callable[..., Any], owner: str) -> bool:
    """Whether the handler wants the request: it has a positional parameter without a
    default. More than one required parameter is a registration error."""
    try:
        signature = inspect.signature(handler)
    except (TypeError, ValueError):
        return True
    required = [
        p
        for p in signature.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    if len(required) > 1:
        names = ", ".join(p.name for p in required)
        raise TypeError(
            f"{owner} requires {len(required)} arguments ({names}); Cello calls a handler "
            "with the request only: give the other parameters defaults"
        )
    return len(required) == 1


def _guard_name(guard: Guard) -> str:
    return getattr(guard, "__name__", None) or type(guard).__name__


def with_guards(
    handler: Callable[..., Any], guards: Sequence[Guard], kind: str, wants_request: bool
) -> Callable[..., Any]:
    """Runs `guards` with the request before `handler`.

    A falsy guard result answers 403; a guard may also raise `HTTPException` (401 for
    missing credentials, for example). Async guards are awaited.
    """
    checks = list(guards)
    if kind == "blocking":
        for guard in checks:
            if is_async(guard):
                raise TypeError(
                    f"{describe(handler)} is blocking=True and its guard {_guard_name(guard)} "
                    "is async: a blocking route runs on the thread pool, where nothing is "
                    "awaited; use sync guards on it (or drop blocking=True)"
                )

    def refused(guard: Guard) -> HTTPException:
        return HTTPException(403, f"access denied by {_guard_name(guard)}")

    if kind == "async" or any(is_async(g) for g in checks):

        async def guarded_async(request: Any) -> Any:
            for guard in checks:
                verdict = guard(request)
                if inspect.isawaitable(verdict):
                    verdict = await verdict
                if not verdict:
                    raise refused(guard)
            result = handler(request) if wants_request else handler()
            if inspect.isawaitable(result):
                result = await result
            return result

        functools.update_wrapper(guarded_async, handler)
        return guarded_async

    def guarded(request: Any) -> Any:
        for guard in checks:
            if not _sync_verdict(guard, guard(request)):
                raise refused(guard)
        return handler(request) if wants_request else handler()

    functools.update_wrapper(guarded, handler)
    return guarded


def _sync_verdict(guard: Guard, verdict: Any) -> Any:
    """A guard's result where nothing can be awaited: an awaitable (a lambda around an
    ``async def``, say) would be truthy and let everyone in, so it fails closed."""
    if inspect.isawaitable(verdict):
        close = getattr(verdict, "close", None)
        if close is not None:
            close()
        raise TypeError(
            f"the guard {_guard_name(guard)} returned an awaitable where it cannot be awaited "
            "(a WebSocket handshake, or a wrapper that hides an async def): make it a plain "
            "function, or an async def the route can see"
        )
    return verdict


def owner_of(handler: Callable[..., Any]) -> str:
    """How messages name `handler`."""
    return describe(handler)


def websocket_kind(handler: Callable[..., Any], guards: Sequence[Guard], owner: str) -> str:
    """``"websocket-async"`` or ``"websocket-sync"``; guards must be sync (they run
    during the handshake, before the connection is upgraded)."""
    for guard in guards:
        if is_async(guard):
            raise TypeError(
                f"{owner}: WebSocket guards run during the handshake and must be plain "
                f"functions; {_guard_name(guard)} is async"
            )
    return "websocket-async" if is_async(handler) else "websocket-sync"


def handshake_check(guards: Sequence[Guard]) -> Callable[[Any], bool]:
    """Runs `guards` on the handshake request: a falsy result is a 403."""
    checks = list(guards)

    def check(request: Any) -> bool:
        for guard in checks:
            if not _sync_verdict(guard, guard(request)):
                raise HTTPException(403, f"access denied by {_guard_name(guard)}")
        return True

    return check
