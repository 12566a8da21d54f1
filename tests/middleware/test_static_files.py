"""Static files and ETags over a real socket: files, HEAD, Range, 304s, precompressed
siblings, the traversal corpus over a raw socket (no client normalises the path), routes
under the prefix still reachable, and ETag + If-None-Match on handler responses."""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from cello import App, StaticFilesConfig
from cello.testing import LiveServer, TestClient
from support.rawhttp import exchange, request_bytes


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "public"
    (root / "css").mkdir(parents=True)
    (root / "index.html").write_text("<h1>home</h1>")
    (root / "css" / "site.css").write_text("body { color: red; }\n" * 100)
    (root / "app.js").write_text("console.log(1);\n" * 200)
    (root / "app.js.gz").write_bytes(gzip.compress((root / "app.js").read_bytes()))
    (tmp_path / "secret.txt").write_text("top secret")
    os.symlink(tmp_path / "secret.txt", root / "leak.txt")
    return root


def static_app(site: Path, **options: object) -> App:
    app = App()
    app.enable_static_files(StaticFilesConfig(site, cache_max_age=60, **options))  # type: ignore[arg-type]

    @app.get("/static/dynamic")
    def dynamic(request):
        return {"from": "route"}

    return app


def test_files_head_range_and_validators(live: Callable[..., LiveServer], site: Path) -> None:
    server = live(static_app(site))
    css = (site / "css" / "site.css").read_bytes()
    with httpx.Client(base_url=server.url) as client:
        response = client.get("/static/css/site.css")
        assert response.status_code == 200
        assert response.content == css
        assert response.headers["content-type"].startswith("text/css")
        assert response.headers["cache-control"] == "public, max-age=60"
        etag = response.headers["etag"]
        head = client.head("/static/css/site.css")
        assert head.status_code == 200 and head.content == b""
        assert head.headers["etag"] == etag
        assert client.get("/static/css/site.css", headers={"If-None-Match": etag}).status_code == 304
        ranged = client.get("/static/css/site.css", headers={"Range": "bytes=5-9"})
        assert ranged.status_code == 206
        assert ranged.content == css[5:10]
        assert ranged.headers["content-range"] == f"bytes 5-9/{len(css)}"
        assert client.get("/static/css/site.css", headers={"Range": "bytes=99999-"}).status_code == 416
        index = client.get("/static/")
        assert index.text == "<h1>home</h1>"
        assert client.get("/static/dynamic").json() == {"from": "route"}
        assert client.post("/static/app.js").status_code == 405


def test_precompressed_sibling(live: Callable[..., LiveServer], site: Path) -> None:
    server = live(static_app(site))
    with httpx.Client() as client:
        request = client.build_request("GET", f"{server.url}/static/app.js", headers={"Accept-Encoding": "gzip"})
        response = client.send(request, stream=True)
        raw = b"".join(response.iter_raw())
        response.close()
    assert response.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers.get_list("vary")
    assert gzip.decompress(raw) == (site / "app.js").read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "/static/../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2E%2E%2Fsecret.txt",
        "/static/%252e%252e/secret.txt",
        "/static/..%5csecret.txt",
        "/static/css/..\\..\\secret.txt",
        "/static/%00index.html",
        "/static/leak.txt",
        "/static//etc/passwd",
    ],
)
def test_traversal_is_refused(live: Callable[..., LiveServer], site: Path, path: str) -> None:
    server = live(static_app(site))
    response, _ = exchange(server, request_bytes("GET", path, headers={"Connection": "close"}))
    assert response.status in (400, 404), (path, response)
    assert b"top secret" not in response.body


def test_bad_configuration(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="root"):
        App().enable_static_files(StaticFilesConfig(tmp_path / "missing"))
    with pytest.raises(TypeError, match="root"):
        StaticFilesConfig()
    with pytest.raises(ValueError, match="prefix"):
        App().enable_static_files(StaticFilesConfig(tmp_path, prefix="static"))
    assert StaticFilesConfig(directory=str(tmp_path)).root == str(tmp_path)


def test_etag_and_if_none_match_on_handler_responses() -> None:
    app = App()
    app.enable_etag()

    @app.get("/items")
    def items(request):
        return {"items": [1, 2, 3]}

    with TestClient(app) as client:
        first = client.get("/items")
        etag = first.headers["etag"]
        assert etag.startswith('"')
        again = client.get("/items", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag
        assert client.head("/items").headers["etag"] == etag
        assert client.get("/items", headers={"If-None-Match": '"other"'}).status_code == 200
