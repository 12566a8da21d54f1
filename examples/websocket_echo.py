"""A WebSocket echo server (the peer the Autobahn conformance cases drive).

    python examples/websocket_echo.py --port 9001

It negotiates permessage-deflate when the client offers it and compresses every
message, however short (the default `ws_compression_threshold` sends messages under
128 bytes as they are). It sends no keep-alive pings: Autobahn's cases record a ping
as an event and the 12.*/13.* cases end at the first one, so with the default
`ws_ping_interval` (20 s) every case still running after 20 s would fail, and which
ones do depends on the machine's speed (docs/reports/autobahn.md).
"""

from cello import App, ServerConfig

app = App()


@app.websocket("/")
async def echo_root(ws):
    async for message in ws:
        await ws.send(message)


@app.websocket("/{*path}")
async def echo(ws):
    async for message in ws:
        await ws.send(message)


if __name__ == "__main__":
    app.run(
        env="production",
        workers=1,
        logs=False,
        config=ServerConfig(
            ws_max_message_size=64 * 1024 * 1024,
            ws_compression_threshold=0,
            ws_ping_interval=None,
        ),
    )
