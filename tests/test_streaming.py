"""Streamed responses and Server-Sent Events over real sockets."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable

import httpx
import pytest
from cello import App, Response, SseStream, StreamingResponse
from cello.testing import LiveServer, TestClient


def read_until(sock: socket.socket, marker: bytes, limit: int = 1 << 20) -> bytes:
    data = b""
    while marker not in data and len(data) < limit:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_async_generator_streams_in_chunks(live: Callable[..., LiveServer]) -> None:
    app = App()

    @app.get("/numbers")
    async def numbers(request):
        async def generate():
            for n in range(5):
                yield f"{n}\n"
                await asyncio.sleep(0)

        return StreamingResponse(generate(), media_type="text/plain")

    server = live(app)
    with httpx.stream("GET", server.url + "/numbers") as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/plain"
        assert response.headers.get("transfer-encoding") == "chunked"
        assert "".join(response.iter_text()) == "0\n1\n2\n3\n4\n"


def test_sync_iterables_and_response_stream(live: Callable[..., LiveServer]) -> None:
    app = App()

    @app.get("/sync")
    def sync(request):
        def generate():
            yield b"a"
            yield "b"
            yield bytearray(b"c")

        return Response.stream(generate(), content_type="text/plain")

    @app.get("/list")
    def as_list(request):
        return StreamingResponse([b"x", b"y"])

    server = live(app)
    assert httpx.get(server.url + "/sync").text == "abc"
    assert httpx.get(server.url + "/list").content == b"xy"
    with TestClient(app) as client:
        assert client.get("/sync").text == "abc"


def test_disconnect_closes_the_generator(live: Callable[..., LiveServer]) -> None:
    app = App()
    closed = threading.Event()

    @app.get("/forever")
    async def forever(request):
        async def generate():
            try:
                while True:
                    yield b"tick\n"
                    await asyncio.sleep(0.05)
            finally:
                closed.set()

        return StreamingResponse(generate())

    @app.get("/ping")
    def ping(request):
        return "pong"

    server = live(app)
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.settimeout(5)
    sock.sendall(b"GET /forever HTTP/1.1\r\nHost: x\r\n\r\n")
    assert b"tick" in read_until(sock, b"tick")
    sock.close()
    assert closed.wait(5), "the generator's finally did not run after the client left"
    assert httpx.get(server.url + "/ping").text == "pong"


def test_slow_client_applies_backpressure(live: Callable[..., LiveServer]) -> None:
    app = App()
    produced: list[int] = []

    @app.get("/big")
    async def big(request):
        async def generate():
            for index in range(2000):
                produced.append(index)
                yield b"x" * 65536

        return StreamingResponse(generate())

    server = live(app)
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    sock.settimeout(5)
    sock.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
    read_until(sock, b"\r\n\r\n")
    # Stop reading: the producer must stall once the queue and socket buffers are full
    # (no progress across a sampling interval). Reaching the deadline while it still
    # progresses is a failure too: on a slow machine that is how missing backpressure looks.
    previous = -1
    deadline = time.monotonic() + 30
    while len(produced) != previous:
        assert time.monotonic() < deadline, f"the producer never stalled ({len(produced)} chunks)"
        previous = len(produced)
        time.sleep(0.2)
    stalled_at = previous
    sock.close()
    assert stalled_at < 2000, "the whole 125 MiB body was produced for a client that reads nothing"


def test_stream_is_not_held_back_by_a_pipelined_request(live: Callable[..., LiveServer]) -> None:
    """With a second request pipelined behind an event stream, the events arrive while
    the stream is still open (it stays open until the test releases it from another
    connection), and the second request is answered after. (Guards the streaming part
    of the hyper pipeline-flush patch, should that option be turned on.)"""
    app = App()
    held: dict[str, asyncio.Event] = {}

    @app.get("/events")
    async def events(request):
        async def stream():
            for i in range(3):
                yield {"data": f"tick {i}"}
            held["release"] = asyncio.Event()
            await held["release"].wait()

        return SseStream(stream())

    @app.post("/release")
    async def release(request):
        held["release"].set()
        return {"released": True}

    @app.get("/other")
    def other(request):
        return {"ok": True}

    server = live(app)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\nGET /other HTTP/1.1\r\nHost: x\r\n\r\n")
        received = read_until(sock, b"tick 2")
        assert b"data: tick 2" in received, "the events were held back behind the pipelined request"
        assert httpx.post(server.url + "/release").json() == {"released": True}
        received += read_until(sock, b'{"ok":true}')
    assert received.endswith(b'{"ok":true}')


def test_seed_sse_example(live: Callable[..., LiveServer]) -> None:
    app = App()

    @app.get("/events")
    async def events(request):
        async def stream():
            for i in range(100):
                yield {"event": "update", "data": f"tick {i}"}
                await asyncio.sleep(1)
        return SseStream(stream())

    server = live(app)
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.settimeout(10)
    sock.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
    data = read_until(sock, b"tick 1\n\n")
    sock.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"content-type: text/event-stream" in head.lower()
    assert b"cache-control: no-cache" in head.lower()
    assert b"event: update\ndata: tick 0\n\n" in body
    assert b"event: update\ndata: tick 1\n\n" in body


def test_sse_fields_json_data_keep_alive_and_last_event_id(live: Callable[..., LiveServer]) -> None:
    app = App()

    @app.get("/sse")
    def sse(request):
        last = request.headers.get("last-event-id", "none")

        async def stream():
            yield {"event": "hello", "data": {"last": last}, "id": 7, "retry": 1500}
            yield "plain\nmulti-line"
            await asyncio.sleep(0.6)  # silence: keep-alive comments go out meanwhile
            yield {"data": [1, 2]}

        return SseStream(stream(), keep_alive=0.1)

    server = live(app)
    with httpx.stream("GET", server.url + "/sse", headers={"last-event-id": "6"}) as response:
        body = response.read().decode()
    assert 'event: hello\nid: 7\nretry: 1500\ndata: {"last":"6"}\n\n' in body
    assert "data: plain\ndata: multi-line\n\n" in body
    assert ":\n\n" in body
    assert body.endswith("data: [1,2]\n\n")


def test_head_on_a_streaming_route_sends_no_body(live: Callable[..., LiveServer]) -> None:
    app = App()

    @app.get("/s")
    def stream(request):
        return StreamingResponse(iter([b"abc"]))

    server = live(app)
    response = httpx.head(server.url + "/s")
    assert response.status_code == 200 and response.content == b""


def test_an_iterator_failing_mid_stream_cuts_the_response_off(
    live: Callable[..., LiveServer],
) -> None:
    import logging

    def broken():
        yield b"first "
        raise RuntimeError("the source broke")

    app = App()

    @app.get("/broken")
    def stream(request):
        return StreamingResponse(broken())

    @app.get("/ok")
    def ok(request):
        return {"ok": True}

    url = live(app).url
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logging.getLogger("cello.streaming").addHandler(handler)
    try:
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(url + "/broken")
    finally:
        logging.getLogger("cello.streaming").removeHandler(handler)
    assert any("cut off" in r.getMessage() for r in records)
    assert httpx.get(url + "/ok").json() == {"ok": True}
