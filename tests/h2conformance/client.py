"""`H2Client`: a well-behaved HTTP/2 client built on the `h2` library's state machine.

Used for the normal exchanges (GET, POST, many streams, streaming): `h2` validates
what the server sends (frame sequencing, header rules, flow-control windows) and
raises if the server breaks them, so these tests also check the server's output
with an implementation independent of hyper.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Self

import h2.config
import h2.connection
import h2.events

__all__ = ["ClientResponse", "H2Client"]


@dataclass
class ClientResponse:
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    data_frames: int = 0
    ended: bool = False
    reset_code: int | None = None
    trailers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def status(self) -> int:
        return int(dict(self.headers)[":status"])

    def header(self, name: str) -> str | None:
        return dict(self.headers).get(name)


class H2Client:
    """One HTTP/2 connection (h2c with prior knowledge, or an already-wrapped TLS socket)."""

    def __init__(
        self,
        sock: socket.socket | ssl.SSLSocket,
        authority: str,
        scheme: str = "http",
        timeout: float = 5.0,
    ) -> None:
        self.sock = sock
        self.authority = authority
        self.scheme = scheme
        self.timeout = timeout
        self.conn = h2.connection.H2Connection(
            config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        )
        self.responses: dict[int, ClientResponse] = {}
        self.terminated: h2.events.ConnectionTerminated | None = None
        self.closed = False
        self.conn.initiate_connection()
        self._flush()

    @classmethod
    def connect(cls, host: str, port: int, timeout: float = 5.0) -> H2Client:
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(sock, f"{host}:{port}", timeout=timeout)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _flush(self) -> None:
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | Iterable[bytes] | None = None,
        headers: Sequence[tuple[str, str]] = (),
    ) -> int:
        """Starts a request and sends its body (chunks as separate DATA frames); the stream id."""
        stream_id = self.conn.get_next_available_stream_id()
        request_headers = [
            (":method", method),
            (":scheme", self.scheme),
            (":path", path),
            (":authority", self.authority),
            *headers,
        ]
        self.responses[stream_id] = ClientResponse()
        self.conn.send_headers(stream_id, request_headers, end_stream=body is None)
        self._flush()
        if body is not None:
            chunks = [body] if isinstance(body, bytes) else list(body)
            for chunk in chunks:
                self.send_data(stream_id, chunk)
            self.conn.end_stream(stream_id)
            self._flush()
        return stream_id

    def send_data(self, stream_id: int, data: bytes) -> None:
        """Sends `data`, waiting for window updates when the server's windows are full."""
        while data:
            window = min(
                self.conn.local_flow_control_window(stream_id), self.conn.max_outbound_frame_size
            )
            if window <= 0:
                self._receive_once(time.monotonic() + self.timeout)
                continue
            chunk, data = data[:window], data[window:]
            self.conn.send_data(stream_id, chunk)
            self._flush()

    def wait(self, done: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + self.timeout
        while not done():
            if self.closed:
                raise AssertionError(f"the connection closed while waiting for {what}")
            self._receive_once(deadline, what)

    def response(self, stream_id: int) -> ClientResponse:
        response = self.responses[stream_id]
        self.wait(
            lambda: response.ended or response.reset_code is not None,
            f"the response on stream {stream_id}",
        )
        assert response.reset_code is None, (
            f"stream {stream_id} was reset with code {response.reset_code}"
        )
        return response

    def _receive_once(self, deadline: float, what: str = "window updates") -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"timed out waiting for {what}")
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            raise AssertionError(f"timed out waiting for {what}") from None
        if not data:
            self.closed = True
            return
        for event in self.conn.receive_data(data):
            self._handle(event)
        self._flush()

    def _handle(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.ResponseReceived):
            self.responses[event.stream_id].headers = [(str(k), str(v)) for k, v in event.headers]
        elif isinstance(event, h2.events.DataReceived):
            response = self.responses[event.stream_id]
            response.body += event.data
            response.data_frames += 1
            self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.TrailersReceived):
            self.responses[event.stream_id].trailers = [(str(k), str(v)) for k, v in event.headers]
        elif isinstance(event, h2.events.StreamEnded):
            self.responses[event.stream_id].ended = True
        elif isinstance(event, h2.events.StreamReset):
            self.responses[event.stream_id].reset_code = int(event.error_code)
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.terminated = event
