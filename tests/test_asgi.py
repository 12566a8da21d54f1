"""`app.mount(prefix, asgi_app)`: a real FastAPI app (and raw ASGI callables) served by
Cello over a real socket: HTTP, streaming both ways, WebSocket, lifespan, errors."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import websockets
from cello import App, RouteConflictError
from cello.testing import LiveServer, TestClient
from support.processes import PROCESS_TIMEOUT, wait_until

fastapi = pytest.importorskip("fastapi")
from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel

Live = Callable[..., LiveServer]


class Item(BaseModel):
    name: str
    price: float
    tags: list[str] = []


def make_api(events: list[str] | None = None) -> FastAPI:
    """A FastAPI app with a lifespan, the way a project to migrate would have one."""
    log = events if events is not None else []

    @contextlib.asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[dict[str, Any]]:
        log.append("startup")
        yield {"db": "connected"}
        log.append("shutdown")

    api = FastAPI(lifespan=lifespan)
    released = asyncio.Event()

    @api.get("/items/{item_id}")
    async def read_item(item_id: int, request: Request, q: str | None = None) -> dict[str, Any]:
        return {
            "item_id": item_id,
            "q": q,
            "url_path": request.url.path,
            "root_path": request.scope["root_path"],
            "db": request.state.db,
        }

    @api.api_route("/ping", methods=["GET", "HEAD"])
    async def ping() -> dict[str, str]:
        return {"pong": "yes"}

    @api.post("/items", status_code=201)
    def create_item(item: Item) -> Item:
        return item

    @api.get("/headers")
    async def headers(request: Request) -> JSONResponse:
        response = JSONResponse(
            {"token": request.headers.get("x-token"), "session": request.cookies.get("session")},
            status_code=202,
            headers={"x-served-by": "fastapi"},
        )
        response.set_cookie("first", "1")
        response.set_cookie("second", "2", httponly=True)
        return response

    @api.post("/upload")
    async def upload(request: Request) -> dict[str, Any]:
        body = await request.body()
        return {"size": len(body), "sha256": hashlib.sha256(body).hexdigest()}

    @api.get("/stream")
    async def stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"first\n"
            # The rest waits for another request: only a response that is streamed,
            # not buffered, lets the client read "first" before that request is made.
            await released.wait()
            for n in range(3):
                yield f"line {n}\n".encode()

        return StreamingResponse(chunks(), media_type="text/plain")

    @api.post("/release")
    async def release() -> dict[str, bool]:
        released.set()
        return {"released": True}

    @api.get("/boom")
    async def boom() -> None:
        raise ValueError("boom inside FastAPI")

    @api.websocket("/ws/{room}")
    async def chat(websocket: WebSocket, room: str) -> None:
        await websocket.accept()
        try:
            while True:
                message = await websocket.receive()
                if message.get("text") == "bye":
                    await websocket.close(code=4000, reason="bye")
                    return
                if message.get("text") is not None:
                    await websocket.send_text(f"{room}: {message['text']}")
                elif message.get("bytes") is not None:
                    await websocket.send_bytes(message["bytes"][::-1])
                else:
                    return  # websocket.disconnect
        except WebSocketDisconnect:
            log.append("ws disconnected")

    return api


@pytest.fixture
def served(live: Live) -> tuple[str, list[str]]:
    """A Cello app with its own routes and a FastAPI app mounted at /api."""
    events: list[str] = []
    app = App()
    app.mount("/api", make_api(events))

    @app.get("/")
    def index(request):
        return {"served_by": "cello"}

    @app.get("/api/health")
    def health(request):
        return {"status": "ok", "served_by": "cello"}

    return live(app).url, events


def test_get_with_path_params_query_and_root_path(served: tuple[str, list[str]]) -> None:
    url, _ = served
    response = httpx.get(url + "/api/items/3", params={"q": "x y"})
    assert response.status_code == 200
    assert response.json() == {
        "item_id": 3,
        "q": "x y",
        "url_path": "/api/items/3",
        "root_path": "/api",
        "db": "connected",
    }
    # FastAPI's own path converter answers, not Cello's router.
    assert httpx.get(url + "/api/items/three").status_code == 422


def test_post_json_through_a_pydantic_model_and_validation_errors(
    served: tuple[str, list[str]],
) -> None:
    url, _ = served
    created = httpx.post(url + "/api/items", json={"name": "pen", "price": 1.5, "tags": ["a"]})
    assert created.status_code == 201
    assert created.json() == {"name": "pen", "price": 1.5, "tags": ["a"]}
    invalid = httpx.post(url + "/api/items", json={"name": "pen"})
    assert invalid.status_code == 422
    assert invalid.json()["detail"][0]["loc"] == ["body", "price"]


def test_headers_status_and_cookies_round_trip(served: tuple[str, list[str]]) -> None:
    url, _ = served
    response = httpx.get(
        url + "/api/headers", headers={"X-Token": "secret", "Cookie": "session=abc"}
    )
    assert response.status_code == 202
    assert response.json() == {"token": "secret", "session": "abc"}
    assert response.headers["x-served-by"] == "fastapi"
    cookies = response.headers.get_list("set-cookie")
    assert len(cookies) == 2
    assert cookies[0].startswith("first=1") and cookies[1].startswith("second=2")
    assert "HttpOnly" in cookies[1]


def test_head_and_options_reach_the_mounted_app(served: tuple[str, list[str]]) -> None:
    url, _ = served
    head = httpx.head(url + "/api/ping")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(b'{"pong":"yes"}'))
    # FastAPI's GET routes do not answer HEAD, under uvicorn either: its 405, as there.
    assert httpx.head(url + "/api/items/3").status_code == 405
    # No OPTIONS route in the app: its 405, not Cello's automatic 204.
    assert httpx.options(url + "/api/items/3").status_code == 405


def test_streaming_response_arrives_in_chunks(served: tuple[str, list[str]]) -> None:
    url, _ = served
    with (
        httpx.Client(base_url=url, timeout=10) as client,
        client.stream("GET", "/api/stream") as response,
    ):
        assert response.status_code == 200
        assert "content-length" not in response.headers
        chunks = response.iter_raw()
        assert next(chunks) == b"first\n"
        with httpx.Client(base_url=url, timeout=10) as other:
            assert other.post("/api/release").json() == {"released": True}
        rest = b"".join(chunks)
    assert rest == b"line 0\nline 1\nline 2\n"


def test_large_request_body_arrives_intact(served: tuple[str, list[str]]) -> None:
    url, _ = served
    body = os.urandom(5 * 1024 * 1024)
    response = httpx.post(url + "/api/upload", content=body, timeout=30)
    assert response.status_code == 200
    assert response.json() == {"size": len(body), "sha256": hashlib.sha256(body).hexdigest()}


def test_large_request_body_reaches_the_app_in_chunks(live: Live) -> None:
    seen: list[tuple[int, bool]] = []

    async def counter(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while True:
            message = await receive()
            seen.append((len(message["body"]), message["more_body"]))
            if not message["more_body"]:
                break
        total = sum(size for size, _ in seen)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(total).encode()})

    app = App()
    app.mount("/count", counter)
    url = live(app).url
    assert httpx.post(url + "/count/", content=b"z" * (3 * 1024 * 1024), timeout=30).text == str(
        3 * 1024 * 1024
    )
    assert len(seen) > 1, "a body above the buffer size should be streamed, not buffered"
    assert seen[-1][1] is False
    seen.clear()
    assert httpx.post(url + "/count/", content=b"small").text == "5"
    assert seen == [(5, False)]


def test_websocket_echo_through_fastapi(served: tuple[str, list[str]]) -> None:
    url, _ = served

    async def talk() -> tuple[Any, ...]:
        async with websockets.connect(url.replace("http", "ws") + "/api/ws/lobby") as ws:
            await ws.send("hello")
            text = await ws.recv()
            await ws.send(b"\x01\x02\x03")
            data = await ws.recv()
            await ws.send("bye")
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None
            return text, data, closed.value.rcvd.code, closed.value.rcvd.reason

    assert asyncio.run(talk()) == ("lobby: hello", b"\x03\x02\x01", 4000, "bye")


def test_websocket_client_close_reaches_the_app(live: Live) -> None:
    codes: list[int] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "websocket"
        assert scope["path"] == "/raw/socket" and scope["root_path"] == "/raw"
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                codes.append(message["code"])
                return
            await send({"type": "websocket.send", "text": message.get("text")})

    cello = App()
    cello.mount("/raw", app, websockets=["/socket"])
    url = live(cello).url

    async def talk() -> str:
        async with websockets.connect(url.replace("http", "ws") + "/raw/socket") as ws:
            await ws.send("ping")
            reply = await ws.recv()
            await ws.close(code=4002)
            return str(reply)

    assert asyncio.run(talk()) == "ping"
    wait_until(lambda: codes, PROCESS_TIMEOUT, "the app to see the disconnect")
    assert codes == [4002]


def test_lifespan_state_is_in_requests_and_shutdown_runs() -> None:
    events: list[str] = []
    app = App()
    app.mount("/api", make_api(events))
    with LiveServer(app) as server:
        assert events == ["startup"]
        assert httpx.get(server.url + "/api/items/1").json()["db"] == "connected"
    assert events == ["startup", "shutdown"]


def test_lifespan_startup_failure_aborts_startup() -> None:
    @contextlib.asynccontextmanager
    async def broken(api: FastAPI) -> AsyncIterator[None]:
        raise RuntimeError("database unreachable")
        yield

    app = App()
    app.mount("/api", FastAPI(lifespan=broken))
    with pytest.raises(RuntimeError, match="database unreachable") as failure:
        LiveServer(app).start()
    assert "mount('/api', FastAPI)" in str(failure.value)


def test_app_without_lifespan_support_is_served(live: Live) -> None:
    async def plain(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http", "this app only speaks HTTP"
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"plain"})

    app = App()
    app.mount("/plain", plain)
    assert httpx.get(live(app).url + "/plain/x").text == "plain"


def test_scope_follows_the_asgi_spec(live: Live) -> None:
    scopes: list[dict[str, Any]] = []

    async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            message = await receive()
            scope["state"]["started"] = message["type"]
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        scopes.append(scope)
        body = repr((scope["path"], scope["raw_path"], scope["root_path"])).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": body})

    app = App()
    app.mount("/api", echo)
    url = live(app).url
    assert httpx.get(url + "/api").text == repr(("/api", b"/api", "/api"))
    assert httpx.get(url + "/api/").text == repr(("/api/", b"/api/", "/api"))
    assert httpx.get(url + "/api/a%20b/c?x=1&y=%20").text == repr(
        ("/api/a b/c", b"/api/a%20b/c", "/api")
    )
    scope = scopes[-1]
    assert scope["type"] == "http"
    assert scope["asgi"] == {"version": "3.0", "spec_version": "2.4"}
    assert scope["http_version"] == "1.1" and scope["method"] == "GET"
    assert scope["scheme"] == "http"
    assert scope["query_string"] == b"x=1&y=%20"
    assert all(isinstance(n, bytes) and n == n.lower() and isinstance(v, bytes)
               for n, v in scope["headers"])
    assert (b"host", url.split("//")[1].encode()) in scope["headers"]
    assert scope["client"][0] == "127.0.0.1" and isinstance(scope["client"][1], int)
    assert scope["state"] == {"started": "lifespan.startup"}
    # Each request gets a copy of the lifespan state.
    scope["state"]["leaked"] = True
    httpx.get(url + "/api/again")
    assert "leaked" not in scopes[-1]["state"]


def test_exception_before_the_response_is_a_500_and_the_worker_carries_on(live: Live) -> None:
    async def fragile(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["path"].endswith("/boom"):
            raise ValueError("boom before any response")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"fine"})

    app = App()
    app.mount("/raw", fragile)
    url = live(app).url
    failed = httpx.get(url + "/raw/boom")
    assert failed.status_code == 500
    assert failed.headers["content-type"] == "application/problem+json"
    assert "boom" not in failed.text  # production-style 500: no internals
    assert httpx.get(url + "/raw/ok").text == "fine"


def test_fastapi_exception_is_a_500_and_the_next_request_is_served(
    served: tuple[str, list[str]],
) -> None:
    url, _ = served
    assert httpx.get(url + "/api/boom").status_code == 500
    assert httpx.get(url + "/api/items/2").json()["item_id"] == 2


def test_failure_mid_stream_ends_the_response_and_the_worker_carries_on(live: Live) -> None:
    async def breaks(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"100")]})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        if scope["path"].endswith("/break"):
            raise ValueError("broken mid-stream")
        await send({"type": "http.response.body", "body": b"x" * 93})

    async def breaks_chunked(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        raise ValueError("broken mid-stream, chunked")

    app = App()
    app.mount("/s", breaks)
    app.mount("/c", breaks_chunked)
    url = live(app).url
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(url + "/s/break")
    # Without a Content-Length the body is chunked: it ends without its last chunk, so
    # the client cannot take the part for the whole.
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(url + "/c/break")
    assert httpx.get(url + "/s/whole").content == b"partial" + b"x" * 93


def test_cello_routes_are_served_beside_the_mount(served: tuple[str, list[str]]) -> None:
    url, _ = served
    assert httpx.get(url + "/").json() == {"served_by": "cello"}
    assert httpx.get(url + "/api/health").json() == {"status": "ok", "served_by": "cello"}
    # Not a Cello route: the mounted app's 404.
    missing = httpx.get(url + "/api/nothing")
    assert missing.status_code == 404 and missing.json() == {"detail": "Not Found"}
    # Outside the prefix: Cello's 404.
    assert httpx.get(url + "/apix").headers["content-type"] == "application/problem+json"


def test_mount_at_the_root(live: Live) -> None:
    async def fallback(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body",
                    "body": f"{scope['root_path']!r} {scope['path']}".encode()})

    app = App()

    @app.get("/health")
    def health(request):
        return "cello"

    app.mount("/", fallback)
    url = live(app).url
    assert httpx.get(url + "/").text == "'' /"
    assert httpx.get(url + "/old/page").text == "'' /old/page"
    assert httpx.get(url + "/health").text == "cello"


def test_test_client_drives_a_mount_in_process() -> None:
    events: list[str] = []
    app = App()
    app.mount("/api", make_api(events))
    with TestClient(app) as client:
        assert client.get("/api/items/5?q=z").json()["q"] == "z"
        assert client.post("/api/items", json={"name": "a", "price": 2}).status_code == 201
        with client.websocket_connect("/api/ws/room") as ws:
            ws.send_text("hi")
            assert ws.receive_text() == "room: hi"
    assert events == ["startup", "shutdown"]


def test_mount_validates_its_arguments() -> None:
    app = App()
    for prefix in ("api", "/api/", "/a//b", "/items/{id}"):
        with pytest.raises(ValueError, match="mount prefix"):
            app.mount(prefix, make_api())
    with pytest.raises(TypeError, match="ASGI application"):
        app.mount("/api", object())  # type: ignore[arg-type]


def test_a_conflicting_cello_route_names_the_mount() -> None:
    app = App()
    app.mount("/api", make_api())
    with pytest.raises(RouteConflictError, match=r"mount\('/api', FastAPI\)"):

        @app.get("/api/{anything}")
        def shadow(request):
            return None


def test_mount_routes_stay_out_of_the_openapi_document() -> None:
    app = App()
    app.mount("/api", make_api())
    mounted = [r for r in app._records if r.path.startswith("/api")]
    assert {r.path for r in mounted} == {"/api", "/api/", "/api/{*asgi_path}"}
    assert {r.path for r in mounted if r.websocket} == {"/api", "/api/", "/api/{*asgi_path}"}
    assert not any(r.include_in_schema for r in mounted if not r.websocket)


def test_client_leaving_mid_stream_stops_the_app_and_the_worker_carries_on(live: Live) -> None:
    api = FastAPI()
    finished: list[str] = []

    @api.get("/forever")
    async def forever() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            try:
                while True:
                    yield b"tick\n" * 1000
                    await asyncio.sleep(0)
            finally:
                finished.append("closed")

        return StreamingResponse(chunks(), media_type="text/plain")

    @api.get("/after")
    async def after() -> dict[str, bool]:
        return {"served": True}

    app = App()
    app.mount("/api", api)
    url = live(app).url
    with (
        httpx.Client(base_url=url, timeout=10) as client,
        client.stream("GET", "/api/forever") as response,
    ):
        assert next(response.iter_raw()).startswith(b"tick")
    # Leaving the block closed the connection mid-body.
    wait_until(lambda: finished, PROCESS_TIMEOUT, "the app's stream to be closed")
    assert httpx.get(url + "/api/after").json() == {"served": True}


def test_websocket_subprotocols_are_negotiated_by_the_mount(live: Live) -> None:
    api = FastAPI()

    @api.websocket("/ws")
    async def speak(websocket: WebSocket) -> None:
        offered = websocket.scope["subprotocols"]
        await websocket.accept(subprotocol="chat.v2")
        await websocket.send_json({"offered": offered})
        await websocket.close()

    app = App()
    app.mount("/api", api, subprotocols=["chat.v2"])
    url = live(app).url

    async def talk() -> tuple[Any, Any]:
        async with websockets.connect(
            url.replace("http", "ws") + "/api/ws", subprotocols=["chat.v1", "chat.v2"]  # type: ignore[list-item]
        ) as ws:
            return ws.subprotocol, await ws.recv()

    assert asyncio.run(talk()) == ("chat.v2", '{"offered":["chat.v1","chat.v2"]}')


def test_an_over_limit_streamed_body_is_cellos_413_not_the_apps_500(live: Live) -> None:
    from cello import ServerConfig

    api = make_api()
    app = App()
    app.mount("/api", api)
    url = live(app, config=ServerConfig(max_body_size=2 * 1024 * 1024)).url

    def chunked() -> Any:
        for _ in range(3):
            yield b"y" * (1024 * 1024)

    # No Content-Length: the limit is only found while the body streams in.
    response = httpx.post(url + "/api/upload", content=chunked(), timeout=30)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert httpx.get(url + "/api/items/1").status_code == 200


def test_websockets_anywhere_under_the_prefix_reach_the_app(live: Live) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount, WebSocketRoute

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(websocket.url.path)
        await websocket.close()

    inner = Starlette(routes=[WebSocketRoute("/feed/{id:int}", endpoint)])
    api = FastAPI()
    api.add_api_websocket_route("/files/{rest:path}", endpoint)
    api.router.routes.append(Mount("/inner", app=inner))

    @api.get("/files/{rest:path}")
    async def file_page(rest: str) -> dict[str, str]:
        return {"file": rest}

    app = App()
    app.mount("/api", api)
    url = live(app).url

    async def paths() -> list[str]:
        received = []
        for path in ("/api/inner/feed/3", "/api/files/a/b"):
            async with websockets.connect(url.replace("http", "ws") + path) as ws:
                received.append(str(await ws.recv()))
        return received

    assert asyncio.run(paths()) == ["/api/inner/feed/3", "/api/files/a/b"]
    # A plain GET on a WebSocket path reaches the app's HTTP side.
    assert httpx.get(url + "/api/files/a/b").json() == {"file": "a/b"}


def test_a_close_reason_that_is_not_text_is_sent_as_json(live: Live) -> None:
    api = FastAPI()

    @api.websocket("/needs-token")
    async def needs_token(websocket: WebSocket, token: int) -> None:
        await websocket.accept()  # pragma: no cover - FastAPI refuses before this

    app = App()
    app.mount("/api", api)
    url = live(app).url

    async def refused() -> tuple[int | None, str | None]:
        async with websockets.connect(url.replace("http", "ws") + "/api/needs-token") as ws:
            with contextlib.suppress(websockets.ConnectionClosed):
                await ws.recv()
            return ws.close_code, ws.close_reason

    code, reason = asyncio.run(refused())
    assert code == 1008  # FastAPI's policy violation for a failed validation
    assert reason is not None and "token" in reason
    assert httpx.get(url + "/api/openapi.json").status_code == 200


def test_http_and_websocket_on_the_same_path_graphql_style(live: Live) -> None:
    async def graphql(scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Queries over POST and subscriptions over WebSocket, both on the prefix."""
        if scope["type"] == "http":
            body = (await receive())["body"]
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"query " + body})
        elif scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept", "subprotocol": "graphql-transport-ws"})
            await send({"type": "websocket.send", "text": f"subscribed at {scope['path']}"})
            await send({"type": "websocket.close", "code": 1000})

    app = App()
    app.mount("/graphql", graphql, websockets=[""], subprotocols=["graphql-transport-ws"])
    url = live(app).url
    assert httpx.post(url + "/graphql", content=b"{ me }").text == "query { me }"
    assert httpx.get(url + "/graphql").text == "query "  # a plain GET is the app's HTTP side

    async def subscribe() -> tuple[Any, Any]:
        async with websockets.connect(
            url.replace("http", "ws") + "/graphql", subprotocols=["graphql-transport-ws"]  # type: ignore[list-item]
        ) as ws:
            return ws.subprotocol, await ws.recv()

    assert asyncio.run(subscribe()) == ("graphql-transport-ws", "subscribed at /graphql")
    with pytest.raises(ValueError, match="relative to the prefix"):
        App().mount("/graphql", graphql, websockets=["ws"])


def test_http2_requests_reach_the_app_with_a_host_header(live: Live) -> None:
    scopes: list[dict[str, Any]] = []

    async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        scopes.append(scope)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"a", "more_body": True})
        await send({"type": "http.response.body", "body": b"b"})

    app = App()
    app.mount("/e", echo)
    url = live(app).url
    with httpx.Client(http1=False, http2=True) as client:  # h2c, prior knowledge
        response = client.get(url + "/e/x")
    assert (response.http_version, response.text) == ("HTTP/2", "ab")
    assert scopes[0]["http_version"] == "2"
    # HTTP/2 sends the host as :authority; the spec asks for it as a host header.
    assert (b"host", url.split("//")[1].encode()) in scopes[0]["headers"]
