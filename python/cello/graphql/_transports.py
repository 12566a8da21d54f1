"""The streaming transports of the GraphQL endpoint: WebSocket (``graphql-transport-ws``
and the legacy ``graphql-ws``) and Server-Sent Events (graphql-sse's distinct
connections mode). The protocols run in Rust (`cello._cello.GraphQLStream`); this module
only carries messages between the engine and Cello's WebSocket and streaming responses.
"""

from __future__ import annotations

import asyncio
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
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()
    driver, starter = engine._driver()
    body = request.body() if request.method == "POST" else b""
    started = engine.engine().serve_sse(queue.put_nowait, driver, starter, request.method, request.headers.get("content-type"), request.query_string, body, RequestContext(request, made))
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
    queue: asyncio.Queue[tuple[Any, ...] | None] = asyncio.Queue()
    driver, starter = engine._driver()
    session = engine.engine().serve_websocket(protocol, queue.put_nowait, driver, starter, RequestContext(ws.request, made))

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
