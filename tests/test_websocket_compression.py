"""permessage-deflate (RFC 7692) over real sockets: negotiated with the `websockets`
client, and checked frame by frame with a raw-socket client that compresses with
Python's own zlib."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
import zlib
from collections.abc import Callable, Iterator

import pytest
import websockets
from cello import App, ServerConfig
from cello.testing import LiveServer
from websockets.exceptions import ConnectionClosed
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

TAIL = b"\x00\x00\xff\xff"


def echo_app() -> App:
    app = App()

    @app.websocket("/echo")
    async def echo(ws):
        async for message in ws:
            await ws.send(message)

    return app


def ws_url(server: LiveServer, path: str = "/echo") -> str:
    return f"ws://127.0.0.1:{server.port}{path}"


# --- a raw client: handshake, masked frames, zlib ------------------------------------------------


class RawClient:
    """Speaks RFC 6455 by hand so each frame's RSV1 bit and payload can be checked."""

    def __init__(self, server: LiveServer, extensions: str | None) -> None:
        self.sock = socket.create_connection((server.host, server.port), timeout=5)
        key = base64.b64encode(os.urandom(16)).decode()
        head = (
            f"GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        )
        if extensions is not None:
            head += f"Sec-WebSocket-Extensions: {extensions}\r\n"
        self.sock.sendall((head + "\r\n").encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.sock.recv(4096)
        response, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = response.decode().split("\r\n")
        assert lines[0].startswith("HTTP/1.1 101"), lines[0]
        self.headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}

    def send(self, opcode: int, payload: bytes, *, rsv1: bool = False, fin: bool = True) -> None:
        mask = os.urandom(4)
        first = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
        if len(payload) < 126:
            header = struct.pack("!BB", first, 0x80 | len(payload))
        elif len(payload) < 65536:
            header = struct.pack("!BBH", first, 0x80 | 126, len(payload))
        else:
            header = struct.pack("!BBQ", first, 0x80 | 127, len(payload))
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def _read(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def recv(self) -> tuple[int, bool, bytes]:
        """One frame: (opcode, rsv1, payload)."""
        first, second = self._read(2)
        assert second & 0x80 == 0, "server frames must not be masked"
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self._read(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._read(8))
        return first & 0x0F, bool(first & 0x40), self._read(length)

    def close(self) -> None:
        self.sock.close()


def deflate(data: bytes, compressor: zlib._Compress | None = None) -> bytes:
    compressor = compressor or zlib.compressobj(wbits=-15)
    out = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(TAIL)
    return out[: -len(TAIL)]


def inflate(data: bytes, decompressor: zlib._Decompress | None = None) -> bytes:
    decompressor = decompressor or zlib.decompressobj(wbits=-15)
    return decompressor.decompress(data + TAIL)


@pytest.fixture
def raw(live: Callable[..., LiveServer]) -> Iterator[Callable[..., RawClient]]:
    clients: list[RawClient] = []

    def connect(extensions: str | None = "permessage-deflate", config: ServerConfig | None = None) -> RawClient:
        server = live(echo_app(), config=config) if config else live(echo_app())
        client = RawClient(server, extensions)
        clients.append(client)
        return client

    yield connect
    for client in clients:
        client.close()


# --- tests ---------------------------------------------------------------------------------------


def test_negotiated_with_a_websockets_client(live: Callable[..., LiveServer]) -> None:
    server = live(echo_app())
    document = json.dumps([{"id": i, "name": f"item {i}", "tags": ["a", "b"]} for i in range(2000)])

    async def client() -> tuple[str, str, bytes]:
        async with websockets.connect(ws_url(server), max_size=None) as connection:
            answer = connection.response.headers["Sec-WebSocket-Extensions"]
            await connection.send(document)
            text = await connection.recv()
            await connection.send(document.encode())
            data = await connection.recv()
            return answer, text, data

    answer, text, data = asyncio.run(client())
    assert answer.startswith("permessage-deflate")
    assert "server_no_context_takeover" in answer
    assert text == document
    assert data == document.encode()


def test_replies_are_compressed_frames(raw: Callable[..., RawClient]) -> None:
    client = raw("permessage-deflate; client_max_window_bits")
    assert client.headers["sec-websocket-extensions"] == "permessage-deflate; server_no_context_takeover"
    message = ("cello " * 1000).encode()
    client.send(0x1, deflate(message), rsv1=True)
    opcode, rsv1, payload = client.recv()
    assert (opcode, rsv1) == (0x1, True)
    assert len(payload) < len(message) // 20
    assert inflate(payload) == message
    # A short message goes out as it is (below ws_compression_threshold).
    client.send(0x1, b"hi")
    assert client.recv() == (0x1, False, b"hi")


def test_client_context_takeover_and_fragments(raw: Callable[..., RawClient]) -> None:
    """The client keeps its compression context across messages and fragments one
    compressed message over three frames (RSV1 on the first only)."""
    client = raw("permessage-deflate")
    compressor = zlib.compressobj(wbits=-15)
    for round_ in range(3):
        message = json.dumps({"round": round_, "items": list(range(500))}).encode()
        compressed = deflate(message, compressor)
        third = len(compressed) // 3
        client.send(0x2, compressed[:third], rsv1=True, fin=False)
        client.send(0x0, compressed[third : 2 * third], fin=False)
        client.send(0x0, compressed[2 * third :])
        opcode, rsv1, payload = client.recv()
        assert opcode == 0x2 and rsv1
        assert inflate(payload) == message


def test_offer_parameters_are_honoured(raw: Callable[..., RawClient]) -> None:
    client = raw("permessage-deflate; server_max_window_bits=9; client_no_context_takeover")
    assert client.headers["sec-websocket-extensions"] == (
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9"
    )
    message = bytes(range(256)) * 64
    client.send(0x2, deflate(message), rsv1=True)
    _, rsv1, payload = client.recv()
    # A decompressor with a 512-byte window must be able to read the reply.
    assert rsv1 and zlib.decompressobj(wbits=-9).decompress(payload + TAIL) == message


def test_invalid_offers_are_declined(raw: Callable[..., RawClient]) -> None:
    client = raw("permessage-deflate; server_max_window_bits=16, x-webkit-deflate-frame")
    assert "sec-websocket-extensions" not in client.headers
    client.send(0x1, b"x" * 500)
    assert client.recv() == (0x1, False, b"x" * 500)


def test_compression_can_be_switched_off(raw: Callable[..., RawClient]) -> None:
    client = raw("permessage-deflate", config=ServerConfig(ws_compression=False))
    assert "sec-websocket-extensions" not in client.headers
    # RSV1 without the extension is a protocol error.
    client.send(0x1, deflate(b"hello"), rsv1=True)
    opcode, _, payload = client.recv()
    assert opcode == 0x8 and struct.unpack("!H", payload[:2])[0] == 1002


def test_context_takeover_when_configured(raw: Callable[..., RawClient]) -> None:
    config = ServerConfig(ws_compression_context_takeover=True, ws_compression_threshold=0)
    client = raw("permessage-deflate", config=config)
    assert client.headers["sec-websocket-extensions"] == "permessage-deflate"
    decompressor = zlib.decompressobj(wbits=-15)
    sizes = []
    message = json.dumps({"event": "tick", "payload": "the same words again and again"}).encode()
    for _ in range(3):
        client.send(0x1, message)
        _, rsv1, payload = client.recv()
        assert rsv1 and inflate(payload, decompressor) == message
        sizes.append(len(payload))
    # The second copy refers back to the first: far smaller.
    assert sizes[1] < sizes[0] // 2


def test_a_decompression_bomb_closes_with_1009(live: Callable[..., LiveServer]) -> None:
    server = live(echo_app(), config=ServerConfig(ws_max_message_size=64 * 1024))
    client = RawClient(server, "permessage-deflate")
    try:
        bomb = deflate(b"\x00" * (10 * 1024 * 1024))
        assert len(bomb) < 16 * 1024
        client.send(0x2, bomb, rsv1=True)
        opcode, _, payload = client.recv()
        assert opcode == 0x8 and struct.unpack("!H", payload[:2])[0] == 1009
    finally:
        client.close()


def test_corrupt_deflate_data_closes_with_1002(raw: Callable[..., RawClient]) -> None:
    client = raw()
    client.send(0x2, b"\xff\xff\xff\xff\x00\x01", rsv1=True)
    opcode, _, payload = client.recv()
    assert opcode == 0x8 and struct.unpack("!H", payload[:2])[0] == 1002


def test_websockets_client_without_compression_still_works(live: Callable[..., LiveServer]) -> None:
    server = live(echo_app())

    async def client() -> tuple[bool, str]:
        async with websockets.connect(ws_url(server), compression=None) as connection:
            await connection.send("plain " * 100)
            return "Sec-WebSocket-Extensions" in connection.response.headers, await connection.recv()

    negotiated, reply = asyncio.run(client())
    assert not negotiated and reply == "plain " * 100


def test_small_windows_from_a_websockets_client(live: Callable[..., LiveServer]) -> None:
    server = live(echo_app())
    factory = ClientPerMessageDeflateFactory(server_max_window_bits=10, client_max_window_bits=10)

    async def client() -> tuple[str, str]:
        async with websockets.connect(ws_url(server), extensions=[factory]) as connection:
            message = "".join(f"line {i}: {'x' * (i % 50)}\n" for i in range(3000))
            await connection.send(message)
            reply = await connection.recv()
            assert reply == message
            return connection.response.headers["Sec-WebSocket-Extensions"], reply[:6]

    answer, start = asyncio.run(client())
    assert "server_max_window_bits=10" in answer and start == "line 0"


def test_closed_connection_reports_code(live: Callable[..., LiveServer]) -> None:
    """A compressed session still closes cleanly both ways."""
    server = live(echo_app())

    async def client() -> int | None:
        async with websockets.connect(ws_url(server)) as connection:
            await connection.send("bye " * 100)
            await connection.recv()
            await connection.close(4000, "done")
            try:
                await connection.recv()
            except ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else None
        return None

    assert asyncio.run(client()) == 4000
