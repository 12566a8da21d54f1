"""Every Python block in README.md runs, and every program in examples/ serves."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from cello.testing import TestClient
from support.processes import PROCESS_TIMEOUT, wait_until

ROOT = Path(__file__).resolve().parent.parent


def python_blocks(markdown: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", markdown.read_text(), flags=re.DOTALL)


def test_readme_python_blocks_run() -> None:
    blocks = python_blocks(ROOT / "README.md")
    assert blocks, "README.md should show code"
    for block in blocks:
        namespace: dict[str, object] = {"__name__": "readme"}
        exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - README code is ours
        app = namespace.get("app")
        if app is not None:
            with TestClient(app) as client:  # type: ignore[arg-type]
                assert client.get("/").status_code == 200


def serve_example(path: Path, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, str(path), "--port", "0", "--no-logs"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
        cwd=ROOT,
        env={**os.environ, **env} if env else None,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.search(r"Cello running at (http://\S+)", line)
    if match is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        process.stdout.close()
        raise AssertionError(f"{path.name} did not start: {line!r}")
    return process, match.group(1).replace("0.0.0.0", "127.0.0.1")


def stop_example(process: subprocess.Popen[str]) -> int:
    """SIGTERM (a graceful drain), then the exit code."""
    os.killpg(process.pid, signal.SIGTERM)
    code = process.wait(timeout=30)
    assert process.stdout is not None
    process.stdout.close()
    return code


def test_hello_example_serves() -> None:
    process, url = serve_example(ROOT / "examples" / "hello.py")
    try:
        assert httpx.get(url + "/").json() == {"message": "Hello from Cello v1.0.1!"}
        assert httpx.get(url + "/users/3").json() == {"id": "3", "name": "Alice"}
    finally:
        assert stop_example(process) == 0


def test_realtime_example_serves() -> None:
    import asyncio

    import websockets

    process, url = serve_example(ROOT / "examples" / "realtime.py")
    try:
        events = httpx.get(url + "/events").text
        assert events == "".join(f"event: update\ndata: tick {i}\n\n" for i in range(3))
        assert httpx.get(url + "/download").text == "".join(f"line {n}\n" for n in range(5))
        uploaded = httpx.post(url + "/upload", data={"name": "me"}, files={"file": ("a.txt", b"abc")})
        assert uploaded.json() == {"name": "me", "files": [["a.txt", 3]]}
        assert httpx.post(url + "/orders", json={"sku": 1}).status_code == 201
        # The order is logged by a background task after the 201 went out: wait for it
        # (bounded by time, not by a count of polls a fast machine gets through at once).
        wait_until(
            lambda: httpx.get(url + "/log").json() == [{"sku": 1}],
            PROCESS_TIMEOUT,
            "the background task to log the order",
        )
        assert httpx.get(url + "/log").json() == [{"sku": 1}]

        async def chat() -> str:
            async with websockets.connect(url.replace("http", "ws") + "/ws/chat") as connection:
                await connection.send("hi")
                return await connection.recv()  # type: ignore[return-value]

        assert asyncio.run(chat()) == "Echo: hi"
    finally:
        assert stop_example(process) == 0


def test_middleware_example_serves() -> None:
    import base64
    import hashlib
    import hmac
    import json as jsonlib

    process, url = serve_example(ROOT / "examples" / "middleware.py")
    try:
        index = httpx.get(url + "/hello")
        assert index.json()["request_id"] == index.headers["x-request-id"]
        assert index.headers["x-frame-options"] == "DENY"
        assert index.headers["ratelimit-policy"].startswith('"default";q=100')
        assert "server-timing" in index.headers
        report = httpx.get(url + "/report", headers={"Accept-Encoding": "gzip"})
        assert report.headers["content-encoding"] == "gzip" and len(report.json()["rows"]) == 200
        with httpx.Client(base_url=url) as client:
            assert [client.get("/visits").json()["visits"] for _ in range(2)] == [1, 2]
        first, second = httpx.get(url + "/items"), httpx.get(url + "/items")
        assert (first.headers["x-cache"], second.headers["x-cache"]) == ("MISS", "HIT")
        assert httpx.get(url + "/static/middleware.py").text.startswith('"""The built-in middleware')
        assert httpx.get(url + "/api/me").status_code == 401

        def b64(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        head = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(jsonlib.dumps({"sub": "ann", "exp": 4102444800}).encode())
        secret = b"change-me-to-a-secret-of-32-bytes-or-more"
        token = head + "." + b64(hmac.new(secret, head.encode(), hashlib.sha256).digest())
        auth = {"Authorization": f"Bearer {token}"}
        assert httpx.get(url + "/api/me", headers=auth).json()["user"]["sub"] == "ann"
        assert httpx.post(url + "/api/items", headers=auth).json() == {"added": True, "by": "ann"}
        assert httpx.get(url + "/items").headers["x-cache"] == "MISS"
    finally:
        assert stop_example(process) == 0


def test_websocket_echo_example_serves() -> None:
    import asyncio

    import websockets

    process, url = serve_example(ROOT / "examples" / "websocket_echo.py")
    try:

        async def echo() -> object:
            async with websockets.connect(url.replace("http", "ws") + "/any/path") as connection:
                await connection.send(b"\x00bin")
                return await connection.recv()

        assert asyncio.run(echo()) == b"\x00bin"
    finally:
        stop_example(process)


def test_tls_example_serves_every_version(tmp_path: Path) -> None:
    import asyncio
    import ssl

    import trustme
    from support.h3client import fetch_all

    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1", "localhost")
    issued.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    issued.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "examples" / "tls.py"), "--port", "0", "--no-logs", "--http3",
         "--tls-cert", str(tmp_path / "cert.pem"), "--tls-key", str(tmp_path / "key.pem")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True,
    )
    try:
        assert process.stdout is not None
        match = re.search(r"Cello running at (https://\S+)", process.stdout.readline())
        assert match is not None
        url = match.group(1)
        context = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
        with httpx.Client(verify=context, http2=True) as client:
            assert client.get(url + "/").json() == {"message": "Hello over TLS", "http_version": "2"}
        port = int(url.rsplit(":", 1)[1])
        (answer,) = asyncio.run(fetch_all(port, str(tmp_path / "ca.pem"), [("GET", "/", b"")]))
        assert answer.body == b'{"message":"Hello over TLS","http_version":"3"}'
    finally:
        stop_example(process)


def test_observability_example_serves() -> None:
    process, url = serve_example(ROOT / "examples" / "observability.py")
    try:
        placed = httpx.post(url + "/orders?kind=gift&items=3")
        assert placed.json() == {"placed": True, "request_id": placed.headers["x-request-id"]}
        metrics = httpx.get(url + "/metrics").text
        assert 'shop_orders_total{kind="gift"} 1' in metrics
        assert 'shop_basket_items_bucket{le="5"} 1' in metrics
        assert 'shop_http_requests_total{method="POST",route="/orders",status="200"} 1' in metrics
        assert httpx.get(url + "/health/ready").json()["ready"] is True
        report = httpx.get(url + "/health").json()
        assert report["version"] == "1.0.0" and report["checks"]["stock"]["details"] == {"items": 1}
    finally:
        assert stop_example(process) == 0


def test_templates_example_serves() -> None:
    process, url = serve_example(ROOT / "examples" / "templates_app.py")
    try:
        index = httpx.get(url + "/")
        assert index.headers["content-type"] == "text/html; charset=utf-8"
        assert "<title>Products - Cello Shop</title>" in index.text
        assert '<a href="/products/2">Rosin</a>' in index.text and "$89.50" in index.text
        assert '<span class="badge low">only 3 left</span>' in index.text
        product = httpx.get(url + "/products/3").text
        assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;" in product
        assert "<script>" not in product
        assert httpx.get(url + "/hello", params={"name": "<b>you</b>"}).text == (
            "<p>Hello, &lt;b&gt;you&lt;/b&gt;!</p>"
        )
        assert httpx.get(url + "/products/9").status_code == 404
    finally:
        assert stop_example(process) == 0


def test_typed_api_example_serves() -> None:
    process, url = serve_example(ROOT / "examples" / "typed_api.py")
    try:
        auth = {"authorization": "Bearer s3cret"}
        created = httpx.post(url + "/items", json={"name": "bow", "price": 120, "secret_note": "x"},
                             headers=auth)
        assert created.status_code == 201
        assert created.json() == {"id": 1, "name": "bow", "price": 120.0}
        assert httpx.post(url + "/items", json={"name": "bow", "price": 1}).status_code == 401
        invalid = httpx.post(url + "/items", json={"name": "", "price": -1}, headers=auth)
        assert invalid.status_code == 422
        assert {tuple(e["loc"]) for e in invalid.json()["errors"]} == {("body", "name"), ("body", "price")}
        assert httpx.get(url + "/items?limit=1").json() == [{"id": 1, "name": "bow", "price": 120.0}]
        assert httpx.get(url + "/items?limit=0").status_code == 422
        assert httpx.get(url + "/items/abc").status_code == 422
        assert httpx.get(url + "/items/9").status_code == 404
        # One transaction for the successful POST; validation failed before the others began.
        assert httpx.get(url + "/log").json() == {"log": ["begin", "commit"]}
    finally:
        assert stop_example(process) == 0


def test_guards_example_serves() -> None:
    process, url = serve_example(ROOT / "examples" / "guards_app.py")
    try:
        def bearer(token: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {token}"}

        assert httpx.get(url + "/").status_code == 200
        anonymous = httpx.get(url + "/me")
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"] == "Bearer"
        assert anonymous.headers["content-type"] == "application/problem+json"
        assert httpx.get(url + "/me", headers=bearer("editor-token")).json()["sub"] == "eve"
        assert httpx.get(url + "/admin", headers=bearer("editor-token")).status_code == 403
        assert httpx.get(url + "/admin", headers=bearer("admin-token")).json()["admin"] is True
        assert httpx.get(url + "/internal/metrics").json()["client"] == "127.0.0.1"
        assert httpx.get(url + "/beta", headers=bearer("reader-token")).status_code == 403
        assert httpx.get(url + "/beta", headers={**bearer("reader-token"), "X-Beta": "1"}).json() == {"beta": True}
        assert httpx.get(url + "/posts/").status_code == 401
        post = {"title": "Guards"}
        assert httpx.post(url + "/posts/", json=post, headers=bearer("reader-token")).status_code == 403
        banned = httpx.post(url + "/posts/", json=post, headers=bearer("banned-token"))
        assert banned.status_code == 403 and banned.json()["detail"] == "banned users cannot post"
        created = httpx.post(url + "/posts/", json=post, headers=bearer("editor-token"))
        assert created.status_code == 201 and created.json()["author"] == "eve"
        post_id = created.json()["id"]
        assert httpx.delete(f"{url}/posts/{post_id}", headers=bearer("editor-token")).status_code == 403
        assert httpx.delete(f"{url}/posts/{post_id}", headers=bearer("admin-token")).status_code == 204
    finally:
        assert stop_example(process) == 0


def test_openapi_example_serves() -> None:
    process, url = serve_example(ROOT / "examples" / "openapi_app.py")
    try:
        spec = httpx.get(url + "/openapi.json").json()
        assert spec["openapi"] == "3.1.0" and spec["info"]["title"] == "Shop API"
        assert spec["paths"]["/items/{item_id}"]["get"]["summary"] == "Read one item."
        docs = httpx.get(url + "/docs")
        assert docs.headers["content-type"] == "text/html; charset=utf-8"
        assert '<script src="/docs/swagger-ui-bundle.js"></script>' in docs.text
        assert "default-src 'none'" in docs.headers["content-security-policy"]
        assert httpx.get(url + "/redoc/redoc.standalone.js").status_code == 200
        created = httpx.post(url + "/items", json={"name": "teapot", "price": 12.5})
        assert created.status_code == 201 and created.json()["id"] == 1
        assert httpx.get(url + "/items/1").json()["name"] == "teapot"
        assert httpx.get(url + "/items", params={"limit": 0}).status_code == 422
        assert httpx.delete(url + "/items/1").status_code == 204
        assert httpx.get(url + "/items/1").status_code == 404
    finally:
        assert stop_example(process) == 0


def test_asgi_mount_example_serves() -> None:
    import asyncio

    import websockets

    process, url = serve_example(ROOT / "examples" / "asgi_mount.py")
    try:
        assert httpx.get(url + "/").json() == {"message": "Cello in front, FastAPI behind /api"}
        assert httpx.get(url + "/api/whoami").json() == {
            "served_by": "fastapi", "path": "/api/whoami", "root_path": "/api",
        }
        created = httpx.post(url + "/api/items", json={"name": "nib"})
        assert created.status_code == 201 and created.json() == {"id": 3, "name": "nib"}
        # The ported route answers from Cello, and sees what FastAPI's lifespan shares.
        assert httpx.get(url + "/api/items/3").json() == {"id": 3, "name": "nib", "served_by": "cello"}
        assert httpx.get(url + "/api/items/9").status_code == 404
        assert httpx.post(url + "/api/items", json={}).status_code == 422
        assert httpx.get(url + "/api/docs").status_code == 200
        assert httpx.get(url + "/api/openapi.json").json()["info"]["title"] == "legacy"

        async def chat() -> str:
            async with websockets.connect(url.replace("http", "ws") + "/api/ws") as connection:
                await connection.send("hi")
                return await connection.recv()  # type: ignore[return-value]

        assert asyncio.run(chat()) == "echo: hi"
    finally:
        assert stop_example(process) == 0


def test_data_example_serves(tmp_path: Path) -> None:
    database = tmp_path / "notes.db"
    process, url = serve_example(ROOT / "examples" / "data.py", env={"CELLO_DATA_URL": f"sqlite://{database}"})
    try:
        created = httpx.post(url + "/notes", json={"title": "hi", "body": "first"})
        assert created.status_code == 201 and created.json() == {"id": 1, "title": "hi"}
        assert httpx.post(url + "/notes", json={"title": "hi"}).status_code == 409
        assert httpx.get(url + "/notes/1").json() == {"id": 1, "title": "hi", "body": "first"}
        assert httpx.get(url + "/notes/9").status_code == 404
        bulk = httpx.post(url + "/notes/bulk", json=[{"title": "a"}, {"title": "hi"}, {"title": "b"}])
        assert bulk.json() == {"created": ["a", "b"], "skipped": ["hi"]}
        notes = httpx.get(url + "/notes").json()
        assert [note["title"] for note in notes] == ["hi", "a", "b"] and notes[0]["created_at"]
        stats = httpx.get(url + "/stats").json()
        assert stats["notes"] == 3 and stats["pool"]["backend"] == "sqlite"
    finally:
        assert stop_example(process) == 0
    assert database.exists()


def test_graphql_example_serves() -> None:
    from cello import features

    if "graphql" not in features():
        pytest.skip("needs a build with the graphql feature (make test builds it)")
    process, url = serve_example(ROOT / "examples" / "graphql.py")
    try:
        body = httpx.post(url + "/graphql", json={"query": "{ books { title author { name } } }"}, timeout=30).json()
        assert body == {"data": {"books": [
            {"title": "The Dispossessed", "author": {"name": "Ursula K. Le Guin"}},
            {"title": "Exhalation", "author": {"name": "Ted Chiang"}},
            {"title": "The Lathe of Heaven", "author": {"name": "Ursula K. Le Guin"}},
        ]}}
        query = {"query": "subscription { newBooks(count: 2) { title author { name } } }"}
        events = httpx.post(url + "/graphql", json=query, headers={"accept": "text/event-stream"}, timeout=30).text
        assert events == "".join(
            f'event: next\ndata: {{"data":{{"newBooks":{{"title":"Volume {n}","author":{{"name":"Ted Chiang"}}}}}}}}\n\n' for n in (1, 2)
        ) + "event: complete\ndata: \n\n"
    finally:
        assert stop_example(process) == 0


def test_orders_example_serves(tmp_path: Path) -> None:
    import uuid

    database = tmp_path / "orders.db"
    subprocess.run([str(ROOT / "scripts" / "services.sh"), "rabbitmq"], check=True, timeout=300)
    process, url = serve_example(ROOT / "examples" / "orders.py", env={
        "CELLO_ORDERS_URL": f"sqlite://{database}",
        "CELLO_ORDERS_AMQP": "amqp://guest:guest@127.0.0.1:5672",
        "CELLO_ORDERS_QUEUE": f"cello-it-orders-{uuid.uuid4().hex[:8]}",
    })
    try:
        first = httpx.post(url + "/orders", json={"customer": "ada", "total": 12.5}).json()["order_id"]
        httpx.post(url + "/orders", json={"customer": "ada", "total": 2.5})
        second = httpx.post(url + "/orders", json={"customer": "bob", "total": 4.0}).json()["order_id"]
        refused = httpx.post(url + "/orders", json={"customer": "eve", "total": -1})
        assert refused.status_code == 422 and "total must be positive" in refused.json()["detail"]
        assert httpx.get(url + "/orders/" + first).json() == {
            "id": first, "customer": "ada", "total": 12.5, "paid": False, "version": 1,
        }
        assert httpx.get(url + "/orders/nope").status_code == 404
        # The projection ran after each command.
        assert httpx.get(url + "/totals").json() == {"ada": 15.0, "bob": 4.0}
        paid = httpx.post(url + f"/orders/{first}/checkout", json={"card": "ok"}).json()
        assert paid == {"status": "completed", "reserved": 1}
        order = httpx.get(url + "/orders/" + first).json()
        assert order["paid"] is True and order["version"] == 2
        declined = httpx.post(url + f"/orders/{second}/checkout", json={"card": "bad"}).json()
        # The charge failed (after its retries): the reservation was released.
        assert declined == {"status": "compensated", "error": "card declined", "reserved": 0}
        assert httpx.get(url + "/orders/" + second).json()["paid"] is False
        # Every event went through the outbox to RabbitMQ: three placed, one paid.
        wait_until(lambda: len(httpx.get(url + "/published").json()["published"]) == 4, PROCESS_TIMEOUT,
                   "the four events published")
        assert sorted(httpx.get(url + "/published").json()["published"]) == ["OrderPaid"] + ["OrderPlaced"] * 3
    finally:
        assert stop_example(process) == 0


def test_grpc_example_serves_grpc_and_http_on_one_port() -> None:
    pytest.importorskip("grpc_tools", reason="the gRPC example needs grpcio-tools (make venv installs it)")
    process, url = serve_example(ROOT / "examples" / "grpc" / "server.py")
    try:
        assert httpx.get(url + "/").json() == {"grpc": "helloworld.Greeter is served on this port too"}
        target = url.removeprefix("http://")
        output = subprocess.run(
            [sys.executable, str(ROOT / "examples" / "grpc" / "client.py"), target],
            capture_output=True, text=True, timeout=60, check=True,
        ).stdout
        assert output.splitlines() == [
            "Hello, Ada!",
            "Hello #1, Ada!",
            "Hello #2, Ada!",
            "Hello #3, Ada!",
            "You said hi / You said bye",
            "INVALID_ARGUMENT: name is required",
        ]
    finally:
        assert stop_example(process) == 0
