"""Streamed responses: any iterable or async iterable as the body, and Server-Sent Events.

The engine pulls chunks through a bounded queue: a slow client slows the producer
instead of growing memory, and a client that disconnects cancels the producer at once
(an async generator's ``finally`` runs; a sync generator is closed).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable, Iterable, Mapping
from typing import Any

from cello import _cello
from cello.responses import Response

logger = logging.getLogger("cello.streaming")

__all__ = ["ServerSentEvent", "SseStream", "StreamingResponse"]

_END = object()


class StreamingResponse(Response):
    """A response whose body comes from an iterable or async iterable of ``bytes`` or
    ``str`` chunks (Starlette's name and signature).

    Example:
        >>> from cello.streaming import StreamingResponse
        >>> async def numbers():
        ...     for n in range(3):
        ...         yield f"{n}\\n"
        >>> response = StreamingResponse(numbers(), media_type="text/plain")
    """

    __slots__ = ("keep_alive", "stream")

    def __init__(
        self,
        content: Iterable[Any] | AsyncIterable[Any],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: Any = None,
        *,
        status: int | None = None,
        content_type: str | None = None,
    ) -> None:
        if not (hasattr(content, "__aiter__") or hasattr(content, "__iter__")):
            raise TypeError(
                f"StreamingResponse needs an iterable or async iterable, got {type(content).__name__}"
            )
        if isinstance(content, (str, bytes)):
            raise TypeError("StreamingResponse needs an iterable of chunks; use Response for one body")
        super().__init__(
            None,
            status if status is not None else status_code,
            headers,
            content_type or media_type or "application/octet-stream",
            background=background,
        )
        self.stream: Any = content
        self.keep_alive: float | None = None

    def encode_chunk(self, item: Any) -> bytes:
        """How one yielded item becomes bytes on the wire."""
        if isinstance(item, bytes):
            return item
        if isinstance(item, str):
            return item.encode("utf-8")
        if isinstance(item, (bytearray, memoryview)):
            return bytes(item)
        raise TypeError(f"streamed chunks must be bytes or str, got {type(item).__name__}")


class ServerSentEvent:
    """One event with every SSE field: ``yield ServerSentEvent(data, event="tick")``."""

    __slots__ = ("comment", "data", "event", "id", "retry")

    def __init__(
        self,
        data: Any = None,
        event: str | None = None,
        id: str | int | None = None,
        retry: int | None = None,
        comment: str | None = None,
    ) -> None:
        self.data = data
        self.event = event
        self.id = id
        self.retry = retry
        self.comment = comment


def _field(name: str, value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError(f"SSE field {name!r} cannot contain a line break")
    return f"{name}: {value}\n"


def encode_event(item: Any) -> bytes:
    """An SSE frame: dicts (``event``, ``data``, ``id``, ``retry``), `ServerSentEvent`,
    or plain strings (sent as ``data``). Non-string ``data`` is JSON-encoded;
    multi-line data becomes several ``data:`` lines."""
    if isinstance(item, ServerSentEvent):
        fields: dict[str, Any] = {
            "event": item.event, "data": item.data, "id": item.id,
            "retry": item.retry, "comment": item.comment,
        }
    elif isinstance(item, Mapping):
        unknown = set(item) - {"event", "data", "id", "retry", "comment"}
        if unknown:
            raise ValueError(f"unknown SSE fields {sorted(unknown)}; use event, data, id, retry")
        fields = dict(item)
    elif isinstance(item, (str, bytes)):
        fields = {"data": item.decode() if isinstance(item, bytes) else item}
    else:
        fields = {"data": item}
    lines: list[str] = []
    comment = fields.get("comment")
    if comment is not None:
        lines.extend(f": {line}\n" for line in str(comment).splitlines() or [""])
    if fields.get("event") is not None:
        lines.append(_field("event", str(fields["event"])))
    if fields.get("id") is not None:
        lines.append(_field("id", str(fields["id"])))
    if fields.get("retry") is not None:
        lines.append(_field("retry", str(int(fields["retry"]))))
    data = fields.get("data")
    if data is not None:
        text = data if isinstance(data, str) else _cello.json_dumps(data).decode()
        lines.extend(f"data: {line}\n" for line in text.split("\n"))
    return ("".join(lines) + "\n").encode("utf-8")


class SseStream(StreamingResponse):
    """Server-Sent Events from a sync or async generator.

    Yield dicts with ``event``, ``data`` (JSON-encoded unless a string), ``id`` and
    ``retry``, or plain strings. A comment line keeps the connection alive when
    nothing was sent for `keep_alive` seconds. The client's ``Last-Event-ID`` header
    is ``request.headers.get("last-event-id")``.

    Example:
        >>> from cello import SseStream
        >>> async def ticks():
        ...     yield {"event": "tick", "data": {"n": 1}}
        >>> response = SseStream(ticks())
    """

    __slots__ = ()

    def __init__(
        self,
        content: Iterable[Any] | AsyncIterable[Any],
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        *,
        keep_alive: float | None = 15.0,
        background: Any = None,
    ) -> None:
        super().__init__(
            content, status, headers, "text/event-stream; charset=utf-8", background
        )
        self.headers["cache-control"] = "no-cache"
        self.headers["x-accel-buffering"] = "no"
        self.keep_alive = keep_alive

    def encode_chunk(self, item: Any) -> bytes:
        return encode_event(item)


async def _send(sink: _cello.BodySink, data: bytes) -> bool:
    """Queues `data`, waiting for room; False once the client has gone away."""
    loop = asyncio.get_running_loop()
    while True:
        sent = sink.try_send(data)
        if sent:
            return True
        if sent is None:
            return False
        room = loop.create_future()
        sink.wait_capacity(room)
        if not await room:
            return False


class StreamAborted(Exception):
    """Raised by a stream's iterator that has already reported its own failure: the
    response is cut off (as for any exception) without a second log line."""


async def _pump(response: StreamingResponse, sink: _cello.BodySink) -> None:
    source = response.stream
    failed = False
    try:
        if hasattr(source, "__aiter__"):
            async for item in source:
                if not await _send(sink, response.encode_chunk(item)):
                    return
        else:
            # Sync iterators run in the thread pool (as Starlette does): a slow one
            # must not stall the worker's loop.
            iterator = iter(source)
            loop = asyncio.get_running_loop()
            while True:
                item = await loop.run_in_executor(None, next, iterator, _END)
                if item is _END:
                    return
                if not await _send(sink, response.encode_chunk(item)):
                    return
    except StreamAborted:
        failed = True
    except Exception:
        # The status and part of the body are already out: all that is left is to make
        # sure the client cannot mistake the part for the whole.
        failed = True
        logger.exception("a streamed response's iterator failed; the response is cut off")
    finally:
        if failed:
            sink.abort()
        else:
            sink.finish()
        await _close(source)


async def _close(source: Any) -> None:
    close = getattr(source, "aclose", None)
    if close is not None:
        try:
            await close()
        except RuntimeError:
            pass  # already running (cancelled mid-step) or closed
        return
    close = getattr(source, "close", None)
    if close is not None:
        try:
            close()
        except ValueError:
            pass  # "generator already executing" in the thread pool


def start(response: StreamingResponse, sink: _cello.BodySink) -> asyncio.Task[None]:
    """Called by the engine: starts pumping `response`'s iterator into `sink`."""
    return asyncio.get_event_loop().create_task(_pump(response, sink))
