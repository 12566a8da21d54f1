"""WebSocket over real sockets with the `websockets` client library."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import httpx
import pytest
import websockets
from cello import App, HTTPException, ServerConfig, WebSocketDisconnect
from cello.testing import LiveServer
from websockets.exceptions import ConnectionClosed, InvalidStatus


def ws_url(server: LiveServer, path: str) -> str:
    return f"ws://127.0.0.1:{server.port}{path}"


def run(coroutine: object) -> object:
    return asyncio.run(coroutine)  # type: ignore[arg-type]


def test_seed_chat_example(live: Callable[..., LiveServer]) -> None:
    app = App()

    @app.websocket("/ws/chat")
    async def chat(ws):
        while True:
            message = await ws.receive()
            await ws.send(f"Echo: {message}")

    server = live(app)

    async def client() -> list[str]:
        async with websockets.connect(ws_url(server, "/ws/chat")) as connection:
            replies = []
            for text in ("hello", "wörld"):
                await connection.send(text)
                replies.append(await connection.recv())
            return replies

    assert run(client()) == ["Echo: hello", "Echo: wörld"]


def test_seed_sync_example(live: Callable[..., LiveServer]) -> None:
    app = App()

    @app.websocket("/ws")
    def websocket_handler(ws):
        ws.send_text("Connected!")
        while True:
            message = ws.recv()
            if message is None:
                break
            ws.send_text(f"Echo: {message.text}")

    server = live(app)

    async def client() -> list[str]:
        async with websockets.connect(ws_url(server, "/ws")) as connection:
            first = await connection.recv()
            await connection.send("ping")
            return [first, await connection.recv()]

    assert run(client()) == ["Connected!", "Echo: ping"]


def test_handshake_data_binary_frames_and_iteration(live: Callable[..., LiveServer]) -> None:
    app = App()

    @app.websocket("/rooms/{room:int}")
    async def room(ws):
        await ws.send_json(
            {
                "room": ws.params["room"],
                "user": ws.query.get("user"),
                "agent": ws.headers.get("x-agent"),
                "cookie": ws.cookies.get("session"),
            }
        )
        async for message in ws:
            await ws.send(message[::-1] if isinstance(message, bytes) else message.upper())

    server = live(app)

    async def client() -> list[object]:
        async with websockets.connect(
            ws_url(server, "/rooms/7?user=ann"),
            additional_headers={"x-agent": "tests", "cookie": "session=abc"},
        ) as connection:
            hello = await connection.recv()
            await connection.send(b"\x01\x02\x03")
            binary = await connection.recv()
            await connection.send(["frag", "mented"])  # one message in several frames
            fragmented = await connection.recv()
            return [hello, binary, fragmented]

    hello, binary, fragmented = run(client())  # type: ignore[misc]
    assert hello == '{"room":7,"user":"ann","agent":"tests","cookie":"abc"}'
    assert binary == b"\x03\x02\x01"
    assert fragmented == "FRAGMENTED"


def test_guards_refuse_before_the_upgrade(live: Callable[..., LiveServer]) -> None:
    app = App()

    def token_guard(request):
        if request.query.get("token") is None:
            raise HTTPException(401, "token required")
        return request.query["token"] == "good"

    @app.websocket("/secure", guards=[token_guard])
    async def secure(ws):
        await ws.send("welcome")

    server = live(app)

    async def status_of(path: str) -> int | str:
        try:
            async with websockets.connect(ws_url(server, path)) as connection:
                return await connection.recv()  # type: ignore[return-value]
        except InvalidStatus as refused:
            return refused.response.status_code

    assert run(status_of("/secure")) == 401
    assert run(status_of("/secure?token=bad")) == 403
    assert run(status_of("/secure?token=good")) == "welcome"


def test_close_codes_both_ways(live: Callable[..., LiveServer]) -> None:
    app = App()
    seen: list[tuple[int, str]] = []
    done = threading.Event()

    @app.websocket("/server-closes")
    async def server_closes(ws):
        await ws.close(4001, "bye now")

    @app.websocket("/client-closes")
    async def client_closes(ws):
        try:
            await ws.receive()
        except WebSocketDisconnect as disconnect:
            seen.append((disconnect.code, disconnect.reason))
            done.set()

    server = live(app)

    async def client() -> tuple[int, str]:
        async with websockets.connect(ws_url(server, "/server-closes")) as connection:
            try:
                await connection.recv()
            except ConnectionClosed as closed:
                assert closed.rcvd is not None
                server_side = (closed.rcvd.code, closed.rcvd.reason)
        async with websockets.connect(ws_url(server, "/client-closes")) as connection:
            await connection.close(4002, "client leaving")
        return server_side

    assert run(client()) == (4001, "bye now")
    assert done.wait(5)
    assert seen == [(4002, "client leaving")]


def test_oversized_message_closes_with_1009(live: Callable[..., LiveServer]) -> None:
    app = App()

    @app.websocket("/echo")
    async def echo(ws):
        async for message in ws:
            await ws.send(message)

    server = live(app, config=ServerConfig(ws_max_message_size=1000))

    async def client() -> int:
        async with websockets.connect(ws_url(server, "/echo")) as connection:
            await connection.send("x" * 10)
            assert await connection.recv() == "x" * 10
            await connection.send("y" * 5000)
            try:
                await connection.recv()
            except ConnectionClosed as closed:
                assert closed.rcvd is not None
                return closed.rcvd.code
        return 0

    assert run(client()) == 1009


def test_handler_error_closes_with_1011_and_worker_lives(live: Callable[..., LiveServer]) -> None:
    app = App()

    @app.websocket("/boom")
    async def boom(ws):
        await ws.receive()
        raise RuntimeError("handler bug")

    @app.get("/health")
    def health(request):
        return {"ok": True}

    server = live(app)

    async def client() -> int:
        async with websockets.connect(ws_url(server, "/boom")) as connection:
            await connection.send("trigger")
            try:
                await connection.recv()
            except ConnectionClosed as closed:
                assert closed.rcvd is not None
                return closed.rcvd.code
        return 0

    assert run(client()) == 1011
    assert httpx.get(server.url + "/health").json() == {"ok": True}


def test_subprotocol_negotiation_and_pings(live: Callable[..., LiveServer]) -> None:
    app = App()

    @app.websocket("/proto", subprotocols=["v2.chat", "v1.chat"])
    async def proto(ws):
        await ws.send(ws.subprotocol or "none")
        await ws.receive()

    server = live(app)

    async def client() -> tuple[str | None, object, float]:
        async with websockets.connect(ws_url(server, "/proto"), subprotocols=["v1.chat", "v2.chat"]) as connection:
            chosen = connection.subprotocol
            announced = await connection.recv()
            latency = await (await connection.ping())
            return chosen, announced, latency

    chosen, announced, latency = run(client())  # type: ignore[misc]
    assert chosen == "v2.chat" and announced == "v2.chat"
    assert latency >= 0


def test_idle_connections_are_closed(live: Callable[..., LiveServer]) -> None:
    app = App()

    @app.websocket("/idle")
    async def idle(ws):
        async for _ in ws:
            pass

    server = live(app, config=ServerConfig(ws_idle_timeout=0.5, ws_ping_interval=None))

    async def client() -> int:
        async with websockets.connect(ws_url(server, "/idle"), ping_interval=None) as connection:
            try:
                await asyncio.wait_for(connection.recv(), timeout=10)
            except ConnectionClosed as closed:
                assert closed.rcvd is not None
                return closed.rcvd.code
        return 0

    assert run(client()) == 1001


def test_plain_get_on_a_websocket_route_is_426(live: Callable[..., LiveServer]) -> None:
    app = App()

    @app.websocket("/ws")
    async def ws_route(ws):
        pass

    server = live(app)
    response = httpx.get(server.url + "/ws")
    assert response.status_code == 426
    assert response.headers["upgrade"] == "websocket"


def test_slow_reader_holds_the_sender_back(live: Callable[..., LiveServer]) -> None:
    app = App()
    sent: list[int] = []

    @app.websocket("/flood")
    async def flood(ws):
        for index in range(5000):
            await ws.send(b"z" * 65536)
            sent.append(index)

    server = live(app)

    async def client() -> int:
        # Without compression: 64 KiB of "z" would deflate to almost nothing.
        async with websockets.connect(
            ws_url(server, "/flood"), max_size=None, max_queue=1, compression=None
        ) as connection:
            await connection.recv()
            # The sends must pause (no progress across a sampling interval) well before
            # all 5000 went out. Reaching the deadline while they still progress is a
            # failure too: on a slow machine that is how missing backpressure looks.
            previous = -1
            deadline = time.monotonic() + 30
            while len(sent) != previous:
                assert time.monotonic() < deadline, f"the sends never paused ({len(sent)} sent)"
                previous = len(sent)
                await asyncio.sleep(0.2)
            # Abort: a closing handshake would wait out the client's close_timeout (10 s)
            # for a Close frame queued behind the data this client refuses to read.
            connection.transport.abort()
            return previous

    stalled_at = run(client())
    assert isinstance(stalled_at, int) and stalled_at < 5000, "sends did not wait for the slow client"


def test_websocket_guards_must_be_sync() -> None:
    app = App()

    async def async_guard(request):
        return True

    with pytest.raises(TypeError, match="handshake"):

        @app.websocket("/x", guards=[async_guard])
        async def handler(ws):
            pass


def test_http_and_websocket_share_a_path(live: Callable[..., LiveServer]) -> None:
    app = App()

    @app.post("/graphql")
    @app.get("/graphql")
    def over_http(request):
        return {"served_by": "http", "method": request.method}

    @app.websocket("/graphql")
    async def over_websocket(ws):
        async for message in ws:
            await ws.send(f"ws: {message}")

    # Either order of registration pairs them.
    @app.websocket("/feed/{room}")
    async def feed(ws):
        await ws.send(f"room {ws.request.params['room']}")

    @app.get("/feed/{room}")
    def feed_page(request):
        return {"room": request.params["room"]}

    url = live(app).url
    assert httpx.get(url + "/graphql").json() == {"served_by": "http", "method": "GET"}
    assert httpx.post(url + "/graphql").json() == {"served_by": "http", "method": "POST"}
    assert httpx.head(url + "/graphql").status_code == 200
    assert httpx.get(url + "/feed/7").json() == {"room": "7"}

    async def talk() -> tuple[str, str]:
        base = url.replace("http", "ws")
        async with websockets.connect(base + "/graphql") as connection:
            await connection.send("subscribe")
            first = await connection.recv()
        async with websockets.connect(base + "/feed/7") as connection:
            second = await connection.recv()
        return str(first), str(second)

    assert asyncio.run(talk()) == ("ws: subscribe", "room 7")


def test_two_websockets_or_two_gets_on_a_path_still_conflict() -> None:
    from cello import RouteConflictError

    app = App()

    @app.websocket("/x")
    async def one(ws):
        await ws.close()

    @app.get("/x")
    def page(request):
        return {}

    with pytest.raises(RouteConflictError):

        @app.websocket("/x")
        async def two(ws):
            await ws.close()

    with pytest.raises(RouteConflictError):

        @app.get("/x")
        def page_again(request):
            return {}
