"""The streaming transports of the GraphQL endpoint: WebSocket (``graphql-transport-ws``
and the legacy ``graphql-ws``) and Server-Sent Events (graphql-sse's distinct
connections mode). The protocols run in Rust (`cello._cello.GraphQLStream`); this module
only carries messages between the engine and Cello's WebSocket and streaming responses.
"""

from __future__ import annotations

import asyncio
import collections
import inspect
import json
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


async def make_context(context: Callable[..., Any] | None, request: Any, connection_params: Any = None) -> Any:
    """The user's context for one request (or WebSocket connection); a ``context``
    function with a ``connection_params`` parameter gets the connection's too."""
    if context is None:
        return {}
    made = context(request, connection_params=connection_params) if _takes_connection_params(context) else context(request)
    if inspect.isawaitable(made):
        made = await made
    return made


def _takes_connection_params(function: Callable[..., Any]) -> bool:
    try:
        return "connection_params" in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


class _Refused(Exception):
    """``on_connect`` refused the connection: the reason goes to the client."""


async def _accept_connection(on_connect: Callable[..., Any] | None, request: Any, payload: Any) -> Any:
    """``on_connect(request, payload)``: the connection's params, or `_Refused`."""
    from cello.graphql.types import GraphQLError

    if on_connect is None:
        return payload
    try:
        answer = on_connect(request, payload)
        if inspect.isawaitable(answer):
            answer = await answer
    except GraphQLError as error:
        raise _Refused(str(error) or "Forbidden") from error
    if answer is False:
        raise _Refused("Forbidden")
    return payload if answer is None or answer is True else answer


def _init_payload(text: str) -> tuple[bool, Any]:
    """Whether a client's first message is ``connection_init``, and its payload."""
    try:
        message = json.loads(text)
    except ValueError:
        return False, None
    if not isinstance(message, dict) or message.get("type") != "connection_init":
        return False, None
    payload = message.get("payload")
    return True, payload if isinstance(payload, dict) else None


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


async def serve_websocket(engine: GraphQL, ws: WebSocket, context: Callable[..., Any] | None, on_connect: Callable[..., Any] | None = None) -> None:
    """A GraphQL WebSocket connection: the client's messages feed the engine, whose
    messages are sent back, until either side closes.

    The client's first message, ``connection_init``, is read here: its payload goes to
    ``on_connect`` (which may refuse the connection) and becomes the connection's
    ``connection_params``, then the context is made and the engine takes over.
    """
    protocol = ws.subprotocol
    if protocol not in SUBPROTOCOLS:
        await ws.close(4406, "Subprotocol not acceptable: use graphql-transport-ws or graphql-ws")
        return
    try:
        first = await ws.receive_text()
    except WebSocketDisconnect:
        return
    is_init, payload = _init_payload(first)
    connection_params = None
    if is_init:
        try:
            connection_params = await _accept_connection(on_connect, ws.request, payload)
        except _Refused as refused:
            if protocol == "graphql-ws":  # the legacy protocol answers with a message first
                await ws.send_text(json.dumps({"type": "connection_error", "payload": {"message": str(refused)}}))
            await ws.close(4403, str(refused)[:120])
            return
    made = await make_context(context, ws.request, connection_params)
    queue = _Outbox()
    driver, starter = engine._driver()
    session = engine.engine().serve_websocket(protocol, queue.put, driver, starter, RequestContext(ws.request, made, connection_params))

    async def receive() -> None:
        try:
            if session.feed(first):
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
