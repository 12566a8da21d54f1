"""The Redis client and channels against the local Redis: commands, pipelines, scripts,
pub/sub, seed 003's `enable_redis` example, and a channels message crossing from one
worker's WebSocket to the other's (2 workers)."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import cello
import pytest
import websockets
from cello import App, RedisConfig
from cello._loop import CelloEventLoop
from cello.data import Channels, Redis
from cello.testing import TestClient
from support.processes import ServerProcess

CHAT = Path(__file__).resolve().parent / "apps" / "chat_app.py"

SEED_003_ENABLE_REDIS = """
from cello import App, RedisConfig

app = App()
app.enable_redis(RedisConfig(
    url="redis://localhost:6379",
    pool_size=10,
    cluster_mode=False
))
"""


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    with asyncio.Runner(loop_factory=CelloEventLoop) as runner:
        return runner.run(coroutine)


def test_commands_through_request_redis(redis_url: str, key_prefix: str) -> None:
    app = App()
    app.enable_redis(RedisConfig(url=redis_url, key_prefix=key_prefix))

    @app.get("/visits")
    async def visits(request: Any) -> Any:
        return {"visits": await request.redis.incr("visits")}

    @app.get("/all")
    async def everything(request: Any) -> Any:
        redis = request.redis
        assert redis is app.redis
        await redis.set("s", "v", ex=60)
        await redis.hset("h", {"a": "1", "b": "2"})
        await redis.rpush("l", "x", "y")
        await redis.sadd("set", "m")
        await redis.zadd("z", {"low": 1, "high": 2})
        async with redis.pipeline() as pipe:
            pipe.incr("n", 5).get("n")
        return {
            "get": await redis.get("s"), "ttl": 0 < await redis.ttl("s") <= 60,
            "hash": await redis.hgetall("h"), "hget": await redis.hget("h", "a"),
            "list": await redis.lrange("l"), "set": sorted(await redis.smembers("set")),
            "zset": await redis.zrange("z", withscores=True), "pipeline": pipe.results,
            "eval": await redis.eval("return redis.call('GET', KEYS[1])", ["s"]),
            "missing": await redis.get("missing"), "ping": await redis.ping(),
            "deleted": await redis.delete("s", "h", "l", "set", "z", "n", "visits"),
        }

    with TestClient(app) as client:
        assert client.get("/visits").json() == {"visits": 1}
        assert client.get("/visits").json() == {"visits": 2}
        assert client.get("/all").json() == {
            "get": "v", "ttl": True, "hash": {"a": "1", "b": "2"}, "hget": "1", "list": ["x", "y"],
            "set": ["m"], "zset": [["low", 1.0], ["high", 2.0]], "pipeline": [5, "5"], "eval": "v",
            "missing": None, "ping": True, "deleted": 7,
        }


def test_pubsub_channels_and_patterns(redis_url: str, key_prefix: str) -> None:
    async def main() -> None:
        redis = await Redis.connect(RedisConfig(url=redis_url))
        async with redis.subscribe(key_prefix + "room") as room, redis.psubscribe(key_prefix + "r*") as pattern:
            assert await redis.publish(key_prefix + "room", "hello") == 2
            message = await asyncio.wait_for(room.__anext__(), 30)
            assert (message.channel, message.pattern, message.text) == (key_prefix + "room", None, "hello")
            message = await asyncio.wait_for(pattern.__anext__(), 30)
            assert message.pattern == key_prefix + "r*" and message.data == b"hello"
        with pytest.raises(cello.data.RedisError, match="127.0.0.1:6379"):
            await redis.execute("NOSUCHCOMMAND")

    run(main())


def test_in_memory_channels_reach_every_subscriber_of_one_worker() -> None:
    async def main() -> None:
        channels = Channels(lambda: None)
        assert channels.backend == "memory"
        async with channels.subscribe("room") as first, channels.subscribe("room", "other") as second:
            assert await channels.publish("room", {"n": 1}) == 2
            assert await first.__anext__() == {"n": 1}
            assert await second.__anext__() == {"n": 1}
            assert await channels.publish("other", "x") == 1
            assert await second.__anext__() == "x"
        assert await channels.publish("room", 1) == 0

    run(main())


def test_seed_003_enable_redis_example_runs(redis_url: str) -> None:
    namespace: dict[str, Any] = {}
    exec(SEED_003_ENABLE_REDIS, namespace)  # noqa: S102 - the seed's own snippet
    app = namespace["app"]

    @app.get("/")
    async def index(request: Any) -> Any:
        return {"ping": await app.redis.ping(), "channels": app.channels.backend}

    with TestClient(app) as client:
        assert client.get("/").json() == {"ping": True, "channels": "redis"}


def test_unreachable_redis_fails_at_startup_naming_host_and_port() -> None:
    app = App()
    app.enable_redis(RedisConfig(url="redis://127.0.0.1:1", connection_timeout_secs=2))
    with pytest.raises(cello.data.RedisError, match="127.0.0.1:1"), TestClient(app):
        pass
    with pytest.raises(ValueError, match="Cluster is not built"):
        RedisConfig(cluster_mode=True)


def test_channels_message_crosses_from_one_workers_websocket_to_the_other(
    spawn: Callable[..., ServerProcess], redis_url: str
) -> None:
    server = spawn([sys.executable, str(CHAT), "--port", "0", "--workers", "2"], env={"CELLO_TEST_REDIS_URL": redis_url})
    port, info = server.wait_ready()
    assert "2 workers" in info
    room = uuid.uuid4().hex

    async def main() -> None:
        url = f"ws://127.0.0.1:{port}/chat/{room}"
        # Open sockets until two are on different workers (SO_REUSEPORT spreads them).
        sockets: dict[int, Any] = {}
        opened = []
        for _ in range(200):
            socket = await websockets.connect(url)
            opened.append(socket)
            pid = json.loads(await asyncio.wait_for(socket.recv(), 30))["pid"]
            sockets.setdefault(pid, socket)
            if len(sockets) == 2:
                break
        assert len(sockets) == 2, "every socket landed on one worker"
        (first_pid, first), (second_pid, second) = sockets.items()
        await first.send("hello from the first worker")
        # The other worker's socket gets it; skip nothing else: only this room's traffic.
        message = json.loads(await asyncio.wait_for(second.recv(), 30))
        assert message == {"from": first_pid, "text": "hello from the first worker"}
        assert second_pid != first_pid
        for socket in opened:
            await socket.close()

    asyncio.run(main())
