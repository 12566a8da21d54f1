"""WebSocket echo for Cello and the original cello-framework (the seed's async API
for Cello; 1.4.1's `arecv`/`asend_text` when the original is detected)."""

import argparse

from cello import App

app = App()

try:
    from cello import WebSocketDisconnect  # Cello

    @app.websocket("/ws")
    async def echo(ws):
        try:
            while True:
                await ws.send(await ws.receive())
        except WebSocketDisconnect:
            pass

except ImportError:  # cello-framework 1.4.1

    @app.websocket("/ws")
    async def echo(ws):
        while (message := await ws.arecv()) is not None:
            await ws.asend_text(message.content)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    args, _ = parser.parse_known_args()
    app.run(host="127.0.0.1", port=args.port, workers=args.workers, env="production", logs=False)
