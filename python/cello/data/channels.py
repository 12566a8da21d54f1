"""`app.channels`: publish a message to a named channel, and every subscriber gets it, in
every worker.

With `App.enable_redis`, channels go through Redis pub/sub (``cello:channel:<name>``), so
a message published in one worker reaches the WebSocket and SSE handlers subscribed in
all of them. Without Redis they are in memory: subscribers in the same worker only.
Messages are JSON values (dicts, lists, strings, numbers).

Example:
    >>> from cello import App
    >>> app = App()
    >>> @app.websocket("/chat")
    ... async def chat(ws):
    ...     async with app.channels.subscribe("room") as messages:
    ...         ...  # forward messages to ws; publish what ws sends
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from cello.data.redis import Redis, Subscription

__all__ = ["ChannelSubscription", "Channels"]

PREFIX = "cello:channel:"


class ChannelSubscription:
    """``async for message in app.channels.subscribe("room")``; as ``async with``, it is
    subscribed when the block starts. Leaving the loop or block unsubscribes."""

    def __init__(self, channels: Channels, names: tuple[str, ...]) -> None:
        self._channels = channels
        self._names = names
        self._queue: asyncio.Queue[Any] | None = None
        self._redis: Subscription | None = None

    async def start(self) -> ChannelSubscription:
        redis = self._channels._redis()
        if redis is not None:
            if self._redis is None:
                self._redis = redis.subscribe(*(PREFIX + name for name in self._names))
                await self._redis.start()
        elif self._queue is None:
            self._queue = asyncio.Queue()
            for name in self._names:
                self._channels._local.setdefault(name, set()).add(self._queue)
        return self

    def __aiter__(self) -> ChannelSubscription:
        return self

    async def __anext__(self) -> Any:
        await self.start()
        if self._redis is not None:
            message = await self._redis.__anext__()
            return json.loads(message.data)
        assert self._queue is not None
        return await self._queue.get()

    def close(self) -> None:
        if self._redis is not None:
            self._redis.close()
        if self._queue is not None:
            for name in self._names:
                self._channels._local.get(name, set()).discard(self._queue)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self.close()


class Channels:
    """Named broadcast channels (``app.channels``)."""

    def __init__(self, redis: Callable[[], Redis | None]) -> None:
        self._redis = redis
        self._local: dict[str, set[asyncio.Queue[Any]]] = {}

    @property
    def backend(self) -> str:
        """``"redis"`` (every worker) or ``"memory"`` (this worker)."""
        return "redis" if self._redis() is not None else "memory"

    async def publish(self, channel: str, message: Any) -> int:
        """Sends `message` (a JSON value) to every subscriber of `channel`; the number of
        subscribers (in Redis: subscribed connections) that got it."""
        redis = self._redis()
        if redis is not None:
            return await redis.publish(PREFIX + channel, json.dumps(message))
        queues = self._local.get(channel, set())
        for queue in queues:
            queue.put_nowait(message)
        return len(queues)

    def subscribe(self, *channels: str) -> ChannelSubscription:
        return ChannelSubscription(self, channels)
