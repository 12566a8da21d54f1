"""Forms, uploads and streamed request bodies, with real clients (httpx, curl)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from cello import App, ServerConfig
from cello.testing import LiveServer

ROOT = Path(__file__).resolve().parent.parent
saved: dict[str, bytes] = {}


def save_file(filename: str, content: bytes) -> None:
    saved[filename] = content


def seed_upload_app() -> App:
    app = App()

    @app.post("/upload")
    async def upload(request):
        files = await request.files()
        form = await request.form()

        for f in files:
            content = await f.read()
            save_file(f.filename, content)

        return {"uploaded": len(files), "name": form.get("name")}

    return app


def test_seed_upload_example(live: Callable[..., LiveServer]) -> None:
    saved.clear()
    server = live(seed_upload_app())
    response = httpx.post(
        server.url + "/upload",
        data={"name": "report"},
        files=[("doc", ("a.txt", b"alpha", "text/plain")), ("doc", ("b.bin", b"\x00\x01", "application/octet-stream"))],
    )
    assert response.json() == {"uploaded": 2, "name": "report"}
    assert saved == {"a.txt": b"alpha", "b.bin": b"\x00\x01"}


def test_curl_multipart_upload(live: Callable[..., LiveServer], tmp_path: Path) -> None:
    saved.clear()
    server = live(seed_upload_app())
    upload = tmp_path / "photo.png"
    upload.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(3000))
    output = subprocess.run(
        ["curl", "-sS", "-F", "name=curl", "-F", f"file=@{upload};type=image/png", server.url + "/upload"],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout
    assert output == '{"uploaded":1,"name":"curl"}'
    assert saved["photo.png"] == upload.read_bytes()


def test_urlencoded_form(live: Callable[..., LiveServer]) -> None:
    app = App()

    @app.post("/form")
    async def form(request):
        data = await request.form()
        return {"a": data["a"], "tags": data.getlist("tag"), "missing": data.get("zzz"), "keys": data.keys()}

    server = live(app)
    response = httpx.post(server.url + "/form", content=b"a=1+2&tag=x&tag=%C3%A9", headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.json() == {"a": "1 2", "tags": ["x", "é"], "missing": None, "keys": ["a", "tag"]}


def upload_details_app() -> App:
    app = App()

    @app.post("/details")
    async def details(request):
        files = await request.files()
        return [
            {
                "filename": f.filename,
                "size": f.size,
                "in_memory": f.in_memory,
                "sniffed": f.sniffed_type,
                "matches": f.content_type_matches,
                "head": (await f.read(4)).hex(),
            }
            for f in files
        ]

    return app


def test_filenames_are_sanitised_and_content_sniffed(live: Callable[..., LiveServer]) -> None:
    server = live(upload_details_app())
    response = httpx.post(
        server.url + "/details",
        files=[
            ("f", ("../../etc/passwd", b"root:x:0:0", "text/plain")),
            ("f", ("C:\\Users\\me\\fake.png", b"%PDF-1.7 not a png", "image/png")),
        ],
    )
    first, second = response.json()
    assert first["filename"] == "passwd" and first["matches"] is True
    assert second["filename"] == "fake.png"
    assert second["sniffed"] == "application/pdf" and second["matches"] is False


def test_large_files_spool_to_disk(live: Callable[..., LiveServer]) -> None:
    server = live(upload_details_app(), config=ServerConfig(spool_threshold=10_000))
    big = os.urandom(200_000)
    response = httpx.post(server.url + "/details", files={"f": ("big.bin", big)})
    (detail,) = response.json()
    assert detail["size"] == len(big) and detail["in_memory"] is False
    assert detail["head"] == big[:4].hex()


@pytest.mark.parametrize(
    ("config", "files", "data", "limit"),
    [
        (ServerConfig(max_file_size=1000), {"f": ("x.bin", b"x" * 5000)}, None, "max_file_size"),
        (ServerConfig(max_form_files=1), [("f", ("a", b"1")), ("f", ("b", b"2"))], None, "max_form_files"),
        (ServerConfig(max_field_size=10), {"f": ("a", b"1")}, {"note": "y" * 100}, "max_field_size"),
    ],
)
def test_form_limits_answer_413_naming_the_limit(
    live: Callable[..., LiveServer], config: ServerConfig, files: object, data: object, limit: str
) -> None:
    server = live(seed_upload_app(), config=config)
    response = httpx.post(server.url + "/upload", files=files, data=data)  # type: ignore[arg-type]
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert limit in response.json()["detail"]
    assert httpx.post(server.url + "/upload", files={"f": ("ok", b"1")}).status_code == 200


def test_malformed_multipart_is_400(live: Callable[..., LiveServer]) -> None:
    server = live(seed_upload_app())
    response = httpx.post(
        server.url + "/upload",
        content=b"--xyz\r\nnot a part",
        headers={"content-type": "multipart/form-data; boundary=xyz"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


def test_streamed_body_and_the_buffer_limit(live: Callable[..., LiveServer]) -> None:
    app = App()

    @app.post("/count")
    async def count(request):
        total = 0
        async for chunk in request.stream():
            total += len(chunk)
        return {"total": total}

    @app.post("/sync")
    def sync(request):
        return {"size": len(request.body())}

    server = live(app, config=ServerConfig(body_buffer_size=4096))
    assert httpx.post(server.url + "/count", content=b"x" * 100_000).json() == {"total": 100_000}
    assert httpx.post(server.url + "/count", content=iter([b"y" * 1000] * 50)).json() == {"total": 50_000}
    assert httpx.post(server.url + "/count", content=b"small").json() == {"total": 5}
    assert httpx.post(server.url + "/sync", content=b"z" * 100).json() == {"size": 100}
    refused = httpx.post(server.url + "/sync", content=b"z" * 10_000)
    assert refused.status_code == 413
    assert "request.stream()" in refused.json()["detail"]


@pytest.fixture
def upload_server() -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "apps" / "upload_app.py"), "--port", "0", "--no-logs"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True,
    )
    assert process.stdout is not None
    match = re.search(r"Cello running at (http://\S+)", process.stdout.readline())
    try:
        assert match is not None, "the upload server did not start"
        yield match.group(1)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        process.stdout.close()


def test_one_gigabyte_upload_keeps_the_worker_small(upload_server: str) -> None:
    chunk = b"u" * (1 << 20)
    size = 1 << 30

    def body() -> Iterator[bytes]:
        for _ in range(size // len(chunk)):
            yield chunk

    response = httpx.post(upload_server + "/count", content=body(), timeout=120)
    answer = response.json()
    assert answer["total"] == size
    # The worker never held the body: its peak RSS stays far below 1 GiB.
    assert answer["peak_rss_kib"] < 200 * 1024, answer


def test_large_multipart_upload_spools_to_disk(upload_server: str, tmp_path: Path) -> None:
    upload = tmp_path / "big.bin"
    with open(upload, "wb") as out:
        out.truncate(200 * (1 << 20))
    with open(upload, "rb") as source:
        response = httpx.post(upload_server + "/upload", files={"file": ("big.bin", source)}, timeout=120)
    answer = response.json()
    assert answer["files"] == [["big.bin", 200 * (1 << 20), False]]
    assert answer["peak_rss_kib"] < 150 * 1024, answer
