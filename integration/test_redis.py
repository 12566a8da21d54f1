"""The Redis client and channels against the local Redis: commands, pipelines, scripts,
pub/sub, seed 003's `enable_redis` example, and a channels message crossing from one
worker's WebSocket to the other's (2 workers)."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import cello
import pytest
import websockets
from cello import App, RedisConfig
from cello._loop import CelloEventLoop
from cello.data import Channels, Redis
from cello.testing import TestClient
from support.processes import ServerProcess, wait_until

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


def test_redis_registers_its_health_check(redis_url: str) -> None:
    app = App()
    app.enable_redis(RedisConfig(url=redis_url))
    app.enable_health_checks()
    with TestClient(app) as client:
        check = client.get("/health").json()["checks"]["redis"]
        assert check["status"] == "UP"
        assert check["details"]["address"]
        assert client.get("/health/ready").status_code == 200


def test_unreachable_redis_fails_at_startup_naming_host_and_port() -> None:
    app = App()
    app.enable_redis(RedisConfig(url="redis://127.0.0.1:1", connection_timeout_secs=2))
    with pytest.raises(cello.data.RedisError, match="127.0.0.1:1"), TestClient(app):
        pass
    with pytest.raises(ValueError, match="TLS to Redis is not built"):
        RedisConfig(tls=True)


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


def free_ports(count: int, *, cluster_bus: bool = False) -> list[int]:
    """`count` free loopback ports. With `cluster_bus`, each port + 10000 (where a
    cluster node listens for its peers) is free and valid too: an ephemeral port above
    55535 would give a bus port past 65535 and the node would not start."""
    import random

    if not cluster_bus:
        sockets = [socket.socket() for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        ports = [sock.getsockname()[1] for sock in sockets]
        for sock in sockets:
            sock.close()
        return ports
    chosen: list[int] = []
    while len(chosen) < count:
        port = random.randint(20000, 30000)
        if port in chosen:
            continue
        probes = [socket.socket(), socket.socket()]
        try:
            probes[0].bind(("127.0.0.1", port))
            probes[1].bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()
        chosen.append(port)
    return chosen


@pytest.fixture
def redis_cluster(tmp_path: Path) -> Iterator[list[int]]:
    """A 3-master Redis Cluster on loopback ports, started from the local redis-server."""
    server = shutil.which("redis-server")
    cli = shutil.which("redis-cli")
    if server is None or cli is None:
        pytest.fail("redis-server and redis-cli are needed (scripts/services.sh installs them)")
    ports = free_ports(3, cluster_bus=True)
    processes = [
        subprocess.Popen(
            [server, "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
             "--cluster-config-file", f"nodes-{port}.conf", "--dir", str(tmp_path),
             "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        for port in ports:
            wait_until(lambda port=port: subprocess.run(  # type: ignore[misc]
                [cli, "-p", str(port), "ping"], capture_output=True, text=True, check=False
            ).stdout.strip() == "PONG", 60, f"redis-server on {port}")
        subprocess.run(
            [cli, "--cluster", "create", *(f"127.0.0.1:{port}" for port in ports),
             "--cluster-replicas", "0", "--cluster-yes"],
            check=True, capture_output=True, timeout=240,
        )
        for port in ports:
            wait_until(lambda port=port: "cluster_state:ok" in subprocess.run(  # type: ignore[misc]
                [cli, "-p", str(port), "cluster", "info"], capture_output=True, text=True, check=False
            ).stdout, 240, f"cluster state ok on {port}")
        yield ports
    finally:
        for process in processes:
            process.kill()
            process.wait()


# Starting a cluster or a Sentinel group and waiting for it takes long on a busy machine:
# the per-test timeout of pyproject.toml (60 s) covers fixtures too.
@pytest.mark.timeout(300)
def test_redis_cluster_routes_keys_to_their_nodes(redis_cluster: list[int]) -> None:
    app = App()
    app.enable_redis(RedisConfig.cluster(f"redis://127.0.0.1:{redis_cluster[0]}"))

    @app.get("/")
    async def index(request: Any) -> Any:
        redis = request.redis
        keys = [f"key-{n}" for n in range(30)]  # spread over the three masters' slots
        for key in keys:
            await redis.set(key, key.upper())
        values = [await redis.get(key) for key in keys]
        async with redis.pipeline() as pipe:  # one slot: a hash tag
            pipe.set("{tag}a", 1).incr("{tag}b").get("{tag}a")
        return {"values": values == [key.upper() for key in keys], "pipeline": pipe.results,
                "cluster": redis._native.cluster}

    with TestClient(app) as client:
        assert client.get("/").json() == {"values": True, "pipeline": ["OK", 1, "1"], "cluster": True}
    # Every master holds some of the keys.
    counts = [
        int(subprocess.run(["redis-cli", "-p", str(port), "dbsize"], capture_output=True, text=True, check=True).stdout)
        for port in redis_cluster
    ]
    assert all(count > 0 for count in counts), counts


@pytest.fixture
def redis_sentinel(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A master, a replica and three Sentinels watching them, on loopback ports."""
    server = shutil.which("redis-server")
    cli = shutil.which("redis-cli")
    if server is None or cli is None:
        pytest.fail("redis-server and redis-cli are needed (scripts/services.sh installs them)")
    master, replica, *sentinels = free_ports(5)
    common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp_path)]
    processes = {
        "master": subprocess.Popen([server, "--port", str(master), *common], stdout=subprocess.DEVNULL),
        "replica": subprocess.Popen(
            [server, "--port", str(replica), "--replicaof", "127.0.0.1", str(master), *common],
            stdout=subprocess.DEVNULL,
        ),
    }
    for port in sentinels:
        conf = tmp_path / f"sentinel-{port}.conf"
        conf.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {tmp_path}\n"
            f"sentinel monitor cello 127.0.0.1 {master} 2\n"
            "sentinel down-after-milliseconds cello 1000\n"
            "sentinel failover-timeout cello 10000\n"
        )
        processes[f"sentinel-{port}"] = subprocess.Popen([server, str(conf), "--sentinel"], stdout=subprocess.DEVNULL)

    def ask(port: int, *args: str) -> str:
        return subprocess.run([cli, "-p", str(port), *args], capture_output=True, text=True, check=False).stdout

    try:
        wait_until(lambda: "master_link_status:up" in ask(replica, "info", "replication"), 240, "replica in sync")
        for port in sentinels:
            wait_until(lambda port=port: ask(port, "sentinel", "ckquorum", "cello").startswith("OK 3"),  # type: ignore[misc]
                       240, f"sentinel {port} sees the others")
            wait_until(lambda port=port: str(replica) in ask(port, "sentinel", "replicas", "cello"),  # type: ignore[misc]
                       240, f"sentinel {port} knows the replica")
        yield {"master": master, "replica": replica, "sentinels": sentinels, "processes": processes, "ask": ask}
    finally:
        for process in processes.values():
            process.kill()
            process.wait()


@pytest.mark.timeout(300)
def test_sentinel_finds_the_master_and_follows_a_failover(redis_sentinel: dict[str, Any]) -> None:
    sentinels = ",".join(f"127.0.0.1:{port}" for port in redis_sentinel["sentinels"])
    ask = redis_sentinel["ask"]

    async def main() -> None:
        redis = await Redis.connect(RedisConfig(url=f"redis+sentinel://{sentinels}/cello", connection_timeout_secs=2))
        await redis.set("before", "1")
        assert await redis.execute("WAIT", 1, 30000) == 1  # the replica has it
        assert "role:master" in await redis.execute("INFO", "replication")
        # The master dies; the Sentinels promote the replica.
        redis_sentinel["processes"]["master"].kill()
        redis_sentinel["processes"]["master"].wait()
        deadline = asyncio.get_running_loop().time() + 90
        while True:
            try:
                await redis.set("after", "2")
                break
            except cello.data.RedisError:
                assert asyncio.get_running_loop().time() < deadline, "no failover within 90 s"
                await asyncio.sleep(0.5)
        port = redis_sentinel["replica"]
        assert str(port) in ask(redis_sentinel["sentinels"][0], "sentinel", "get-master-addr-by-name", "cello")
        assert await redis.get("after") == "2"
        assert await redis.get("before") == "1"  # replicated before the failover

    run(main())
