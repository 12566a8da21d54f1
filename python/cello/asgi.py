"""Serving an ASGI 3 application under a prefix: ``app.mount`` (docs/asgi.md).

A mount is three HTTP routes (``/api``, ``/api/`` and ``/api/{*asgi_path}``) whose
handler turns the Cello request into an ASGI ``http`` scope, plus one Cello WebSocket
route per WebSocket endpoint of the mounted app (the router gives a path to HTTP or to
WebSocket, not both, so those paths are registered one by one). The app's lifespan
runs from the Cello startup and shutdown hooks, in each worker.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import re
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote

from cello._cello import Request
from cello.exceptions import BodyNotRead, HTTPException
from cello.responses import Response
from cello.streaming import StreamAborted, StreamingResponse
from cello.websocket import WebSocket, WebSocketDisconnect

if TYPE_CHECKING:
    from cello.app import App

__all__ = ["AsgiApp", "AsgiMixin", "ClientDisconnected"]

logger = logging.getLogger("cello.asgi")

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
#: An ASGI 3 application: ``async def app(scope, receive, send)``.
AsgiApp = Callable[[dict[str, Any], Receive, Send], Awaitable[None]]

#: Every method is handed to the mounted app; HEAD and OPTIONS too, so it answers
#: them itself (CORS preflights, HEAD headers) instead of Cello's automatic ones.
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
#: 2.4: ``send`` raises `ClientDisconnected` once the client has gone.
_ASGI = {"version": "3.0", "spec_version": "2.4"}
_LIFESPAN_ASGI = {"version": "3.0", "spec_version": "2.0"}
#: Response chunks the app may queue ahead of the client before ``send`` waits.
_QUEUED_CHUNKS = 4
_STARLETTE_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z_][A-Za-z0-9_]*))?\}")


class ClientDisconnected(OSError):
    """Raised by the ASGI ``send`` once the client has gone away (ASGI HTTP spec 2.4)."""


class AsgiMixin:
    """``App.mount``."""

    def mount(
        self,
        prefix: str,
        app: AsgiApp,
        *,
        name: str | None = None,
        websockets: Sequence[str] | None = None,
        subprotocols: Sequence[str] = (),
    ) -> None:
        """Serves the ASGI 3 application `app` (FastAPI, Starlette, any ASGI app) under
        `prefix`, for HTTP and WebSocket, with its lifespan run in each worker.

        ``/api`` answers ``/api``, ``/api/`` and everything below it. The app sees the
        full path in ``scope["path"]`` and the prefix in ``scope["root_path"]``, as
        behind Starlette's ``Mount``. Routes of the Cello app itself take precedence
        where their path has a fixed segment (``/api/health``); see docs/asgi.md.

        Args:
            prefix: where to mount, ``"/api"`` (no trailing slash) or ``"/"``.
            app: the ASGI application.
            name: the route name (defaults to ``"mount"``).
            websockets: accepted for compatibility and checked, but no longer needed:
                every WebSocket upgrade under `prefix` reaches the app, and every
                other request (a plain GET included) its HTTP side.
            subprotocols: WebSocket subprotocols the app speaks, in preference order
                (Cello negotiates them during the handshake).

        Example:
            >>> from cello import App
            >>> async def legacy(scope, receive, send):
            ...     await send({"type": "http.response.start", "status": 200})
            ...     await send({"type": "http.response.body", "body": b"hi"})
            >>> app = App()
            >>> app.mount("/legacy", legacy)
        """
        owner = cast("App", self)
        prefix = _check_prefix(prefix)
        if not callable(app):
            raise TypeError(f"mount({prefix!r}) needs an ASGI application (a callable), got {app!r}")
        if isinstance(subprotocols, str):
            raise TypeError(f"subprotocols must be a list such as [{subprotocols!r}], not a string")
        mounted = _Mount(prefix, app, _caller(), owner)
        route_name = name or "mount"
        base = "" if prefix == "/" else prefix
        if websockets is not None:  # validated, though no longer needed
            for relative in websockets:
                _socket_path(prefix, relative)
        paths = [base + "/"] if prefix == "/" else [base, base + "/"]
        paths.append(base + "/{*asgi_path}")
        # Each path has an HTTP route and a WebSocket route: an upgrade request anywhere
        # under the prefix goes to the app's websocket scope, anything else to http.
        serve_http = _http_endpoint(mounted)
        serve_websocket = _websocket_endpoint(mounted)
        for path in paths:
            owner.route(path, list(_METHODS), name=route_name, include_in_schema=False)(serve_http)
            owner.websocket(path, subprotocols=list(subprotocols), name=route_name)(serve_websocket)
        owner.on_event("startup")(mounted.startup)
        owner.on_event("shutdown")(mounted.shutdown)


def _check_prefix(prefix: str) -> str:
    if not isinstance(prefix, str):
        raise TypeError(f"the mount prefix must be a string such as '/api', got {prefix!r}")
    if prefix == "/":
        return prefix
    problem = None
    if not prefix.startswith("/"):
        problem = "must start with '/'"
    elif prefix.endswith("/"):
        problem = "must not end with '/' (it already answers both /api and /api/)"
    elif "//" in prefix:
        problem = "must not contain '//'"
    elif any(char in prefix for char in "{}*?#"):
        problem = "must be a fixed path: no parameters, '*', '?' or '#'"
    if problem is not None:
        raise ValueError(f"mount prefix {prefix!r} {problem}; write it like '/api'")
    return prefix


def _socket_path(prefix: str, relative: str) -> str:
    """The Cello pattern of a WebSocket path given relative to the mount (``""`` is the
    prefix itself, ``"/"`` the prefix with its slash)."""
    if not isinstance(relative, str) or (relative and not relative.startswith("/")):
        raise ValueError(
            f"mount({prefix!r}): WebSocket path {relative!r} must be relative to the prefix "
            "and start with '/' (or be '' for the prefix itself)"
        )
    if prefix == "/":
        return relative or "/"
    return prefix + relative


def _caller() -> str:
    """``file.py:12`` of the ``app.mount(...)`` call, for route conflict messages."""
    frame = inspect.currentframe()
    outer = frame.f_back.f_back if frame is not None and frame.f_back is not None else None
    if outer is None:
        return "?"
    return f"{outer.f_code.co_filename.rsplit('/', 1)[-1]}:{outer.f_lineno}"


class _Mount:
    """One mounted app: its scopes, its lifespan, and the request tasks that outlive
    their response (Starlette's background tasks run after the body is sent)."""

    def __init__(self, prefix: str, app: AsgiApp, where: str, owner: App) -> None:
        self.app = app
        self.owner = owner
        self.root_path = "" if prefix == "/" else prefix
        label = getattr(app, "__name__", None) or type(app).__name__
        self.label = f"mount({prefix!r}, {label}) ({where})"
        self.state: dict[str, Any] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.lifespan: _Lifespan | None = None

    def scope(self, kind: str, request: Request, scheme: str) -> dict[str, Any]:
        raw_path = request.path
        headers = [
            (name.encode("latin-1"), value.encode("utf-8"))
            for name, value in request.headers.items()
        ]
        if not any(name == b"host" for name, _ in headers):
            # HTTP/2 carries the host in :authority, which the spec asks to add back.
            authority = request.url.split("/", 3)[2]
            headers.insert(0, (b"host", authority.encode("utf-8")))
        client = request.client
        return {
            "type": kind,
            "asgi": dict(_ASGI),
            "http_version": request.http_version,
            "scheme": scheme,
            "path": unquote(raw_path),
            "raw_path": raw_path.encode("ascii", "replace"),
            "query_string": request.query_string.encode("ascii", "replace"),
            "root_path": self.root_path,
            "headers": headers,
            "client": None if client is None else (client.host, client.port),
            "server": None,
            "state": dict(self.state),
        }

    def track(self, task: asyncio.Task[None]) -> None:
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def startup(self) -> None:
        self.state = {}
        self.lifespan = _Lifespan(self)
        await self.lifespan.startup()

    async def shutdown(self) -> None:
        config = self.owner._server_config
        timeout = 30.0 if config is None else config.shutdown_timeout
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=timeout)
        if self.lifespan is not None:
            await self.lifespan.shutdown(timeout)
            self.lifespan = None


class _Lifespan:
    """The ASGI lifespan protocol, driven from Cello's startup and shutdown hooks."""

    def __init__(self, mount: _Mount) -> None:
        self.mount = mount
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.replies: asyncio.Queue[Message | None] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None
        #: The app answered lifespan.startup (complete or failed).
        self.answered = False
        self.started = False

    async def startup(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._main())
        await self.inbox.put({"type": "lifespan.startup"})
        reply = await self.replies.get()
        if reply is None:
            self.task = None  # no lifespan support: serve the app without one
            return
        if reply["type"] == "lifespan.startup.failed":
            raise RuntimeError(
                f"{self.mount.label} failed to start: {reply.get('message') or 'no message'}"
            )
        self.started = True

    async def shutdown(self, timeout: float) -> None:
        if self.task is None:
            return
        await self.inbox.put({"type": "lifespan.shutdown"})
        reply = await self.replies.get()
        if reply is not None and reply["type"] == "lifespan.shutdown.failed":
            logger.error("%s failed to shut down: %s", self.mount.label, reply.get("message"))
        await asyncio.wait({self.task}, timeout=timeout)

    async def _send(self, message: Message) -> None:
        expected = (
            ("lifespan.shutdown.complete", "lifespan.shutdown.failed")
            if self.answered
            else ("lifespan.startup.complete", "lifespan.startup.failed")
        )
        if message.get("type") not in expected:
            raise RuntimeError(
                f"unexpected lifespan message {message.get('type')!r}; expected one of {expected}"
            )
        self.answered = True
        await self.replies.put(message)

    async def _main(self) -> None:
        scope = {"type": "lifespan", "asgi": dict(_LIFESPAN_ASGI), "state": self.mount.state}
        try:
            await self.mount.app(scope, self.inbox.get, self._send)
        except Exception as error:  # the spec: an app may refuse lifespan
            if not self.answered:
                logger.info(
                    "%s does not support the ASGI lifespan protocol (%r); serving it without",
                    self.mount.label, error,
                )
            elif self.started:
                logger.exception("%s failed in its lifespan", self.mount.label)
            # else: it reported lifespan.startup.failed, whose message startup() raised
        finally:
            await self.replies.put(None)


def _http_endpoint(mount: _Mount) -> Callable[[Request], Awaitable[Response]]:
    """The handler of a mount's HTTP routes."""

    async def serve(request: Request) -> Response:
        return await _HttpExchange(mount, request).run()

    _name_after(serve, mount)
    return serve


def _name_after(handler: Callable[..., Any], mount: _Mount) -> None:
    # Route conflicts and logs name the handler: make that the mount call.
    handler.__module__ = "cello.asgi"
    handler.__qualname__ = handler.__name__ = mount.label


def _response_headers(raw: Iterable[Any]) -> list[tuple[str, str]]:
    headers = []
    for name, value in raw:
        key = bytes(name).decode("latin-1").lower()
        if key == "transfer-encoding":
            continue  # the spec: servers frame the body themselves
        try:
            text = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            text = bytes(value).decode("latin-1")
        headers.append((key, text))
    return headers


class _HttpExchange:
    """One request through the mounted app: ``receive`` and ``send`` on one side, the
    `Response` (or `StreamingResponse`) handed back to Cello on the other."""

    def __init__(self, mount: _Mount, request: Request) -> None:
        self.mount = mount
        self.request = request
        self.response: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self.status: int | None = None
        self.headers: list[tuple[str, str]] = []
        self.body_stream: AsyncIterator[bytes] | None = None
        self.request_done = False
        #: An over-limit or timed-out request body: it answers instead of the app.
        self.body_error: HTTPException | None = None
        #: The response is complete, or the client has gone: receive() → http.disconnect.
        self.finished = asyncio.Event()
        self.complete = False
        self.streaming = False
        self.chunks: deque[bytes] = deque()
        self.readable = asyncio.Event()
        self.writable = asyncio.Event()
        self.ended = False
        self.closed = False

    async def run(self) -> Response:
        scope = self.mount.scope("http", self.request, self.request.scheme)
        scope["method"] = self.request.method
        task = asyncio.get_running_loop().create_task(self._call(scope))
        self.mount.track(task)
        try:
            return await self.response
        except asyncio.CancelledError:
            task.cancel()
            raise

    async def _call(self, scope: dict[str, Any]) -> None:
        try:
            await self.mount.app(scope, self.receive, self.send)
        except asyncio.CancelledError:
            if not self.response.done():
                self.response.cancel()
            raise
        except Exception as error:  # reported to Cello or logged, never lost
            if not self.response.done():
                self.response.set_exception(self.body_error or error)
            elif not self.closed:
                # Starlette answers its own 500 first and raises afterwards (so the
                # server logs it); a failure mid-stream ends the body here.
                logger.error(
                    "%s raised after its response started (%s %s)",
                    self.mount.label, self.request.method, self.request.path,
                    exc_info=(type(error), error, error.__traceback__),
                )
        else:
            if not self.response.done():
                self.response.set_exception(
                    self.body_error
                    or RuntimeError(f"{self.mount.label} returned without sending a response")
                )
        finally:
            self.ended = True
            self.readable.set()

    async def receive(self) -> Message:
        if not self.request_done:
            if self.body_stream is None:
                try:
                    body = self.request.body()
                except BodyNotRead:  # larger than the buffer: read it as it arrives
                    self.body_stream = self.request.stream()
                else:
                    self.request_done = True
                    return {"type": "http.request", "body": body, "more_body": False}
            try:
                chunk = await anext(self.body_stream, None)
            except HTTPException as error:  # too large, or too slow: Cello answers it
                self.body_error = error
                self.request_done = True
                self.finished.set()
                return {"type": "http.disconnect"}
            if chunk is not None:
                return {"type": "http.request", "body": chunk, "more_body": True}
            self.request_done = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.finished.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        kind = message.get("type")
        if self.complete or kind == "http.response.trailers":
            return  # the spec: messages after the last body are ignored
        if self.closed:
            raise ClientDisconnected(f"the client of {self.request.method} {self.request.path} has gone")
        if kind == "http.response.start":
            if self.status is not None:
                raise RuntimeError("http.response.start was sent twice")
            self.status = int(message["status"])
            self.headers = _response_headers(message.get("headers") or ())
            return
        if kind != "http.response.body":
            raise RuntimeError(f"unexpected ASGI message {kind!r} for an HTTP request")
        if self.status is None:
            raise RuntimeError("http.response.body was sent before http.response.start")
        body = bytes(message.get("body") or b"")
        more = bool(message.get("more_body", False))
        if not self.streaming:
            if not more:
                self.complete = True
                self.finished.set()
                response = Response(None, self.status)
                response.body = body
                response.raw_headers = self.headers
                self._answer(response)
                return
            self.streaming = True
            stream = StreamingResponse(self._chunks(), self.status)
            stream.raw_headers = self.headers
            self._answer(stream)
        if body:
            await self._push(body)
        if not more:
            self.complete = True
            self.ended = True
            self.readable.set()

    def _answer(self, response: Response) -> None:
        if self.response.done():
            return
        if self.body_error is not None:
            self.closed = True
            self.response.set_exception(self.body_error)
        else:
            self.response.set_result(response)

    async def _push(self, chunk: bytes) -> None:
        """Queues a chunk for the client, waiting while it is slow (backpressure)."""
        while len(self.chunks) >= _QUEUED_CHUNKS and not self.closed:
            self.writable.clear()
            await self.writable.wait()
        if self.closed:
            raise ClientDisconnected(f"the client of {self.request.method} {self.request.path} has gone")
        self.chunks.append(chunk)
        self.readable.set()

    async def _chunks(self) -> AsyncIterator[bytes]:
        """The streamed body; Cello cancels it when the client goes away."""
        try:
            while True:
                while not self.chunks and not self.ended:
                    self.readable.clear()
                    await self.readable.wait()
                if not self.chunks:
                    if self.complete:
                        return
                    # The app failed (logged by _call) or returned mid-stream: cut the
                    # response off rather than end it as if it were whole.
                    raise StreamAborted(f"{self.mount.label} ended its response early")
                chunk = self.chunks.popleft()
                self.writable.set()
                yield chunk
        finally:
            self.closed = True
            self.writable.set()
            self.finished.set()


def _websocket_endpoint(mount: _Mount) -> Callable[[WebSocket], Awaitable[None]]:
    """The handler of a mount's WebSocket routes. Cello has completed the handshake
    when it runs, so ``websocket.connect`` is answered at once (docs/asgi.md)."""

    async def serve(ws: WebSocket) -> None:
        request = ws.request
        scope = mount.scope("websocket", request, "wss" if request.scheme == "https" else "ws")
        offered = request.headers.get("sec-websocket-protocol") or ""
        scope["subprotocols"] = [p.strip() for p in offered.split(",") if p.strip()]
        session = _WebSocketSession(ws)
        try:
            await mount.app(scope, session.receive, session.send)
        except Exception:
            if session.disconnected is None:
                raise  # Cello logs it and closes with 1011
            logger.debug("%s raised after its client disconnected", mount.label, exc_info=True)

    _name_after(serve, mount)
    return serve


class _WebSocketSession:
    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.connected = False
        self.accepted = False
        #: ``(code, reason)`` once either side has closed.
        self.disconnected: tuple[int, str] | None = None

    async def receive(self) -> Message:
        if not self.connected:
            self.connected = True
            return {"type": "websocket.connect"}
        if self.disconnected is None:
            try:
                data = await self.ws.receive()
            except WebSocketDisconnect as error:
                self.disconnected = (error.code, error.reason)
            else:
                if isinstance(data, str):
                    return {"type": "websocket.receive", "text": data}
                return {"type": "websocket.receive", "bytes": data}
        code, reason = self.disconnected
        return {"type": "websocket.disconnect", "code": code, "reason": reason}

    async def send(self, message: Message) -> None:
        kind = message.get("type")
        if self.disconnected is not None:
            if kind == "websocket.close":
                return  # closing twice, or after the client left: nothing to do
            raise ClientDisconnected(f"the WebSocket closed with {self.disconnected[0]}")
        if kind == "websocket.accept":
            self.accepted = True
            return
        if kind == "websocket.close":
            code, reason = int(message.get("code") or 1000), message.get("reason") or ""
            if not isinstance(reason, str):
                # FastAPI closes a socket that failed validation with its error list.
                reason = json.dumps(reason, default=str)
            # A close reason is at most 123 bytes of UTF-8 (RFC 6455 §5.5).
            reason = reason.encode()[:123].decode("utf-8", "ignore")
            self.disconnected = (code, reason)
            await self.ws.close(code, reason)
            return
        if kind != "websocket.send":
            raise RuntimeError(f"unexpected ASGI message {kind!r} for a WebSocket")
        if not self.accepted:
            raise RuntimeError("websocket.send before websocket.accept")
        payload = message.get("bytes")
        try:
            if payload is not None:
                await self.ws.send(bytes(payload))
            else:
                await self.ws.send(str(message.get("text") or ""))
        except WebSocketDisconnect as error:
            self.disconnected = (error.code, error.reason)
            raise ClientDisconnected(f"the WebSocket closed with {error.code}") from error
