"""`TestClient`: requests through the real Rust engine, with no socket.

Example:
    >>> from cello import App
    >>> from cello.testing import TestClient
    >>> app = App()
    >>> @app.get("/users/{id}")
    ... def get_user(request):
    ...     return {"id": request.params["id"]}
    >>> with TestClient(app) as client:
    ...     client.get("/users/1").json()
    {'id': '1'}
"""

from __future__ import annotations

import asyncio
import base64
import json as jsonlib
import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import quote, urlencode, urlsplit

from cello import background
from cello._features import require_feature
from cello._loop import CelloEventLoop, task_starter
from cello.config import ServerConfig, TlsConfig
from cello.messaging.testing import TestBroker
from cello.websocket import WebSocket, WebSocketDisconnect

if TYPE_CHECKING:
    from cello.app import App

__all__ = ["LiveServer", "TestBroker", "TestClient", "TestResponse", "WebSocketRejected", "WebSocketTestSession"]


class TestResponse:
    """What the app answered."""

    __test__ = False  # not a pytest test class

    def __init__(self, status_code: int, headers: list[tuple[str, str]], content: bytes) -> None:
        self.status_code = status_code
        self.raw_headers = headers
        self.headers = _ResponseHeaders(headers)
        self.content = content

    @property
    def text(self) -> str:
        """The body decoded as UTF-8."""
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON."""
        return jsonlib.loads(self.content)

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    def __repr__(self) -> str:
        return f"<TestResponse [{self.status_code}]>"


class _ResponseHeaders:
    """Case-insensitive, multi-valued response headers."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = [(name.lower(), value) for name, value in pairs]

    def __getitem__(self, name: str) -> str:
        for header, value in self._pairs:
            if header == name.lower():
                return value
        raise KeyError(name)

    def get(self, name: str, default: str | None = None) -> str | None:
        try:
            return self[name]
        except KeyError:
            return default

    def get_list(self, name: str) -> list[str]:
        return [v for h, v in self._pairs if h == name.lower()]

    getlist = get_list

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(h == name.lower() for h, _ in self._pairs)

    def items(self) -> list[tuple[str, str]]:
        return list(self._pairs)

    def __repr__(self) -> str:
        return f"Headers({self._pairs!r})"


class TestClient:
    """Drives an app in-process through the same routing, dispatch and response code
    as a real server (only the socket is missing). Startup and shutdown hooks run on
    ``with`` entry and exit (or on the first request and `close`)."""

    __test__ = False

    def __init__(
        self,
        app: App,
        base_url: str = "http://testserver",
        config: ServerConfig | None = None,
    ) -> None:
        self.app = app
        self.base_url = base_url
        self.config = config or ServerConfig()
        self._loop: CelloEventLoop | None = None
        self._engine: Any = None
        self.cookies: dict[str, str] = {}

    def __enter__(self) -> Self:
        self._start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _start(self) -> None:
        if self._loop is not None:
            return
        loop = CelloEventLoop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        loop.run_until_complete(self.app._run_hooks("startup"))
        self._engine = self.app._engine(loop.driver, task_starter(loop), self.config, False)

    def close(self) -> None:
        """Runs the shutdown hooks and closes the loop."""
        loop = self._loop
        if loop is None:
            return
        try:
            loop.run_until_complete(background.drain(self.config.shutdown_timeout))
            loop.run_until_complete(self.app._run_hooks("shutdown"))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()
            asyncio.set_event_loop(None)
            self._loop = None
            self._engine = None

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        content: bytes | str | None = None,
        cookies: Mapping[str, str] | None = None,
    ) -> TestResponse:
        """Sends one request; `json`, `data` (form) and `content` set the body."""
        response, _ = self._send(
            method, url, params=params, headers=headers, json=json, data=data, content=content, cookies=cookies
        )
        return response

    def _send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        content: bytes | str | None = None,
        cookies: Mapping[str, str] | None = None,
    ) -> tuple[TestResponse, Any]:
        self._start()
        assert self._loop is not None
        parts = urlsplit(url)
        path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=~")
        query = parts.query
        if params:
            extra = urlencode(params, doseq=True)
            query = f"{query}&{extra}" if query else extra
        target = f"{path}?{query}" if query else path
        host = urlsplit(self.base_url).netloc or "testserver"
        header_list: list[tuple[str, str]] = [("host", host)]
        body = b""
        if json is not None:
            body = jsonlib.dumps(json).encode()
            header_list.append(("content-type", "application/json"))
        elif data is not None:
            body = urlencode(data, doseq=True).encode()
            header_list.append(("content-type", "application/x-www-form-urlencoded"))
        elif content is not None:
            body = content.encode() if isinstance(content, str) else bytes(content)
        if body:
            header_list.append(("content-length", str(len(body))))
        jar = {**self.cookies, **(cookies or {})}
        if jar:
            header_list.append(("cookie", "; ".join(f"{k}={v}" for k, v in jar.items())))
        for name, value in (headers or {}).items():
            header_list = [(h, v) for h, v in header_list if h != name.lower()]
            header_list.append((name.lower(), value))
        future = self._engine.request(self._loop.driver, method.upper(), target, header_list, body)
        status, response_headers, response_body, peer = self._loop.run_until_complete(future)
        return TestResponse(status, response_headers, response_body), peer

    def websocket_connect(
        self,
        url: str,
        *,
        subprotocols: list[str] | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        cookies: Mapping[str, str] | None = None,
    ) -> WebSocketTestSession:
        """Opens a WebSocket to the app in-process, through the same handshake
        (guards, subprotocols) and handler as a real connection, without frames::

            with client.websocket_connect("/ws") as ws:
                ws.send_text("hello")
                assert ws.receive_text() == "Echo: hello"

        Raises `WebSocketRejected` (with the response) if the handshake is refused.
        """
        handshake = {
            "upgrade": "websocket",
            "connection": "upgrade",
            "sec-websocket-key": base64.b64encode(os.urandom(16)).decode(),
            "sec-websocket-version": "13",
        }
        if subprotocols:
            handshake["sec-websocket-protocol"] = ", ".join(subprotocols)
        response, peer = self._send(
            "GET", url, params=params, headers={**handshake, **(headers or {})}, cookies=cookies
        )
        if peer is None:
            raise WebSocketRejected(response)
        assert self._loop is not None
        return WebSocketTestSession(self._loop, peer, response)

    def get(self, url: str, **kwargs: Any) -> TestResponse:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> TestResponse:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> TestResponse:
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> TestResponse:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> TestResponse:
        return self.request("DELETE", url, **kwargs)

    def head(self, url: str, **kwargs: Any) -> TestResponse:
        return self.request("HEAD", url, **kwargs)

    def options(self, url: str, **kwargs: Any) -> TestResponse:
        return self.request("OPTIONS", url, **kwargs)


class WebSocketRejected(Exception):
    """The app refused a `TestClient.websocket_connect` handshake; `response` is its
    answer (403 from a guard, 404, 426...)."""

    def __init__(self, response: TestResponse) -> None:
        super().__init__(f"WebSocket handshake refused: {response.status_code} {response.text}")
        self.response = response


class WebSocketTestSession:
    """The client's end of an in-process WebSocket (`TestClient.websocket_connect`).

    Each call runs the event loop until it completes, so the handler runs in between.
    `receive*` raises `cello.WebSocketDisconnect` once the handler has closed.
    """

    __test__ = False

    def __init__(self, loop: CelloEventLoop, channel: Any, response: TestResponse) -> None:
        self._loop = loop
        self._socket = WebSocket(channel)
        self.response = response
        self.subprotocol: str | None = channel.subprotocol
        self._closed = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _run(self, awaitable: Any) -> Any:
        return self._loop.run_until_complete(awaitable)

    def send(self, data: Any) -> None:
        """``str`` as a text message, ``bytes`` as binary, anything else as JSON text."""
        self._run(self._socket.send(data))

    def send_text(self, text: str) -> None:
        self._run(self._socket.send_text(text))

    def send_bytes(self, data: bytes) -> None:
        self._run(self._socket.send_bytes(data))

    def send_json(self, data: Any) -> None:
        self._run(self._socket.send_json(data))

    def receive(self) -> str | bytes:
        """The handler's next message (``str`` or ``bytes``)."""
        result: str | bytes = self._run(self._socket.receive())
        return result

    def receive_text(self) -> str:
        result: str = self._run(self._socket.receive_text())
        return result

    def receive_bytes(self) -> bytes:
        result: bytes = self._run(self._socket.receive_bytes())
        return result

    def receive_json(self) -> Any:
        return self._run(self._socket.receive_json())

    @property
    def close_code(self) -> int | None:
        """The handler's close code once it has closed, else ``None``."""
        return self._socket.closed[0] if self._socket.closed else None

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Closes from the client side and lets the handler finish (up to 5 s)."""
        if self._closed:
            return
        self._closed = True
        if self._socket.closed is None:
            self._run(self._socket.close(code, reason))

            async def drain() -> None:
                try:
                    while True:
                        await self._socket.receive()
                except WebSocketDisconnect:
                    return

            self._run(asyncio.wait_for(drain(), 5))


class LiveServer:
    """Serves `app` on a real socket from a background thread, for tests that need a
    real HTTP client. Binds port 0 and reports the port it got.

    Example:
        >>> import httpx
        >>> from cello import App
        >>> from cello.testing import LiveServer
        >>> app = App()
        >>> @app.get("/")
        ... def index(request):
        ...     return {"ok": True}
        >>> with LiveServer(app) as server:
        ...     httpx.get(server.url + "/").json()
        {'ok': True}
    """

    __test__ = False

    def __init__(
        self,
        app: App,
        host: str = "127.0.0.1",
        port: int = 0,
        config: ServerConfig | None = None,
        access_log: bool = False,
        startup_timeout: float = 30.0,
        tls: TlsConfig | None = None,
        http3: bool = False,
    ) -> None:
        if http3:
            require_feature("http3", "LiveServer(http3=True)")
        self.app = app
        self.tls = tls
        self.http3 = http3
        self.host = host
        self.port = port
        self.config = config or ServerConfig()
        self.access_log = access_log
        self.startup_timeout = startup_timeout
        self._ready = threading.Event()
        self._server: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="cello-live-server", daemon=True)

    @property
    def url(self) -> str:
        """``http://host:port`` (``https`` with TLS) of the running server."""
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def _main(self) -> None:
        from cello.server import serve_worker

        def ready(server: Any) -> None:
            self._server = server
            self._loop = asyncio.get_event_loop()
            self.port = server.port
            self._ready.set()

        try:
            serve_worker(
                self.app,
                self.host,
                self.port,
                config=self.config,
                access_log=self.access_log,
                on_ready=ready,
                install_signals=False,
                tls=self.tls,
                http3=self.http3,
            )
        except BaseException as error:  # noqa: BLE001 - reported to the thread that started us
            self._error = error
            self._ready.set()
        finally:
            # The loop owns thread-bound native state: release it on this thread.
            self._loop = None

    def start(self) -> Self:
        """Starts serving; returns once the socket accepts connections."""
        self._thread.start()
        if not self._ready.wait(self.startup_timeout):
            raise TimeoutError(f"the server did not start within {self.startup_timeout} s")
        if self._error is not None:
            raise RuntimeError(f"the server failed to start: {self._error}") from self._error
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Graceful shutdown: in-flight requests finish, then the thread ends."""
        server = self._server
        if server is not None and self._thread.is_alive():
            server.shutdown()
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError("the server did not stop in time")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
