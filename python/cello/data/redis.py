"""`RedisConfig` and `Redis`: a worker's Redis connection, with pub/sub.

Replies come back as Python values: bulk strings as ``str`` when they are UTF-8 (``bytes``
otherwise), integers, lists, ``None``. Keys passed to the helper methods get the
config's ``key_prefix``; `execute` sends its arguments as they are.
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from cello import _cello
from cello.data._native import driver, new_future

__all__ = ["Message", "Pipeline", "Redis", "RedisConfig", "Subscription"]

Arg = str | bytes | int | float


@dataclass
class RedisConfig:
    """Where Redis is (the original's fields and defaults).

    ``pool_size``, ``min_idle`` and ``idle_timeout_secs`` are accepted for compatibility:
    each worker keeps one multiplexed, reconnecting connection, which serves any number
    of concurrent commands. ``cluster_mode=True`` talks to a Redis Cluster: ``url``
    names one or more seed nodes, comma-separated. A ``redis+sentinel://host:26379,
    host2:26379/mymaster`` URL finds the master through Sentinel and follows failovers.
    ``tls=True`` is not built yet and raises.

    Example:
        >>> from cello import App, RedisConfig
        >>> app = App()
        >>> app.enable_redis(RedisConfig(url="redis://localhost:6379", pool_size=10, cluster_mode=False))
    """

    url: str = "redis://127.0.0.1:6379"
    pool_size: int = 10
    min_idle: int = 1
    connection_timeout_secs: float = 5
    idle_timeout_secs: float = 300
    cluster_mode: bool = False
    default_ttl: int | None = None
    database: int = 0
    password: str | None = None
    tls: bool = False
    key_prefix: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.url, str) or not self.url.startswith(("redis://", "rediss://", "redis+unix://", "unix://", "redis+sentinel://")):
            raise ValueError(f"RedisConfig url {self.url!r} is not a Redis URL: use redis://host:6379/0")
        if self.cluster_mode and self.database:
            raise ValueError("RedisConfig: a Redis Cluster has only database 0")
        if self.tls or self.url.startswith("rediss://"):
            raise ValueError("RedisConfig: TLS to Redis is not built into this version of Cello yet")
        if self.connection_timeout_secs <= 0:
            raise ValueError("RedisConfig connection_timeout_secs must be above 0")

    @staticmethod
    def local() -> RedisConfig:
        """127.0.0.1:6379, a pool of 5."""
        return RedisConfig(pool_size=5)

    @staticmethod
    def cluster(url: str, pool_size: int = 20, password: str | None = None) -> RedisConfig:
        """A Redis Cluster: `url` is a seed node (or several, comma-separated)."""
        return RedisConfig(url=url, pool_size=pool_size, password=password, cluster_mode=True)


@dataclass(frozen=True)
class Message:
    """A published message: its ``channel``, the ``pattern`` that matched (pattern
    subscriptions) and the ``data`` (``bytes``); ``text`` decodes it."""

    channel: str
    pattern: str | None
    data: bytes

    @property
    def text(self) -> str:
        return self.data.decode()


class Subscription:
    """Messages of channels or patterns: ``async for message in redis.subscribe("room")``.

    It subscribes on first use; ``async with redis.subscribe("room") as messages:`` (or
    ``await subscription.start()``) subscribes first, so that nothing published after
    that point is missed. Leaving the loop or the block (or `close`) unsubscribes.
    """

    def __init__(self, redis: Redis, channels: Sequence[str], patterns: Sequence[str]) -> None:
        self._redis = redis
        self._channels = list(channels)
        self._patterns = list(patterns)
        self._native: _cello.Subscription | None = None

    async def start(self) -> Subscription:
        if self._native is None:
            future = new_future()
            self._redis._native.subscribe(future, self._channels, self._patterns)
            self._native = await future
        return self

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Message:
        native = self._native or (await self.start())._native
        assert native is not None
        future = new_future()
        native.next_message(future)
        item = await future
        if item is None:
            raise StopAsyncIteration
        channel, pattern, data = item
        return Message(channel, pattern, data)

    def close(self) -> None:
        if self._native is not None:
            self._native.close()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self.close()


class Pipeline:
    """Commands queued and sent in one round trip: ``async with redis.pipeline() as p:
    p.set("a", 1); p.incr("b")``, then ``p.results``. ``transaction=True`` (the default)
    wraps them in ``MULTI``/``EXEC``."""

    def __init__(self, redis: Redis, transaction: bool) -> None:
        self._redis = redis
        self._transaction = transaction
        self._commands: list[list[Arg]] = []
        self.results: list[Any] = []

    def execute_command(self, *args: Arg) -> Pipeline:
        self._commands.append(list(args))
        return self

    def set(self, key: str, value: Arg, ex: int | None = None) -> Pipeline:
        return self.execute_command(*self._redis._set_args(key, value, ex))

    def get(self, key: str) -> Pipeline:
        return self.execute_command("GET", self._redis._key(key))

    def incr(self, key: str, amount: int = 1) -> Pipeline:
        return self.execute_command("INCRBY", self._redis._key(key), amount)

    def delete(self, *keys: str) -> Pipeline:
        return self.execute_command("DEL", *(self._redis._key(key) for key in keys))

    async def execute(self) -> list[Any]:
        future = new_future()
        self._redis._native.pipeline(future, self._commands, self._transaction)
        self.results = await future
        self._commands = []
        return self.results

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if exc_type is None and self._commands:
            await self.execute()


class Redis:
    """A worker's Redis connection (``app.redis``, ``request.redis``).

    Example:
        >>> async def visits(request):
        ...     count = await request.app.redis.incr("visits")
        ...     return {"visits": count}
    """

    def __init__(self, native: _cello.Redis, config: RedisConfig) -> None:
        self._native = native
        self.config = config
        self._prefix = config.key_prefix or ""

    @classmethod
    async def connect(cls, config: RedisConfig) -> Redis:
        """Connects on the running Cello loop; fails naming host and port."""
        future = new_future()
        _cello.Redis.connect(
            driver(), future, config.url, config.database or None, config.password,
            float(config.connection_timeout_secs), config.cluster_mode,
        )
        return cls(await future, config)

    def _key(self, key: str) -> str:
        return self._prefix + key

    def _set_args(self, key: str, value: Arg, ex: int | None) -> list[Arg]:
        args: list[Arg] = ["SET", self._key(key), value]
        ttl = ex if ex is not None else self.config.default_ttl
        if ttl is not None:
            args += ["EX", ttl]
        return args

    async def execute(self, *args: Arg) -> Any:
        """Runs any command: ``await redis.execute("HSET", "h", "f", "v")``."""
        future = new_future()
        self._native.execute(future, args)
        return await future

    # strings and counters
    async def get(self, key: str) -> Any:
        return await self.execute("GET", self._key(key))

    async def set(self, key: str, value: Arg, ex: int | None = None, nx: bool = False) -> bool:
        """SET, with expiry in seconds (``ex``, or the config's ``default_ttl``) and ``nx``."""
        args = self._set_args(key, value, ex)
        if nx:
            args.append("NX")
        return bool(await self.execute(*args) == "OK")

    async def delete(self, *keys: str) -> int:
        result: int = await self.execute("DEL", *(self._key(key) for key in keys))
        return result

    async def exists(self, *keys: str) -> int:
        result: int = await self.execute("EXISTS", *(self._key(key) for key in keys))
        return result

    async def expire(self, key: str, seconds: int) -> bool:
        return bool(await self.execute("EXPIRE", self._key(key), seconds))

    async def ttl(self, key: str) -> int:
        result: int = await self.execute("TTL", self._key(key))
        return result

    async def incr(self, key: str, amount: int = 1) -> int:
        result: int = await self.execute("INCRBY", self._key(key), amount)
        return result

    async def decr(self, key: str, amount: int = 1) -> int:
        result: int = await self.execute("DECRBY", self._key(key), amount)
        return result

    # hashes
    async def hset(self, key: str, mapping: dict[str, Arg]) -> int:
        args: list[Arg] = ["HSET", self._key(key)]
        for field, value in mapping.items():
            args += [field, value]
        result: int = await self.execute(*args)
        return result

    async def hget(self, key: str, field: str) -> Any:
        return await self.execute("HGET", self._key(key), field)

    async def hgetall(self, key: str) -> dict[str, Any]:
        flat = await self.execute("HGETALL", self._key(key))
        return dict(zip(flat[::2], flat[1::2], strict=True))

    async def hdel(self, key: str, *fields: str) -> int:
        result: int = await self.execute("HDEL", self._key(key), *fields)
        return result

    # lists
    async def lpush(self, key: str, *values: Arg) -> int:
        result: int = await self.execute("LPUSH", self._key(key), *values)
        return result

    async def rpush(self, key: str, *values: Arg) -> int:
        result: int = await self.execute("RPUSH", self._key(key), *values)
        return result

    async def lpop(self, key: str) -> Any:
        return await self.execute("LPOP", self._key(key))

    async def rpop(self, key: str) -> Any:
        return await self.execute("RPOP", self._key(key))

    async def lrange(self, key: str, start: int = 0, stop: int = -1) -> list[Any]:
        result: list[Any] = await self.execute("LRANGE", self._key(key), start, stop)
        return result

    # sets and sorted sets
    async def sadd(self, key: str, *members: Arg) -> int:
        result: int = await self.execute("SADD", self._key(key), *members)
        return result

    async def srem(self, key: str, *members: Arg) -> int:
        result: int = await self.execute("SREM", self._key(key), *members)
        return result

    async def smembers(self, key: str) -> builtins.set[Any]:
        return set(await self.execute("SMEMBERS", self._key(key)))

    async def sismember(self, key: str, member: Arg) -> bool:
        return bool(await self.execute("SISMEMBER", self._key(key), member))

    async def zadd(self, key: str, mapping: dict[str, float]) -> int:
        args: list[Arg] = ["ZADD", self._key(key)]
        for member, score in mapping.items():
            args += [score, member]
        result: int = await self.execute(*args)
        return result

    async def zrange(self, key: str, start: int = 0, stop: int = -1, withscores: bool = False) -> list[Any]:
        args: list[Arg] = ["ZRANGE", self._key(key), start, stop]
        if withscores:
            flat = await self.execute(*args, "WITHSCORES")
            return [(member, float(score)) for member, score in zip(flat[::2], flat[1::2], strict=True)]
        result: list[Any] = await self.execute(*args)
        return result

    async def zscore(self, key: str, member: Arg) -> float | None:
        score = await self.execute("ZSCORE", self._key(key), member)
        return None if score is None else float(score)

    # scripts, pipelines, pub/sub
    async def eval(self, script: str, keys: Sequence[str] = (), args: Sequence[Arg] = ()) -> Any:
        """Runs a Lua script (keys get the key prefix)."""
        return await self.execute("EVAL", script, len(keys), *(self._key(key) for key in keys), *args)

    def pipeline(self, transaction: bool = True) -> Pipeline:
        return Pipeline(self, transaction)

    async def publish(self, channel: str, message: Arg) -> int:
        """Publishes; the number of subscribers that received it."""
        result: int = await self.execute("PUBLISH", channel, message)
        return result

    def subscribe(self, *channels: str) -> Subscription:
        """``async for message in redis.subscribe("room")``."""
        return Subscription(self, channels, ())

    def psubscribe(self, *patterns: str) -> Subscription:
        """Pattern subscription: ``async for message in redis.psubscribe("room:*")``."""
        return Subscription(self, (), patterns)

    async def ping(self) -> bool:
        """True when the server answered ``PING`` (for health checks)."""
        return bool(await self.execute("PING") == "PONG")

    @property
    def address(self) -> str:
        """The server (or first cluster node) this client talks to."""
        address: str = self._native.address
        return address

    async def close(self) -> None:
        await asyncio.sleep(0)

    def __repr__(self) -> str:
        return f"<Redis {self._native.address}>"
