"""The streaming transports of the GraphQL endpoint: WebSocket (``graphql-transport-ws``
and the legacy ``graphql-ws``) and Server-Sent Events (graphql-sse's distinct
connections mode). The protocols run in Rust (`cello._cello.GraphQLStream`); this module
only carries messages between the engine and Cello's WebSocket and streaming responses.
"""

from __future__ import annotations

import asyncio
import collections
import inspect
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from cello.graphql._compile import RequestContext
from cello.responses import Response
from cello.streaming import SseStream, StreamingResponse
from cello.websocket import WebSocket, WebSocketDisconnect

if TYPE_CHECKING:
    from cello.graphql.schema import GraphQL

__all__ = ["SUBPROTOCOLS", "make_context", "serve_sse", "serve_websocket", "wants_sse"]

#: What the WebSocket endpoint speaks, preferred first.
SUBPROTOCOLS = ["graphql-transport-ws", "graphql-ws"]
#: How many messages may wait for a slow client before the engine stops pulling items
#: (and so stops stepping the subscriptions' generators).
OUTBOX_LIMIT = 16


class _Outbox:
    """The engine's messages for one client: `put` (the engine's sink) answers a future
    to wait on once `limit` messages wait, `get` takes the next one."""

    def __init__(self, limit: int = OUTBOX_LIMIT) -> None:
        self._loop = asyncio.get_running_loop()
        self._items: collections.deque[Any] = collections.deque()
        self._limit = limit
        self._readable: asyncio.Future[None] | None = None
        self._room: asyncio.Future[None] | None = None

    def put(self, item: Any) -> asyncio.Future[None] | None:
        self._items.append(item)
        if self._readable is not None and not self._readable.done():
            self._readable.set_result(None)
        if len(self._items) < self._limit:
            return None
        self._room = self._loop.create_future()
        return self._room

    async def get(self) -> Any:
        while not self._items:
            self._readable = self._loop.create_future()
            await self._readable
        item = self._items.popleft()
        if self._room is not None and len(self._items) < self._limit:
            if not self._room.done():
                self._room.set_result(None)
            self._room = None
        return item


async def make_context(context: Callable[[Any], Any] | None, request: Any) -> Any:
    made = {} if context is None else context(request)
    if inspect.isawaitable(made):
        made = await made
    return made


def wants_sse(request: Any) -> bool:
    """A GraphQL-over-SSE request: ``Accept: text/event-stream``."""
    accept = request.headers.get("accept") or ""
    return "text/event-stream" in accept.lower()


class _RawEvents(SseStream):
    """The engine writes the SSE frames itself; chunks go out as they are."""

    __slots__ = ()

    def encode_chunk(self, item: Any) -> bytes:
        return StreamingResponse.encode_chunk(self, item)


async def serve_sse(engine: GraphQL, request: Any, made: Any) -> Response:
    """One operation as ``event: next`` events, then ``event: complete``."""
    queue = _Outbox()
    driver, starter = engine._driver()
    body = request.body() if request.method == "POST" else b""
    started = engine.engine().serve_sse(queue.put, driver, starter, request.method, request.headers.get("content-type"), request.query_string, body, RequestContext(request, made))
    if isinstance(started, tuple):
        status, content_type, answer, allow = started
        return Response(answer, status=status, headers={"allow": allow} if allow else None, content_type=content_type)

    async def events() -> AsyncIterator[bytes]:
        try:
            while (event := await queue.get()) is not None:
                yield event
        finally:
            started.close()  # the client left, or the stream ended: close the generators

    return _RawEvents(events(), keep_alive=None)


async def serve_websocket(engine: GraphQL, ws: WebSocket, context: Callable[[Any], Any] | None) -> None:
    """A GraphQL WebSocket connection: the client's messages feed the engine, whose
    messages are sent back, until either side closes."""
    protocol = ws.subprotocol
    if protocol not in SUBPROTOCOLS:
        await ws.close(4406, "Subprotocol not acceptable: use graphql-transport-ws or graphql-ws")
        return
    made = await make_context(context, ws.request)
    queue = _Outbox()
    driver, starter = engine._driver()
    session = engine.engine().serve_websocket(protocol, queue.put, driver, starter, RequestContext(ws.request, made))

    async def receive() -> None:
        try:
            while session.feed(await ws.receive_text()):
                pass
        except WebSocketDisconnect:
            pass

    async def send() -> None:
        while (message := await queue.get()) is not None:
            if message[0] == "close":
                await ws.close(message[1], message[2])
                return
            await ws.send_text(message[1])
        await ws.close()

    tasks = {asyncio.ensure_future(receive()), asyncio.ensure_future(send())}
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        session.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
