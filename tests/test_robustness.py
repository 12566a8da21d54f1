"""Hostile and unusual clients over a raw socket: malformed requests, limits, timeouts,
pipelining, keep-alive, failing handlers, HEAD and graceful shutdown.

Every test talks HTTP/1.1 by hand (so nothing is normalised by a client library), never
waits without a bound, and ends by checking that the worker still answers a normal
request.
"""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time
from collections.abc import Callable

import pytest
from cello import App, Response, ServerConfig
from cello.testing import LiveServer
from support.rawhttp import (
    IO_TIMEOUT,
    RawConnection,
    RawResponse,
    assert_closes,
    assert_problem,
    assert_still_serves,
    exchange,
    request_bytes,
)

Live = Callable[..., LiveServer]

# --- the app ----------------------------------------------------------------------------


def make_app() -> App:
    app = App()

    @app.get("/")
    def index(request):
        return {"ok": True}

    @app.get("/items/{n}")
    def item(request):
        return {"n": request.params["n"]}

    @app.post("/echo")
    def echo(request):
        return Response(request.body(), content_type="application/octet-stream")

    @app.get("/text")
    def text(request):
        return Response.text("hello, head")

    @app.get("/boom")
    def boom(request):
        raise RuntimeError("secret-internal-detail")

    @app.get("/unencodable")
    def unencodable(request):
        return object()

    @app.get("/none")
    def nothing(request):
        return None

    @app.get("/empty")
    def empty(request):
        return Response("")

    return app


# --- malformed requests -----------------------------------------------------------------


@pytest.mark.parametrize(
    "garbage",
    [
        b"GARBAGE\r\n\r\n",
        random.Random(1).randbytes(512) + b"\r\n\r\n",
        random.Random(2).randbytes(2048) + b"\r\n\r\n",
        b"\x00\x01\x02\xff\xfe\r\n\r\n",
    ],
    ids=["word", "random-512", "random-2048", "control-bytes"],
)
def test_garbage_gets_400_and_close(live: Live, garbage: bytes) -> None:
    server = live(make_app())
    response, trailing = exchange(server, garbage)
    assert response.status == 400, response
    assert trailing == b"", f"bytes after the 400: {trailing!r}"
    assert_still_serves(server)


def test_unknown_http_version_is_refused(live: Live) -> None:
    server = live(make_app())
    response, trailing = exchange(server, b"GET / HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n")
    assert response.status in (400, 505), response
    assert trailing == b""
    assert_still_serves(server)




BAD_REQUESTS = {
    "malformed_header_line_gets_400": b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nThis Is Not A Header\r\n\r\n",
    "header_name_with_space_before_colon_gets_400": b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Bad : value\r\n\r\n",
    "invalid_content_length_is_refused": b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -5\r\n\r\nhello",
}


@pytest.mark.parametrize("raw", list(BAD_REQUESTS.values()), ids=list(BAD_REQUESTS))
def test_malformed_requests_get_400_and_the_worker_keeps_serving(live: Live, raw: bytes) -> None:
    server = live(make_app())
    response, trailing = exchange(server, raw)
    assert response.status == 400, response
    assert trailing == b""
    assert_still_serves(server)


# --- limits -----------------------------------------------------------------------------


def test_oversized_headers_get_431(live: Live) -> None:
    server = live(make_app(), config=ServerConfig(max_header_size=4096))
    raw = request_bytes("GET", "/", headers={"X-Big": "a" * 20_000})
    response, trailing = exchange(server, raw)
    assert response.status == 431, response
    assert trailing == b""
    assert_still_serves(server)


def test_headers_under_the_limit_are_served(live: Live) -> None:
    server = live(make_app(), config=ServerConfig(max_header_size=4096))
    with RawConnection(server.port) as connection:
        connection.send(request_bytes("GET", "/", headers={"X-Fits": "a" * 2_000}))
        response = connection.read_response()
    assert response.status == 200, response


def test_oversized_content_length_gets_413_before_the_body_is_sent(live: Live) -> None:
    server = live(make_app(), config=ServerConfig(max_body_size=1024))
    with RawConnection(server.port) as connection:
        # Only the head: a server that waited for the body (or sent 100 Continue)
        # would not answer 413 here.
        connection.send(
            b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n"
            b"Content-Type: application/octet-stream\r\nExpect: 100-continue\r\n\r\n"
        )
        response = connection.read_response()
        assert response.status != 100, "the server invited a body it is going to refuse"
        problem = assert_problem(response, 413)
        assert "1024" in problem["detail"], f"the detail does not name the limit: {problem}"
        assert_closes(connection)
    assert_still_serves(server)


def test_oversized_body_sent_in_full_still_gets_a_readable_413(live: Live) -> None:
    server = live(make_app(), config=ServerConfig(max_body_size=1024))
    response, _ = exchange(server, request_bytes("POST", "/echo", b"x" * 100_000))
    problem = assert_problem(response, 413)
    assert "1024" in problem["detail"], problem
    assert_still_serves(server)


def test_body_at_the_limit_is_accepted(live: Live) -> None:
    server = live(make_app(), config=ServerConfig(max_body_size=1024))
    body = bytes(range(256)) * 4
    with RawConnection(server.port) as connection:
        connection.send(request_bytes("POST", "/echo", body))
        response = connection.read_response()
    assert response.status == 200, response
    assert response.body == body


def test_oversized_chunked_body_gets_413(live: Live) -> None:
    server = live(make_app(), config=ServerConfig(max_body_size=1024))
    with RawConnection(server.port) as connection:
        # One 2000-byte chunk and no terminator: the server must stop at the limit
        # instead of waiting for the end of the body.
        connection.send(
            b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"7d0\r\n"
            + b"z" * 2000
            + b"\r\n"
        )
        response = connection.read_response()
        problem = assert_problem(response, 413)
        assert "1024" in problem["detail"], problem
        assert_closes(connection)
    assert_still_serves(server)


def test_oversized_chunked_body_in_small_chunks_gets_413(live: Live) -> None:
    server = live(make_app(), config=ServerConfig(max_body_size=1024))
    with RawConnection(server.port) as connection:
        chunk = b"100\r\n" + b"y" * 256 + b"\r\n"
        connection.send(
            b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
            + chunk * 5
        )
        response = connection.read_response()
        assert_problem(response, 413)
        assert_closes(connection)
    assert_still_serves(server)


# --- bodies -----------------------------------------------------------------------------


def test_chunked_body_is_echoed(live: Live) -> None:
    server = live(make_app())
    with RawConnection(server.port) as connection:
        connection.send(
            b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n"
            b"1;name=value\r\n,\r\n"
            b"6\r\n world\r\n"
            b"0\r\n\r\n"
        )
        response = connection.read_response()
        assert response.status == 200, response
        assert response.body == b"hello, world"
        # The connection stays usable after a chunked request.
        connection.send(request_bytes("GET", "/items/2"))
        assert connection.read_response().json() == {"n": "2"}


def test_expect_100_continue_with_a_small_body(live: Live) -> None:
    server = live(make_app())
    with RawConnection(server.port) as connection:
        connection.send(
            b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n"
            b"Expect: 100-continue\r\n\r\n"
        )
        interim = connection.read_head()
        assert interim.status == 100, interim
        connection.send(b"howdy")
        response = connection.read_response()
    assert response.status == 200, response
    assert response.body == b"howdy"


# --- timeouts ---------------------------------------------------------------------------


def test_slowloris_connection_is_closed(live: Live) -> None:
    server = live(make_app(), config=ServerConfig(header_read_timeout=0.5))
    with RawConnection(server.port) as connection:
        connection.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        # Either a bare close or an error response followed by a close.
        received = connection.read_until_closed(IO_TIMEOUT)
    assert received == b"" or received.startswith(b"HTTP/1.1 4"), received
    assert_still_serves(server)


def test_silent_connection_is_closed(live: Live) -> None:
    server = live(make_app(), config=ServerConfig(header_read_timeout=0.5))
    with RawConnection(server.port) as connection:
        received = connection.read_until_closed(IO_TIMEOUT)
    assert received == b"" or received.startswith(b"HTTP/1.1 4"), received
    assert_still_serves(server)


def test_slow_body_gets_408(live: Live) -> None:
    server = live(make_app(), config=ServerConfig(body_read_timeout=0.5))
    with RawConnection(server.port) as connection:
        connection.send(
            b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n0123456789"
        )
        response = connection.read_response()
        problem = assert_problem(response, 408)
        assert "0.5" in problem["detail"], (
            f"the 408 detail should state the configured body_read_timeout (0.5 s): {problem}"
        )
        assert_closes(connection)
    assert_still_serves(server)


def test_idle_keep_alive_connection_is_closed(live: Live) -> None:
    server = live(make_app(), config=ServerConfig(keep_alive_timeout=0.5))
    with RawConnection(server.port) as connection:
        connection.send(request_bytes("GET", "/items/1"))
        response = connection.read_response()
        assert response.status == 200
        assert (response.header("connection") or "").lower() != "close", response.headers
        assert_closes(connection)
    assert_still_serves(server)


# --- framing conflicts ------------------------------------------------------------------


@pytest.mark.parametrize(
    "framing",
    [
        b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n",
        b"Transfer-Encoding: chunked\r\nContent-Length: 4\r\n",
    ],
    ids=["cl-then-te", "te-then-cl"],
)
def test_content_length_and_transfer_encoding_conflict(live: Live, framing: bytes) -> None:
    """RFC 9112 §6.3: reject, or honour Transfer-Encoding alone; either way close the
    connection afterwards. The pipelined GET must never be answered (smuggling)."""
    server = live(make_app())
    raw = (
        b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n" + framing + b"\r\n"
        b"5\r\nhello\r\n0\r\n\r\n"
        + request_bytes("GET", "/items/smuggled")
    )
    response, trailing = exchange(server, raw)
    if 400 <= response.status < 500:
        outcome = "rejected with a 4xx"
    else:
        assert response.status == 200, response
        assert response.body == b"hello", (
            f"Transfer-Encoding must win over Content-Length, got body {response.body!r}"
        )
        outcome = "accepted with Transfer-Encoding, then closed"
    assert trailing == b"", (
        f"after the conflicting request ({outcome}) the server went on to answer the "
        f"pipelined request: {trailing!r}"
    )
    assert_still_serves(server)


def test_duplicate_differing_content_length_is_refused(live: Live) -> None:
    server = live(make_app())
    raw = (
        b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n"
        b"\r\nhello!"
    )
    response, trailing = exchange(server, raw)
    assert 400 <= response.status < 500, (
        f"two different Content-Length values must be a client error, got {response}"
    )
    assert trailing == b"", f"the connection stayed in use after the 4xx: {trailing!r}"
    assert_still_serves(server)



# --- connection reuse -------------------------------------------------------------------


def test_pipelined_requests_are_answered_in_order(live: Live) -> None:
    server = live(make_app())
    with RawConnection(server.port) as connection:
        connection.send(
            request_bytes("GET", "/items/1")
            + request_bytes("POST", "/echo", b"second")
            + request_bytes("GET", "/items/3")
        )
        first = connection.read_response()
        second = connection.read_response()
        third = connection.read_response()
    assert (first.status, first.json()) == (200, {"n": "1"})
    assert (second.status, second.body) == (200, b"second")
    assert (third.status, third.json()) == (200, {"n": "3"})


def test_a_batch_of_pipelined_requests_is_answered_in_one_go(live: Live) -> None:
    """Sixteen requests in one write (wrk's pipelining), including a malformed last
    one: every good request is answered in order, then the 400, then the close."""
    server = live(make_app())
    with RawConnection(server.port) as connection:
        batch = b"".join(request_bytes("GET", f"/items/{n}") for n in range(15))
        connection.send(batch + b"GET /items/15 HTTP/1.1\r\nbad header line\r\n\r\n")
        answers = [connection.read_response() for _ in range(16)]
    assert [a.json() for a in answers[:15]] == [{"n": str(n)} for n in range(15)]
    assert answers[15].status == 400


def test_keep_alive_serves_several_requests_on_one_connection(live: Live) -> None:
    server = live(make_app())
    with RawConnection(server.port) as connection:
        for n in range(10):
            if n % 2:
                connection.send(request_bytes("POST", "/echo", f"body {n}".encode()))
                response = connection.read_response()
                assert response.body == f"body {n}".encode()
            else:
                connection.send(request_bytes("GET", f"/items/{n}"))
                response = connection.read_response()
                assert response.json() == {"n": str(n)}
            assert response.status == 200
            assert (response.header("connection") or "").lower() != "close", response.headers
        assert not connection.eof


def test_http_1_0_request_is_answered_then_closed(live: Live) -> None:
    server = live(make_app())
    response, trailing = exchange(server, b"GET /items/10 HTTP/1.0\r\n\r\n")
    assert response.status == 200, response
    assert response.json() == {"n": "10"}
    assert trailing == b""


def test_keep_alive_disabled_closes_after_each_response(live: Live) -> None:
    server = live(make_app(), config=ServerConfig(keep_alive=False))
    with RawConnection(server.port) as connection:
        connection.send(request_bytes("GET", "/items/1"))
        response = connection.read_response()
        assert response.json() == {"n": "1"}
        assert (response.header("connection") or "").lower() == "close", response.headers
        assert_closes(connection)
    assert_still_serves(server)


# --- failing handlers -------------------------------------------------------------------


def test_handler_exception_is_a_500_and_the_worker_survives(live: Live) -> None:
    server = live(make_app())
    with RawConnection(server.port) as connection:
        for _ in range(3):
            connection.send(request_bytes("GET", "/boom"))
            response = connection.read_response()
            problem = assert_problem(response, 500)
            assert "secret-internal-detail" not in response.body.decode(), (
                "a 500 outside debug mode must not reveal internals"
            )
            assert problem["title"] == "Internal Server Error"
            if (response.header("connection") or "").lower() == "close":
                break
    assert_still_serves(server)


def test_unencodable_return_value_is_a_500_and_the_worker_survives(live: Live) -> None:
    server = live(make_app())
    response, _ = exchange(server, request_bytes("GET", "/unencodable", headers={"Connection": "close"}))
    assert_problem(response, 500)
    assert_still_serves(server)
    response, _ = exchange(server, request_bytes("GET", "/boom", headers={"Connection": "close"}))
    assert_problem(response, 500)
    assert_still_serves(server)


# --- HEAD and empty bodies --------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/text", "/items/42"])
def test_head_on_a_get_route_sends_headers_only(live: Live, path: str) -> None:
    server = live(make_app())
    with RawConnection(server.port) as connection:
        # HEAD then GET in one write: if the HEAD answer carried any body bytes, the
        # GET's status line would not come next.
        connection.send(request_bytes("HEAD", path) + request_bytes("GET", path))
        head = connection.read_response("HEAD")
        get = connection.read_response("GET")
    assert head.status == get.status == 200
    assert get.body, "the GET response should have a body"
    assert head.header("content-length") == str(len(get.body)), (head.headers, len(get.body))

    def comparable(response: RawResponse) -> list[tuple[str, str]]:
        return sorted((n, v) for n, v in response.headers if n != "date")

    assert comparable(head) == comparable(get)

    # And with a close: nothing at all follows the head.
    with RawConnection(server.port) as connection:
        connection.send(request_bytes("HEAD", path, headers={"Connection": "close"}))
        head = connection.read_head()
        assert head.status == 200
        assert connection.read_until_closed(IO_TIMEOUT) == b"", "HEAD response carried a body"


def test_none_is_a_204_without_body(live: Live) -> None:
    server = live(make_app())
    with RawConnection(server.port) as connection:
        connection.send(request_bytes("GET", "/none") + request_bytes("GET", "/items/1"))
        response = connection.read_response()
        following = connection.read_response()
    assert response.status == 204, response
    assert response.header("content-length") in (None, "0"), response.headers
    assert response.header("transfer-encoding") is None, response.headers
    assert following.json() == {"n": "1"}, "bytes after the 204 broke the framing"
    with RawConnection(server.port) as connection:
        connection.send(request_bytes("GET", "/none", headers={"Connection": "close"}))
        assert connection.read_head().status == 204
        assert connection.read_until_closed(IO_TIMEOUT) == b""


def test_empty_string_response_has_content_length_zero(live: Live) -> None:
    server = live(make_app())
    with RawConnection(server.port) as connection:
        connection.send(request_bytes("GET", "/empty") + request_bytes("GET", "/items/1"))
        response = connection.read_response()
        following = connection.read_response()
    assert response.status == 200, response
    assert response.header("content-length") == "0", response.headers
    assert response.header("transfer-encoding") is None, response.headers
    assert response.body == b""
    assert following.json() == {"n": "1"}


# --- graceful shutdown ------------------------------------------------------------------


def test_graceful_shutdown_finishes_in_flight_requests(live: Live) -> None:
    app = make_app()
    started = threading.Event()
    release = threading.Event()

    @app.get("/slow")
    async def slow(request):
        started.set()
        for _ in range(1000):  # bounded: at most ~10 s
            if release.is_set():
                break
            await asyncio.sleep(0.01)
        return {"slow": "done"}

    server = live(app)
    port = server.port
    stop_errors: list[BaseException] = []

    def stop() -> None:
        try:
            server.stop(timeout=15)
        except BaseException as error:  # noqa: BLE001 - reported by the test thread
            stop_errors.append(error)

    stopper = threading.Thread(target=stop)
    with RawConnection(port) as connection:
        connection.send(request_bytes("GET", "/slow"))
        assert started.wait(IO_TIMEOUT), "the slow handler never started"
        stopper.start()
        try:
            # While draining, the listener is gone: new connections are refused.
            refused = False
            deadline = time.monotonic() + IO_TIMEOUT
            while time.monotonic() < deadline:
                try:
                    probe = socket.create_connection(("127.0.0.1", port), timeout=1.0)
                except ConnectionRefusedError:
                    refused = True
                    break
                except ConnectionResetError:
                    # The probe sat in the accept queue as the listener closed (the
                    # kernel resets those); the next probe tells.
                    time.sleep(0.02)
                    continue
                probe.close()
                time.sleep(0.02)
            assert refused, "the server kept accepting connections after shutdown began"
            assert stopper.is_alive(), "stop() returned before the in-flight request finished"
        finally:
            release.set()
        response = connection.read_response()
        assert response.status == 200, response
        assert response.json() == {"slow": "done"}
        connection.read_until_closed(IO_TIMEOUT)
    stopper.join(20)
    assert not stopper.is_alive(), "stop() did not return"
    assert not stop_errors, stop_errors
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1.0).close()


def test_graceful_shutdown_with_a_sleeping_handler(live: Live) -> None:
    app = make_app()
    started = threading.Event()

    @app.get("/sleep")
    async def sleep(request):
        started.set()
        await asyncio.sleep(0.5)
        return {"slept": True}

    server = live(app)
    port = server.port
    with RawConnection(port) as connection:
        connection.send(request_bytes("GET", "/sleep"))
        assert started.wait(IO_TIMEOUT)
        server.stop(timeout=15)  # returns once drained
        response = connection.read_response()
    assert response.status == 200, response
    assert response.json() == {"slept": True}
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1.0).close()


def test_silent_connection_does_not_hold_up_shutdown() -> None:
    # A client that connected but never sent a byte is closed at once by a drain,
    # instead of keeping the worker alive until the header timeout.

    app = App()

    @app.get("/")
    def index(request):
        return "ok"

    server = LiveServer(app, config=ServerConfig(header_read_timeout=60, shutdown_timeout=60)).start()
    silent = socket.create_connection(("127.0.0.1", server.port))
    try:
        server.stop(timeout=15)
    finally:
        silent.close()
