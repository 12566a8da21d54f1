"""Python middleware for users: Starlette-style ``@app.middleware("http")`` with
``call_next``, and ``@app.before_request`` / ``@app.after_request`` hooks.

They wrap each route's handler when a server or test client starts (around the
guards), so an app that registers none pays nothing. Requests that match no route
(404, 405, automatic OPTIONS) are answered in Rust without them; the built-in Rust
middleware (`enable_cors`...) sees every response.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from cello.responses import Response

__all__ = ["as_response", "wrap_handler"]

CallNext = Callable[[Any], Awaitable[Response]]
HttpMiddleware = Callable[[Any, CallNext], Awaitable[Any]]
BeforeHook = Callable[[Any], Any]
AfterHook = Callable[..., Any]


def as_response(value: Any) -> Response:
    """A handler's return value as a `Response`, so middleware can read and change
    status, headers and body the same way whatever the handler returned."""
    if isinstance(value, Response):
        return value
    if value is None:
        return Response.no_content()
    if isinstance(value, tuple) and 2 <= len(value) <= 3 and isinstance(value[1], int):
        body = as_response(value[0])
        body.status_code = value[1]
        for name, header in (value[2] if len(value) == 3 else {}).items():
            body.headers[name] = str(header)
        return body
    return Response(value)


async def _resolve(value: Any) -> Any:
    while inspect.isawaitable(value):
        value = await value
    return value


def _after_arity(hook: AfterHook) -> int:
    try:
        parameters = [
            p for p in inspect.signature(hook).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        return 2
    return 1 if len(parameters) == 1 else 2


def wrap_handler(
    handler: Callable[..., Any],
    wants_request: bool,
    middlewares: Sequence[HttpMiddleware],
    before: Sequence[BeforeHook],
    after: Sequence[AfterHook],
) -> Callable[[Any], Awaitable[Any]]:
    """`handler` inside the hooks and middleware: before-hooks (in order; one that
    returns something answers instead of the handler), the handler, after-hooks (in
    order, each may return a replacement response), all inside the middleware (the
    one registered last is outermost, as in Starlette)."""
    after_hooks = [(hook, _after_arity(hook)) for hook in after]

    async def endpoint(request: Any) -> Response:
        for hook in before:
            answer = await _resolve(hook(request))
            if answer is not None:
                return as_response(answer)
        response = as_response(await _resolve(handler(request) if wants_request else handler()))
        for hook, arity in after_hooks:
            changed = await _resolve(hook(response) if arity == 1 else hook(request, response))
            if changed is not None:
                response = as_response(changed)
        return response

    call: Callable[[Any], Awaitable[Any]] = endpoint
    for middleware in middlewares:
        call = _layer(middleware, call)
    functools.update_wrapper(call, handler)
    return call


def _layer(middleware: HttpMiddleware, inner: Callable[[Any], Awaitable[Any]]) -> Callable[[Any], Awaitable[Any]]:
    async def call_next(request: Any) -> Response:
        return as_response(await inner(request))

    async def wrapped(request: Any) -> Any:
        return await middleware(request, call_next)

    return wrapped
