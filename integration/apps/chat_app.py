"""A chat over WebSocket whose rooms are `app.channels` on Redis, run with 2 workers by
`integration/test_redis.py`: a message sent to one worker's socket reaches the
sockets of the other worker.

    python integration/apps/chat_app.py --port 0 --workers 2

Each socket first receives ``{"pid": ...}`` (its worker), then every message of the room
as ``{"from": pid, "text": ...}``. Environment: CELLO_TEST_REDIS_URL.
"""

from __future__ import annotations

import asyncio
import os

from cello import App, RedisConfig

app = App()
app.enable_redis(RedisConfig(url=os.environ.get("CELLO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")))


@app.websocket("/chat/{room}")
async def chat(ws):
    room = ws.params["room"]
    async with app.channels.subscribe(room) as messages:
        await ws.send({"pid": os.getpid()})

        async def forward():
            async for message in messages:
                await ws.send(message)

        forwarding = asyncio.create_task(forward())
        try:
            async for text in ws:
                await app.channels.publish(room, {"from": os.getpid(), "text": text})
        finally:
            forwarding.cancel()


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
