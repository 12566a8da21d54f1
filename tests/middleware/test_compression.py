"""Compression over a real socket: the coding chosen from Accept-Encoding, the raw bytes
decoded with Python's own gzip/brotli/zstandard, what is skipped, and Server-Sent Events
arriving event by event through the compressor."""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
import zlib
from collections.abc import Callable

import brotli
import httpx
import pytest
import zstandard
from cello import App, Response, SseStream
from cello.testing import LiveServer

PAYLOAD = {"items": [{"id": n, "name": f"item {n}", "tags": ["a", "b"]} for n in range(200)]}


def compressed_app(release: asyncio.Event | None = None) -> App:
    app = App()
    app.enable_compression()
    app.enable_cors()

    @app.get("/items")
    def items(request):
        return PAYLOAD

    @app.get("/small")
    def small(request):
        return {"ok": True}

    @app.get("/png")
    def png(request):
        return Response(b"\x89PNG" + b"\0" * 4096, content_type="image/png")

    @app.get("/events")
    async def events(request):
        async def stream():
            yield {"event": "first", "data": "x" * 2000}
            assert release is not None
            await release.wait()
            yield {"event": "second", "data": "y" * 2000}

        return SseStream(stream())

    return app


def raw_get(url: str, encoding: str) -> httpx.Response:
    with httpx.Client() as client:
        request = client.build_request("GET", url, headers={"Accept-Encoding": encoding})
        response = client.send(request, stream=True)
        response.raw = b"".join(response.iter_raw())  # type: ignore[attr-defined]
        response.close()
        return response


DECODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.decompress,
    "br": brotli.decompress,
    "zstd": lambda data: zstandard.ZstdDecompressor().decompressobj().decompress(data),
}


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
def test_each_coding_round_trips(live: Callable[..., LiveServer], coding: str) -> None:
    server = live(compressed_app())
    response = raw_get(f"{server.url}/items", coding)
    body: bytes = response.raw  # type: ignore[attr-defined]
    assert response.headers["content-encoding"] == coding
    assert int(response.headers["content-length"]) == len(body)
    assert "Accept-Encoding" in response.headers.get_list("vary")
    assert json.loads(DECODERS[coding](body)) == PAYLOAD
    assert len(body) < len(json.dumps(PAYLOAD)) / 4


def test_q_values_choose_the_coding(live: Callable[..., LiveServer]) -> None:
    server = live(compressed_app())
    assert raw_get(f"{server.url}/items", "gzip;q=1, br;q=0.5").headers["content-encoding"] == "gzip"
    assert raw_get(f"{server.url}/items", "gzip, br, zstd").headers["content-encoding"] == "br"
    plain = raw_get(f"{server.url}/items", "identity")
    assert "content-encoding" not in plain.headers
    assert json.loads(plain.raw) == PAYLOAD  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", ["/small", "/png"])
def test_small_and_incompressible_bodies_are_sent_as_they_are(
    live: Callable[..., LiveServer], path: str
) -> None:
    server = live(compressed_app())
    response = raw_get(f"{server.url}{path}", "gzip, br")
    assert "content-encoding" not in response.headers


def test_head_is_not_compressed(live: Callable[..., LiveServer]) -> None:
    server = live(compressed_app())
    response = httpx.head(f"{server.url}/items", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert "content-encoding" not in response.headers


def test_sse_events_arrive_one_by_one_through_gzip(live: Callable[..., LiveServer]) -> None:
    release = asyncio.Event()
    app = compressed_app(release)
    server = live(app)
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    text = ""
    with httpx.Client(timeout=10) as client:
        headers = {"Accept-Encoding": "gzip"}
        with client.stream("GET", f"{server.url}/events", headers=headers) as response:
            assert response.headers["content-encoding"] == "gzip"
            chunks = response.iter_raw()
            # The second event waits for `release`: the first must arrive decodable before.
            while "event: first" not in text or "x" * 2000 not in text:
                text += decoder.decompress(next(chunks)).decode()
            assert "second" not in text
            loop = server._loop  # the server's event loop runs in its own thread
            assert loop is not None
            done = threading.Event()
            loop.call_soon_threadsafe(lambda: (release.set(), done.set()))
            assert done.wait(10)
            for chunk in chunks:
                text += decoder.decompress(chunk).decode()
    assert "event: second" in text and "y" * 2000 in text
    assert response.headers.get("access-control-allow-origin") is None  # no Origin sent


def test_invalid_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="gzip_level"):
        App().enable_compression(gzip_level=42)
    with pytest.raises(ValueError, match="min_size"):
        App().enable_compression(min_size=-1)
