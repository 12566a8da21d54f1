"""WebSocket endpoints: ``@app.websocket(path)`` with an async or a sync handler.

Async handlers get a `WebSocket` (``await ws.receive()``, ``await ws.send(...)``,
``async for message in ws``); sync handlers get a `SyncWebSocket` (``ws.recv()``
returns a `Message` or ``None`` once closed, ``ws.send_text()``, ``ws.send_bytes()``)
and run in the thread pool. Both forms are the seed's. Guards run during the
handshake: a refusal answers 403 (or the guard's `HTTPException`) before upgrading.
A handler that raises closes the connection with 1011; the worker carries on.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from cello import _cello
from cello.exceptions import CelloError

__all__ = ["Message", "SyncWebSocket", "WebSocket", "WebSocketDisconnect"]

logger = logging.getLogger("cello.websocket")

_running: set[asyncio.Future[Any]] = set()


class WebSocketDisconnect(CelloError):
    """The connection closed: ``code`` and ``reason`` are the peer's (1006: no close
    frame, the connection just vanished)."""

    def __init__(self, code: int = 1000, reason: str = "") -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason


class Message:
    """A received message: ``text`` for text frames, ``data`` (bytes) for both."""

    __slots__ = ("data", "is_text", "text")

    def __init__(self, payload: str | bytes) -> None:
        self.is_text = isinstance(payload, str)
        self.text: str | None = payload if isinstance(payload, str) else None
        self.data: bytes = payload.encode() if isinstance(payload, str) else payload

    @property
    def content(self) -> str | bytes:
        """``text`` for a text message, ``data`` for a binary one (the original
        framework's name)."""
        return self.text if self.text is not None else self.data

    def __str__(self) -> str:
        return self.text if self.text is not None else self.data.decode("utf-8", "replace")

    def __repr__(self) -> str:
        return f"Message({self.text if self.is_text else self.data!r})"


class _Handshake:
    """Request attributes shared by both WebSocket flavours."""

    _channel: _cello.WebSocketChannel

    @property
    def request(self) -> _cello.Request:
        """The handshake request."""
        return self._channel.request

    @property
    def params(self) -> dict[str, Any]:
        return self._channel.request.params

    path_params = params

    @property
    def query(self) -> _cello.QueryParams:
        return self._channel.request.query

    query_params = query

    @property
    def headers(self) -> _cello.Headers:
        return self._channel.request.headers

    @property
    def cookies(self) -> dict[str, str]:
        return self._channel.request.cookies

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol agreed at the handshake (``subprotocols=`` on the route)."""
        return self._channel.subprotocol

    @property
    def state(self) -> Any:
        return self._channel.request.state


def _encode(data: Any) -> tuple[str, Any]:
    if isinstance(data, str):
        return "text", data
    if isinstance(data, (bytes, bytearray, memoryview)):
        return "bytes", bytes(data)
    return "text", _cello.json_dumps(data).decode()


class WebSocket(_Handshake):
    """An open WebSocket, for ``async def`` handlers."""

    def __init__(self, channel: _cello.WebSocketChannel) -> None:
        self._channel = channel
        self.closed: tuple[int, str] | None = None

    async def receive(self) -> str | bytes:
        """The next message: ``str`` for text, ``bytes`` for binary. Raises
        `WebSocketDisconnect` once the connection has closed."""
        if self.closed is not None:
            raise WebSocketDisconnect(*self.closed)
        future: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()
        self._channel.receive_into(future)
        kind, *payload = await future
        if kind == "close":
            self.closed = (payload[0], payload[1])
            raise WebSocketDisconnect(payload[0], payload[1])
        return payload[0]  # type: ignore[no-any-return]

    async def receive_text(self) -> str:
        message = await self.receive()
        return message if isinstance(message, str) else message.decode()

    async def receive_bytes(self) -> bytes:
        message = await self.receive()
        return message.encode() if isinstance(message, str) else message

    async def receive_json(self) -> Any:
        return json.loads(await self.receive())

    async def send(self, data: Any) -> None:
        """Sends ``str`` as text, ``bytes`` as binary, anything else as JSON text.
        Waits while the client is slow to read (backpressure)."""
        kind, payload = _encode(data)
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._channel.send_into(future, kind, payload)
        if not await future:
            raise WebSocketDisconnect(*(self.closed or (1006, "connection closed")))

    async def send_text(self, text: str) -> None:
        await self.send(str(text))

    async def send_bytes(self, data: bytes) -> None:
        await self.send(bytes(data))

    async def send_json(self, data: Any) -> None:
        await self.send(_cello.json_dumps(data).decode())

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Closes the connection with `code` and `reason`."""
        self._channel.close(code, reason)

    def __aiter__(self) -> AsyncIterator[str | bytes]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[str | bytes]:
        while True:
            try:
                yield await self.receive()
            except WebSocketDisconnect:
                return


class SyncWebSocket(_Handshake):
    """An open WebSocket, for ``def`` handlers (which run in the thread pool)."""

    def __init__(self, channel: _cello.WebSocketChannel) -> None:
        self._channel = channel
        self.closed: tuple[int, str] | None = None

    def recv(self) -> Message | None:
        """The next message, or ``None`` once the connection has closed."""
        if self.closed is not None:
            return None
        kind, *payload = self._channel.receive_blocking()
        if kind == "close":
            self.closed = (payload[0], payload[1])
            return None
        return Message(payload[0])

    receive = recv

    def send(self, data: Any) -> None:
        """Sends ``str`` as text, ``bytes`` as binary, anything else as JSON text."""
        kind, payload = _encode(data)
        if not self._channel.send_blocking(kind, payload):
            raise WebSocketDisconnect(*(self.closed or (1006, "connection closed")))

    def send_text(self, text: str) -> None:
        self.send(str(text))

    def send_bytes(self, data: bytes) -> None:
        self.send(bytes(data))

    def send_json(self, data: Any) -> None:
        self.send(_cello.json_dumps(data).decode())

    def close(self, code: int = 1000, reason: str = "") -> None:
        self._channel.close(code, reason)


async def _run_async(handler: Callable[..., Any], socket: WebSocket) -> None:
    try:
        await handler(socket)
    except WebSocketDisconnect:
        pass
    except Exception:
        logger.exception("WebSocket handler %s failed; closing with 1011", getattr(handler, "__qualname__", handler))
        socket._channel.close(1011, "internal error")
        return
    socket._channel.close(1000, "")


def _run_sync(handler: Callable[..., Any], socket: SyncWebSocket) -> None:
    try:
        handler(socket)
    except WebSocketDisconnect:
        pass
    except Exception:
        logger.exception("WebSocket handler %s failed; closing with 1011", getattr(handler, "__qualname__", handler))
        socket._channel.close(1011, "internal error")
        return
    socket._channel.close(1000, "")


def run_handler(handler: Callable[..., Any], channel: _cello.WebSocketChannel, is_async: bool) -> None:
    """Called by the engine after a successful handshake."""
    loop = asyncio.get_event_loop()
    job: asyncio.Future[Any]
    if is_async:
        job = loop.create_task(_run_async(handler, WebSocket(channel)))
    else:
        job = loop.run_in_executor(None, _run_sync, handler, SyncWebSocket(channel))
    _running.add(job)
    job.add_done_callback(_running.discard)
