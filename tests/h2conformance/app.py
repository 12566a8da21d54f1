"""The app every conformance case talks to.

h2spec requests "/" with GET and POST and needs a response body of at least five
octets (its flow-control cases count DATA octets); the other routes serve the
normal exchanges: JSON by id, a large body, a streamed response, a streamed upload,
and a handler that waits for a signal (for graceful shutdown).
"""

from __future__ import annotations

import asyncio
import threading

from cello import App, Response, StreamingResponse

__all__ = ["BIG_BODY_SIZE", "INDEX_BODY", "STREAM_CHUNKS", "conformance_app"]

INDEX_BODY = b"hello from cello over http/2\n"
STREAM_CHUNKS = [f"chunk-{n}\n".encode() for n in range(5)]
BIG_BODY_SIZE = 100_000


def conformance_app(
    started: threading.Event | None = None, release: threading.Event | None = None
) -> App:
    """A fresh app; `started` and `release` drive the "/slow" handler."""
    app = App()

    @app.route("/", methods=["GET", "POST"])
    def index(request):
        if request.method == "POST":
            return Response(f"received {len(request.body())} bytes")
        return Response(INDEX_BODY, content_type="text/plain")

    @app.get("/items/{id:int}")
    def item(request):
        return {"id": request.params["id"]}

    @app.get("/big")
    def big(request):
        return Response(b"x" * BIG_BODY_SIZE)

    @app.get("/stream")
    async def stream(request):
        async def chunks():
            for chunk in STREAM_CHUNKS:
                yield chunk
                await asyncio.sleep(0)

        return StreamingResponse(chunks(), media_type="text/plain")

    @app.post("/upload")
    async def upload(request):
        total = chunks = 0
        async for chunk in request.stream():
            total += len(chunk)
            chunks += 1
        return {"bytes": total, "chunks": chunks}

    @app.get("/slow")
    async def slow(request):
        assert started is not None and release is not None
        started.set()
        while not release.is_set():  # polled: the handler must not block the loop
            await asyncio.sleep(0.01)
        return Response("finished after shutdown began")

    return app
