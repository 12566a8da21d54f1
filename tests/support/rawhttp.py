"""A minimal HTTP/1.1 client over a raw socket that shows exactly what the server sent:
for the robustness tests (nothing is normalised by a client library)."""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Self

from cello.testing import LiveServer

#: Upper bound for any single wait on the socket; far above what a healthy server needs.
IO_TIMEOUT = 5.0


# --- a minimal HTTP/1.1 client that shows exactly what the server sent ----------------


@dataclass
class RawResponse:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    head: bytes = field(default=b"", repr=False)

    def header(self, name: str) -> str | None:
        for header, value in self.headers:
            if header == name.lower():
                return value
        return None

    def header_list(self, name: str) -> list[str]:
        return [value for header, value in self.headers if header == name.lower()]

    def json(self) -> Any:
        return json.loads(self.body)


class RawConnection:
    """One TCP connection to the server; keeps unread bytes between responses."""

    def __init__(self, port: int, timeout: float = IO_TIMEOUT) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.timeout = timeout
        self.buffer = b""
        self.eof = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self, timeout: float | None = None) -> bool:
        """Reads more bytes; False at end of stream (FIN or reset)."""
        if self.eof:
            return False
        self.sock.settimeout(self.timeout if timeout is None else max(timeout, 0.001))
        try:
            chunk = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            chunk = b""
        except TimeoutError:
            raise AssertionError(
                f"the server sent nothing more within {self.timeout} s "
                f"(unread so far: {self.buffer[:200]!r})"
            ) from None
        if not chunk:
            self.eof = True
            return False
        self.buffer += chunk
        return True

    def _take(self, count: int) -> bytes:
        while len(self.buffer) < count:
            if not self._fill():
                raise AssertionError(
                    f"the connection closed after {len(self.buffer)} of {count} expected bytes"
                )
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def _take_line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            if not self._fill():
                raise AssertionError(f"the connection closed inside a line: {self.buffer!r}")
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def read_head(self) -> RawResponse:
        """Reads one status line and its headers (an interim 1xx counts as a response)."""
        while b"\r\n\r\n" not in self.buffer:
            if not self._fill():
                raise AssertionError(
                    f"the connection closed before a complete response head; got {self.buffer!r}"
                )
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        version, _, rest = status_line.partition(" ")
        assert version in ("HTTP/1.1", "HTTP/1.0"), f"not an HTTP status line: {status_line!r}"
        code, _, reason = rest.partition(" ")
        headers = []
        for line in header_lines:
            name, _, value = line.partition(":")
            headers.append((name.strip().lower(), value.strip()))
        return RawResponse(int(code), reason, headers, head=head)

    def read_response(self, method: str = "GET") -> RawResponse:
        """Reads one complete response: head, then the body framed as the head says."""
        response = self.read_head()
        if method == "HEAD" or response.status < 200 or response.status in (204, 304):
            return response
        encoding = (response.header("transfer-encoding") or "").lower()
        length = response.header("content-length")
        if "chunked" in encoding:
            chunks = []
            while True:
                size = int(self._take_line().split(b";")[0], 16)
                if size == 0:
                    while self._take_line():  # trailers, then the empty line
                        pass
                    break
                chunks.append(self._take(size))
                assert self._take(2) == b"\r\n", "chunk not followed by CRLF"
            response.body = b"".join(chunks)
        elif length is not None:
            response.body = self._take(int(length))
        else:
            response.body = self.read_until_closed(IO_TIMEOUT)
        return response

    def read_until_closed(self, within: float) -> bytes:
        """Everything the server sends until it closes; fails if it is still open
        after `within` seconds."""
        deadline = time.monotonic() + within
        while not self.eof:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"the server kept the connection open for {within} s")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                chunk = b""
            except TimeoutError:
                raise AssertionError(
                    f"the server kept the connection open for {within} s "
                    f"(received meanwhile: {self.buffer[:200]!r})"
                ) from None
            if not chunk:
                self.eof = True
            self.buffer += chunk
        data, self.buffer = self.buffer, b""
        return data


def request_bytes(
    method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def exchange(server: LiveServer, raw: bytes, method: str = "GET") -> tuple[RawResponse, bytes]:
    """Sends `raw` on a fresh connection, reads one response and then everything until
    the server closes (bounded). Returns the response and the bytes that followed it."""
    with RawConnection(server.port) as connection:
        try:
            connection.send(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before it has read everything
        response = connection.read_response(method)
        trailing = connection.read_until_closed(IO_TIMEOUT)
    return response, trailing


def assert_still_serves(server: LiveServer) -> None:
    """A fresh, well-formed request still gets its normal answer."""
    with RawConnection(server.port) as connection:
        connection.send(request_bytes("GET", "/", headers={"Connection": "close"}))
        response = connection.read_response()
    assert response.status == 200, response
    assert response.json() == {"ok": True}


def assert_problem(response: RawResponse, status: int) -> dict[str, Any]:
    assert response.status == status, response
    assert response.header("content-type") == "application/problem+json", response.headers
    problem = response.json()
    assert problem["status"] == status
    assert problem["type"] == "about:blank"
    assert isinstance(problem["title"], str) and problem["title"]
    assert isinstance(problem["detail"], str) and problem["detail"]
    return problem


def assert_closes(connection: RawConnection) -> None:
    trailing = connection.read_until_closed(IO_TIMEOUT)
    assert trailing == b"", f"unexpected bytes after the response: {trailing!r}"
