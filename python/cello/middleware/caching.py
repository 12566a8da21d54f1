"""``@cache(ttl=..., tags=[...])``: a route's TTL and tags for the response cache
(``app.enable_caching()``), passed to the Rust layer as response headers it strips."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from cello.middleware.user import as_response

__all__ = ["cache"]

Handler = TypeVar("Handler", bound=Callable[..., Any])


def cache(ttl: float | None = None, tags: Sequence[str] | None = None, prefix: str | None = None) -> Callable[[Handler], Handler]:
    """Caches this route's answers for `ttl` seconds (default: ``enable_caching``'s
    ttl), under `tags` for ``app.invalidate_cache(tags)``. Works on ``def`` and
    ``async def`` handlers; it does nothing unless ``app.enable_caching()`` is on (the
    headers it sets are then read and removed in Rust). `prefix` (the original docs'
    spelling) is added as a tag.

    Example:
        >>> from cello import App, cache
        >>> app = App()
        >>> app.enable_caching()
        >>> @app.get("/items")
        ... @cache(ttl=120, tags=["items"])
        ... def list_items(request):
        ...     return {"items": []}
    """
    if ttl is not None and ttl < 0:
        raise ValueError(f"cache ttl must be 0 or more seconds, got {ttl}")
    names = [*(tags or []), *([prefix] if prefix else [])]
    for name in names:
        if not name or any(ch in name for ch in ",\r\n"):
            raise ValueError(f"cache tag {name!r} must be non-empty, without commas or line breaks")
    headers = {}
    if ttl is not None:
        headers["x-cache-ttl"] = str(int(ttl))
    if names:
        headers["x-cache-tags"] = ",".join(names)

    def mark(value: Any) -> Any:
        response = as_response(value)
        for name, header in headers.items():
            response.headers[name] = header
        return response

    def decorator(handler: Handler) -> Handler:
        if inspect.iscoroutinefunction(handler):

            @functools.wraps(handler)
            async def cached_async(*args: Any, **kwargs: Any) -> Any:
                return mark(await handler(*args, **kwargs))

            return cached_async  # type: ignore[return-value]

        @functools.wraps(handler)
        def cached(*args: Any, **kwargs: Any) -> Any:
            return mark(handler(*args, **kwargs))

        return cached  # type: ignore[return-value]

    return decorator
