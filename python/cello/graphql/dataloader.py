"""`DataLoader`: every `load` issued in the same event-loop turn becomes one batch call."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, Generic, TypeVar

__all__ = ["DataLoader"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class DataLoader(Generic[K, V]):
    """Batches and caches loads by key.

    The loads made while the loop runs one turn (for example by the resolvers of the 100
    items of a list, which the engine starts together) are collected; at the end of the
    turn ``batch_fn(keys)`` is called once and must return one value per key, in order
    (an `Exception` value fails that key's load only). Results are cached by key: make
    one loader per request (in `enable_graphql`'s ``context``) so a cache lives as long
    as its request.

    Example:
        >>> async def load_users(ids):
        ...     return [{"id": i} for i in ids]
        >>> users = DataLoader(batch_fn=load_users)
    """

    def __init__(self, batch_fn: Callable[[list[K]], Awaitable[Sequence[V]] | Sequence[V]], *, max_batch_size: int | None = None, cache: bool = True) -> None:
        self.batch_fn = batch_fn
        self.max_batch_size = max_batch_size
        self._cache_enabled = cache
        self._cache: dict[K, asyncio.Future[V]] = {}
        self._queue: list[tuple[K, asyncio.Future[V]]] = []
        self._scheduled = False

    def load(self, key: K) -> asyncio.Future[V]:
        """The value for `key` (an awaitable), batched with the other loads of this turn."""
        if self._cache_enabled and key in self._cache:
            return self._cache[key]
        loop = asyncio.get_running_loop()
        future: asyncio.Future[V] = loop.create_future()
        if self._cache_enabled:
            self._cache[key] = future
        self._queue.append((key, future))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._dispatch)
        return future

    async def load_many(self, keys: Sequence[K]) -> list[V]:
        """The values for `keys`, in order, in the same batch."""
        return list(await asyncio.gather(*(self.load(key) for key in keys)))

    def clear(self, key: K | None = None) -> None:
        """Forgets one cached key, or all of them."""
        if key is None:
            self._cache.clear()
        else:
            self._cache.pop(key, None)

    def prime(self, key: K, value: V) -> None:
        """Caches a value without loading it."""
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        future.set_result(value)
        self._cache.setdefault(key, future)

    def _dispatch(self) -> None:
        self._scheduled = False
        queue, self._queue = self._queue, []
        size = self.max_batch_size or len(queue) or 1
        for start in range(0, len(queue), size):
            asyncio.ensure_future(self._run(queue[start : start + size]))

    async def _run(self, batch: list[tuple[K, asyncio.Future[V]]]) -> None:
        keys = [key for key, _ in batch]
        try:
            values: Any = self.batch_fn(keys)
            if inspect.isawaitable(values):
                values = await values
            values = list(values)
            if len(values) != len(keys):
                raise ValueError(f"DataLoader batch_fn returned {len(values)} values for {len(keys)} keys: return one value per key, in the keys' order")
        except Exception as error:  # noqa: BLE001 - every waiting load gets the batch's error
            for key, future in batch:
                self._cache.pop(key, None)
                if not future.done():
                    future.set_exception(error)
            return
        for (key, future), value in zip(batch, values, strict=True):
            if future.done():
                continue
            if isinstance(value, Exception):
                self._cache.pop(key, None)
                future.set_exception(value)
            else:
                future.set_result(value)
