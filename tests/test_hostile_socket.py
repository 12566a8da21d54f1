"""Hostile bytes over a real socket (issue #18): a real server process, raw TCP, and
arbitrary bytes for the method, the target (path and query), header names and values,
cookies and bodies, sent to handlers that read every `Request` accessor
(tests/apps/hostile_app.py). Invariant: every answer is a 2xx, 3xx or 4xx (a request the
engine cannot parse may also be closed without one), never a 5xx, and the same worker
still answers afterwards (none died and was restarted).

The TestClient side of the same properties is tests/test_hostile_facade.py.
"""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.processes import ServerProcess, get

APP = Path(__file__).parent / "apps" / "hostile_app.py"
# Generous: a slow machine may take seconds, a hung answer is what it guards against.
SOCKET_TIMEOUT = 30.0


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[ServerProcess, int, int]]:
    process = ServerProcess([sys.executable, str(APP), "--port", "0"])
    try:
        port, _ = process.wait_ready()
        status, _, body = get(port, "/pid")
        assert status == 200, body
        yield process, port, json.loads(body)["pid"]
    finally:
        process.kill()


def exchange(port: int, request: bytes) -> bytes:
    """Sends `request` on a fresh connection, closes the sending side, and returns
    everything the server wrote before it closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT) as connection:
        try:
            connection.sendall(request)
            connection.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server refused early and closed: what it answered is still readable
        received = b""
        while True:
            try:
                chunk = connection.recv(65536)
            except OSError:
                return received
            if not chunk:
                return received
            received += chunk


def statuses(answer: bytes) -> list[int]:
    """The status codes of every response in `answer` (pipelined answers included)."""
    codes = []
    for line in answer.split(b"\r\n"):
        if line.startswith(b"HTTP/1.") and len(line) >= 12 and line[8:9] == b" ":
            codes.append(int(line[9:12]))
    return codes


token_bytes = st.binary(min_size=1, max_size=12).filter(lambda b: b" " not in b and b"\r\n" not in b)
methods = st.sampled_from([b"GET", b"POST", b"PUT", b"PATCH", b"DELETE", b"HEAD", b"OPTIONS"]) | token_bytes
paths = st.sampled_from([
    b"/any/", b"/typed/1/2.5/123e4567-e89b-12d3-a456-426614174000/", b"/typed/-0/nan/x/",
    b"/json", b"/form", b"/", b"*", b"http://x/any/", b"/%ff%fe/", b"/any/%2F..%2F",
])
line_bytes = st.binary(max_size=40).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))
header_names = st.sampled_from([
    b"cookie", b"content-type", b"content-length", b"transfer-encoding", b"host", b"accept-encoding",
    b"x-forwarded-for", b"range", b"if-none-match", b"expect", b"connection", b"upgrade",
]) | token_bytes.filter(lambda b: b":" not in b)
content_types = st.sampled_from([
    b"application/json", b"application/x-www-form-urlencoded", b"multipart/form-data; boundary=x",
    b"multipart/form-data", b"text/plain; charset=latin-1",
])
bodies = st.binary(max_size=400) | st.sampled_from([
    b"[" * 600 + b"]" * 600, b'"\\ud800"', b"1e999999", b'{"a": 18446744073709551616}',
    b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--\r\n',
    b'--x\r\nContent-Disposition: form-data; name="f"; filename="../a"\r\n\r\n\xff\r\n--x--\r\n',
    b"name=%FF%FE&a=%zz&&=", b"0\r\n\r\n", b"5\r\nhello\r\n0\r\n\r\n",
])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    method=methods,
    path=paths,
    part=line_bytes.map(lambda b: b.replace(b" ", b"%20")),
    query=line_bytes.map(lambda b: b.replace(b" ", b"+")),
    headers=st.lists(st.tuples(header_names, line_bytes), max_size=6),
    cookie=line_bytes,
    content_type=content_types,
    body=bodies,
    declared_length=st.booleans(),
)
def test_hostile_bytes_never_get_a_5xx(
    server: tuple[ServerProcess, int, int], method: bytes, path: bytes, part: bytes, query: bytes,
    headers: list[tuple[bytes, bytes]], cookie: bytes, content_type: bytes, body: bytes,
    declared_length: bool,
) -> None:
    _, port, _ = server
    target = path + (part if path.endswith(b"/") else b"") + (b"?" + query if query else b"")
    lines = [method + b" " + target + b" HTTP/1.1", b"host: 127.0.0.1", b"cookie: " + cookie,
             b"content-type: " + content_type]
    lines += [name + b": " + value for name, value in headers]
    if declared_length:
        lines.append(b"content-length: " + str(len(body)).encode())
    lines.append(b"connection: close")
    request = b"\r\n".join(lines) + b"\r\n\r\n" + body
    answer = exchange(port, request)
    codes = statuses(answer)
    assert all(code < 500 for code in codes), (request[:300], answer[:500])


@pytest.mark.parametrize("request_bytes", [
    b"\x00\xff\r\n\r\n",
    b"GET / HTTP/1.1\r\nhost: x\r\n" + b"x-big: " + b"a" * 70000 + b"\r\n\r\n",
    b"POST /json HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00garbage",
    b"GET /any/x HTTP/1.1\r\nhost: x\r\ncookie: a=%ff; b=\"\xff\"\r\n\r\n",
])
def test_known_malformed_requests(server: tuple[ServerProcess, int, int], request_bytes: bytes) -> None:
    _, port, _ = server
    codes = statuses(exchange(port, request_bytes))
    assert all(code < 500 for code in codes), codes


def test_the_same_worker_still_answers_afterwards(server: tuple[ServerProcess, int, int]) -> None:
    process, port, first_pid = server
    status, _, body = get(port, "/pid")
    assert status == 200
    assert json.loads(body)["pid"] == first_pid, "the worker was replaced: it died"
    assert process.stderr_matches("restarting") == [], process.output()
    assert process.proc.poll() is None
