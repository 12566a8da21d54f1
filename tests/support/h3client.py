"""A small HTTP/3 client on aioquic, for tests (aioquic ships the protocol, not a client)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aioquic.asyncio.client import connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, H3Event, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import QuicEvent


@dataclass
class H3Response:
    status: int
    headers: dict[str, str]
    body: bytes = b""
    chunks: list[bytes] = field(default_factory=list)


class _Protocol(QuicConnectionProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._http = H3Connection(self._quic)
        self._events: dict[int, list[H3Event]] = {}
        self._waiters: dict[int, asyncio.Future[list[H3Event]]] = {}

    def quic_event_received(self, event: QuicEvent) -> None:
        for http_event in self._http.handle_event(event):
            if isinstance(http_event, (HeadersReceived, DataReceived)):
                stream = http_event.stream_id
                self._events.setdefault(stream, []).append(http_event)
                if http_event.stream_ended and stream in self._waiters:
                    self._waiters.pop(stream).set_result(self._events.pop(stream))

    async def request(self, method: str, authority: str, path: str, body: bytes = b"") -> H3Response:
        stream = self._quic.get_next_available_stream_id()
        headers = [
            (b":method", method.encode()),
            (b":scheme", b"https"),
            (b":authority", authority.encode()),
            (b":path", path.encode()),
        ]
        if body:
            headers.append((b"content-length", str(len(body)).encode()))
        self._http.send_headers(stream, headers, end_stream=not body)
        if body:
            self._http.send_data(stream, body, end_stream=True)
        waiter: asyncio.Future[list[H3Event]] = asyncio.get_running_loop().create_future()
        self._waiters[stream] = waiter
        self.transmit()
        events = await asyncio.wait_for(waiter, 10)
        status, response_headers, chunks = 0, {}, []
        for event in events:
            if isinstance(event, HeadersReceived):
                for name, value in event.headers:
                    if name == b":status":
                        status = int(value)
                    else:
                        response_headers[name.decode()] = value.decode()
            elif isinstance(event, DataReceived) and event.data:
                chunks.append(event.data)
        return H3Response(status, response_headers, b"".join(chunks), chunks)


async def fetch_all(port: int, ca_pem: str, requests: list[tuple[str, str, bytes]]) -> list[H3Response]:
    """Sends `requests` ((method, path, body)) over one HTTP/3 connection, concurrently."""
    configuration = QuicConfiguration(is_client=True, alpn_protocols=H3_ALPN, server_name="localhost")
    configuration.load_verify_locations(ca_pem)
    async with connect("127.0.0.1", port, configuration=configuration, create_protocol=_Protocol) as client:
        assert isinstance(client, _Protocol)
        authority = f"localhost:{port}"
        return await asyncio.gather(*(client.request(m, authority, p, b) for m, p, b in requests))
