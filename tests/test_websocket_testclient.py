"""WebSocket through the in-process `TestClient` (no socket), as Starlette users test
their endpoints: the same handshake, guards, subprotocols and handlers."""

from __future__ import annotations

import pytest
from cello import App, HTTPException, WebSocketDisconnect
from cello.testing import TestClient, WebSocketRejected


def make_app() -> App:
    app = App()

    @app.websocket("/ws/chat")
    async def chat(ws):
        while True:
            message = await ws.receive()
            await ws.send(f"Echo: {message}")

    @app.websocket("/ws")
    def websocket_handler(ws):
        ws.send_text("Connected!")
        while True:
            message = ws.recv()
            if message is None:
                break
            ws.send_text(f"Echo: {message.text}")

    @app.websocket("/rooms/{room:int}", subprotocols=["chat.v2", "chat.v1"])
    async def room(ws):
        await ws.send_json({"room": ws.params["room"], "user": ws.query.get("user"), "sub": ws.subprotocol})
        data = await ws.receive_bytes()
        await ws.send_bytes(data[::-1])
        await ws.close(4001, "done")

    def members_only(request):
        if request.headers.get("x-token") != "secret":
            raise HTTPException(401, "missing token")
        return True

    @app.websocket("/private", guards=[members_only])
    async def private(ws):
        await ws.send("welcome")

    @app.websocket("/broken")
    async def broken(ws):
        await ws.receive()
        raise RuntimeError("boom")

    return app


def test_async_echo_seed_example() -> None:
    with TestClient(make_app()) as client, client.websocket_connect("/ws/chat") as ws:
        for text in ("hello", "wörld"):
            ws.send_text(text)
            assert ws.receive_text() == f"Echo: {text}"


def test_sync_seed_example() -> None:
    with TestClient(make_app()) as client:
        with client.websocket_connect("/ws") as ws:
            assert ws.receive_text() == "Connected!"
            ws.send_text("hi")
            assert ws.receive_text() == "Echo: hi"
        # The handler saw the close and returned: the client is usable again.
        assert client.get("/ws").status_code == 426


def test_params_query_subprotocol_binary_and_close_code() -> None:
    with (
        TestClient(make_app()) as client,
        client.websocket_connect("/rooms/7?user=ada", subprotocols=["chat.v1", "chat.v2"]) as ws,
    ):
        assert ws.subprotocol == "chat.v2"
        assert ws.response.status_code == 101
        assert ws.receive_json() == {"room": 7, "user": "ada", "sub": "chat.v2"}
        ws.send_bytes(b"\x01\x02\x03")
        assert ws.receive_bytes() == b"\x03\x02\x01"
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive()
        assert (closed.value.code, closed.value.reason) == (4001, "done")
        assert ws.close_code == 4001


def test_guards_refuse_the_handshake() -> None:
    with TestClient(make_app()) as client:
        with pytest.raises(WebSocketRejected) as refused:
            client.websocket_connect("/private")
        assert refused.value.response.status_code == 401
        assert refused.value.response.headers["content-type"] == "application/problem+json"
        with client.websocket_connect("/private", headers={"x-token": "secret"}) as ws:
            assert ws.receive_text() == "welcome"
        with pytest.raises(WebSocketRejected) as missing:
            client.websocket_connect("/nowhere")
        assert missing.value.response.status_code == 404


def test_a_failing_handler_closes_with_1011() -> None:
    with TestClient(make_app()) as client, client.websocket_connect("/broken") as ws:
        ws.send_text("go")
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive()
        assert closed.value.code == 1011
