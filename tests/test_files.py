"""File responses: streaming, ranges and validators, over a real socket."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from cello import App, Response
from cello.testing import LiveServer


@pytest.fixture
def served(tmp_path: Path, live: Callable[..., LiveServer]) -> tuple[str, bytes]:
    content = bytes(range(256)) * 40  # 10,240 bytes
    path = tmp_path / "data.bin"
    path.write_bytes(content)
    (tmp_path / "page.html").write_text("<p>hi</p>")
    app = App()

    @app.get("/data")
    def data(request):
        return Response.file(path)

    @app.get("/page")
    def page(request):
        return Response.file(tmp_path / "page.html")

    return live(app).url, content


def test_whole_file_with_validators(served: tuple[str, bytes]) -> None:
    url, content = served
    response = httpx.get(url + "/data")
    assert response.status_code == 200
    assert response.content == content
    assert response.headers["content-length"] == str(len(content))
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["etag"].startswith('"')
    assert response.headers["last-modified"].endswith("GMT")
    assert response.headers["content-type"] == "application/octet-stream"
    page = httpx.get(url + "/page")
    assert page.headers["content-type"] == "text/html; charset=utf-8"


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [("bytes=0-99", 0, 99), ("bytes=10000-", 10000, 10239), ("bytes=-40", 10200, 10239), ("bytes=5-999999", 5, 10239)],
)
def test_single_ranges(served: tuple[str, bytes], header: str, start: int, end: int) -> None:
    url, content = served
    response = httpx.get(url + "/data", headers={"range": header})
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes {start}-{end}/{len(content)}"
    assert response.headers["content-length"] == str(end - start + 1)
    assert response.content == content[start : end + 1]


def test_unsatisfiable_range_is_416(served: tuple[str, bytes]) -> None:
    url, content = served
    response = httpx.get(url + "/data", headers={"range": "bytes=20000-"})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(content)}"
    assert response.headers["content-type"] == "application/problem+json"


def test_if_range_honours_only_a_current_validator(served: tuple[str, bytes]) -> None:
    url, content = served
    etag = httpx.get(url + "/data").headers["etag"]
    current = httpx.get(url + "/data", headers={"range": "bytes=0-9", "if-range": etag})
    assert current.status_code == 206 and current.content == content[:10]
    stale = httpx.get(url + "/data", headers={"range": "bytes=0-9", "if-range": '"old"'})
    assert stale.status_code == 200 and stale.content == content


def test_several_ranges_get_the_whole_file(served: tuple[str, bytes]) -> None:
    url, content = served
    response = httpx.get(url + "/data", headers={"range": "bytes=0-1,5-6"})
    assert response.status_code == 200 and response.content == content


def test_head_on_a_file(served: tuple[str, bytes]) -> None:
    url, content = served
    response = httpx.head(url + "/data")
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(content))
    assert response.content == b""
