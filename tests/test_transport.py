"""The same app over HTTP/1.1, HTTP/1.1+TLS, HTTP/2 cleartext (h2c), HTTP/2+TLS (ALPN)
and HTTP/3, with real clients: httpx (h2), curl, pycurl's libcurl (ngtcp2 + nghttp3) and
aioquic for HTTP/3. Certificates come from trustme."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import pycurl
import pytest
import trustme
from cello import App, Response, SseStream, TlsConfig, TlsError
from cello.testing import LiveServer
from support.curlh3 import CurlH3Client, CurlResponse, has_http3


@dataclass
class Certificates:
    ca: trustme.CA
    cert: Path
    key: Path
    ca_pem: Path
    directory: Path


@pytest.fixture
def certificates(tmp_path: Path) -> Certificates:
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1", "localhost")
    cert, key, ca_pem = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    issued.private_key_pem.write_to_path(str(key))
    issued.cert_chain_pems[0].write_to_path(str(cert))
    for extra in issued.cert_chain_pems[1:]:
        with open(cert, "ab") as out:
            out.write(extra.bytes())
    ca.cert_pem.write_to_path(str(ca_pem))
    return Certificates(ca, cert, key, ca_pem, tmp_path)


def transport_app() -> App:
    app = App()

    @app.get("/items/{id:int}")
    def item(request):
        return {"id": request.params["id"], "version": request.http_version, "scheme": request.scheme}

    @app.post("/echo")
    def echo(request):
        return request.json()

    @app.get("/tagged")
    def tagged(request):
        return Response("tagged", status=203, headers={"x-tag": request.headers["x-probe"]})

    @app.get("/events")
    async def events(request):
        async def stream():
            for i in range(3):
                yield {"data": i}
                await asyncio.sleep(0)

        return SseStream(stream())

    return app


MODES = ["http1", "http1-tls", "h2c", "h2-tls", "h3-curl"]
VERSIONS = {"http1": "1.1", "http1-tls": "1.1", "h2c": "2", "h2-tls": "2", "h3-curl": "3"}


@pytest.fixture(params=MODES)
def mode_client(
    request: pytest.FixtureRequest, certificates: Certificates
) -> Iterator[tuple[str, httpx.Client | CurlH3Client]]:
    mode: str = request.param
    secure = mode not in ("http1", "h2c")
    tls = TlsConfig(str(certificates.cert), str(certificates.key)) if secure else None
    http3 = mode.startswith("h3")
    with LiveServer(transport_app(), tls=tls, http3=http3) as server:
        if http3:
            assert has_http3(), f"pycurl's libcurl has no HTTP/3: {pycurl.version}"
            with CurlH3Client(server.url, str(certificates.ca_pem)) as h3_client:
                yield mode, h3_client
            return
        context = ssl.create_default_context(cafile=str(certificates.ca_pem))
        http2 = mode.startswith("h2")
        with httpx.Client(
            base_url=server.url, verify=context, http1=mode != "h2c", http2=http2
        ) as client:
            yield mode, client


def test_same_answers_over_every_transport(mode_client: tuple[str, httpx.Client | CurlH3Client]) -> None:
    mode, client = mode_client
    version = VERSIONS[mode]
    item = client.get("/items/7")
    assert item.http_version == f"HTTP/{version}"
    assert item.json() == {
        "id": 7,
        "version": version,
        "scheme": "http" if mode in ("http1", "h2c") else "https",
    }
    assert item.headers["content-type"] == "application/json"
    assert item.headers["content-length"] == str(len(item.content))
    assert "date" in item.headers
    assert client.post("/echo", json={"a": [1, 2]}).json() == {"a": [1, 2]}
    tagged = client.get("/tagged", headers={"x-probe": "sent"})
    assert (tagged.status_code, tagged.text, tagged.headers["x-tag"]) == (203, "tagged", "sent")
    missing = client.get("/nope")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    assert client.get("/events").text == "data: 0\n\ndata: 1\n\ndata: 2\n\n"


def test_head_over_every_transport(mode_client: tuple[str, httpx.Client | CurlH3Client]) -> None:
    """HEAD: the GET answer's status and headers, Content-Length included (RFC 9110,
    9.3.2), and no content: on a GET route, on a 404 and on a 405 alike."""
    _, client = mode_client

    def comparable(headers: Mapping[str, str]) -> dict[str, str]:
        return {n: v for n, v in headers.items() if n not in ("date", "content-length")}

    # The problem detail of a 404 or 405 names the method: HEAD is one letter longer.
    for path, status, longer in [("/items/7", 200, 0), ("/nope", 404, 1), ("/echo", 405, 1)]:
        get = client.get(path)
        head = client.head(path)
        assert (get.status_code, head.status_code) == (status, status)
        assert head.content == b""
        assert head.headers["content-length"] == str(len(get.content) + longer)
        assert get.headers["content-length"] == str(len(get.content))
        assert comparable(head.headers) == comparable(get.headers)
    streamed = client.head("/events")
    assert streamed.status_code == 200 and streamed.content == b""
    assert "content-length" not in streamed.headers, "a stream's length is not known ahead"


def test_many_concurrent_streams_on_one_http2_connection(certificates: Certificates) -> None:
    app = App()

    @app.get("/slow/{n:int}")
    async def slow(request):
        await asyncio.sleep(0.05)
        return {"n": request.params["n"]}

    tls = TlsConfig(str(certificates.cert), str(certificates.key))
    with LiveServer(app, tls=tls) as server:

        async def fetch_all() -> list[object]:
            context = ssl.create_default_context(cafile=str(certificates.ca_pem))
            async with httpx.AsyncClient(base_url=server.url, verify=context, http2=True) as client:
                responses = await asyncio.gather(*(client.get(f"/slow/{n}") for n in range(50)))
                assert {r.http_version for r in responses} == {"HTTP/2"}
                return [r.json()["n"] for r in responses]

        assert asyncio.run(fetch_all()) == list(range(50))


def test_curl_http2_prior_knowledge() -> None:
    curl = shutil.which("curl")
    assert curl is not None, "curl is installed by .ci/run"
    with LiveServer(transport_app()) as server:
        output = subprocess.run(
            [curl, "-sS", "--http2-prior-knowledge", "-w", "\\n%{http_version}", server.url + "/items/3"],
            capture_output=True, text=True, timeout=30, check=True,
        ).stdout
    body, version = output.rsplit("\n", 1)
    assert version == "2"
    assert body == '{"id":3,"version":"2","scheme":"http"}'


def test_start_up_errors_are_clear(certificates: Certificates) -> None:
    app = transport_app()
    with pytest.raises(RuntimeError, match="cannot read certificate .*missing.pem"):
        LiveServer(app, tls=TlsConfig(str(certificates.directory / "missing.pem"), str(certificates.key))).start()
    other_key = certificates.directory / "other-key.pem"
    trustme.CA().issue_cert("127.0.0.1").private_key_pem.write_to_path(str(other_key))
    with pytest.raises(RuntimeError, match="does not match the certificate"):
        LiveServer(app, tls=TlsConfig(str(certificates.cert), str(other_key))).start()
    empty = certificates.directory / "empty.pem"
    empty.write_text("not a certificate\n")
    with pytest.raises(RuntimeError, match="no certificate in PEM format"):
        LiveServer(app, tls=TlsConfig(str(empty), str(certificates.key))).start()
    assert issubclass(TlsError, Exception)


def test_mutual_tls(certificates: Certificates) -> None:
    client_cert = certificates.ca.issue_cert("client@example.com")
    client_pem = certificates.directory / "client.pem"
    client_cert.private_key_and_cert_chain_pem.write_to_path(str(client_pem))
    tls = TlsConfig(str(certificates.cert), str(certificates.key), client_ca_path=str(certificates.ca_pem))
    with LiveServer(transport_app(), tls=tls) as server:
        anonymous = ssl.create_default_context(cafile=str(certificates.ca_pem))
        with pytest.raises(httpx.HTTPError):
            httpx.get(server.url + "/items/1", verify=anonymous)
        identified = ssl.create_default_context(cafile=str(certificates.ca_pem))
        identified.load_cert_chain(str(client_pem))
        assert httpx.get(server.url + "/items/1", verify=identified).json()["id"] == 1


def test_certificate_reload_without_restart(certificates: Certificates) -> None:
    with LiveServer(transport_app(), tls=TlsConfig(str(certificates.cert), str(certificates.key))) as server:
        old_context = ssl.create_default_context(cafile=str(certificates.ca_pem))
        assert httpx.get(server.url + "/items/1", verify=old_context).status_code == 200
        renewed_ca = trustme.CA()
        renewed = renewed_ca.issue_cert("127.0.0.1")
        renewed.private_key_pem.write_to_path(str(certificates.key))
        renewed.cert_chain_pems[0].write_to_path(str(certificates.cert))
        server._server.reload_tls()
        new_ca = certificates.directory / "new-ca.pem"
        renewed_ca.cert_pem.write_to_path(str(new_ca))
        new_context = ssl.create_default_context(cafile=str(new_ca))
        assert httpx.get(server.url + "/items/1", verify=new_context).status_code == 200
        with pytest.raises(httpx.HTTPError):
            httpx.get(server.url + "/items/1", verify=ssl.create_default_context(cafile=str(certificates.ca_pem)))


def test_http3_answers_like_the_others(certificates: Certificates) -> None:
    from support.h3client import fetch_all

    tls = TlsConfig(str(certificates.cert), str(certificates.key))
    with LiveServer(transport_app(), tls=tls, http3=True) as server:
        context = ssl.create_default_context(cafile=str(certificates.ca_pem))
        advertised = httpx.get(server.url + "/items/1", verify=context).headers["alt-svc"]
        assert advertised == f'h3=":{server.port}"; ma=86400'
        # No HEAD with aioquic (1.7): its H3 layer checks Content-Length against the
        # DATA received without knowing the request was HEAD, though RFC 9114, 4.1.2
        # allows a HEAD answer a non-zero Content-Length and no DATA. HEAD over HTTP/3
        # is tested with pycurl (test_head_over_every_transport).
        item, echo, missing, events = asyncio.run(
            fetch_all(
                server.port,
                str(certificates.ca_pem),
                [
                    ("GET", "/items/7", b""),
                    ("POST", "/echo", b'{"a": [1, 2]}'),
                    ("GET", "/nope", b""),
                    ("GET", "/events", b""),
                ],
            )
        )
    assert item.status == 200
    assert item.body == b'{"id":7,"version":"3","scheme":"https"}'
    assert echo.body == b'{"a":[1,2]}'
    assert missing.status == 404 and missing.headers["content-type"] == "application/problem+json"
    assert events.body == b"data: 0\n\ndata: 1\n\ndata: 2\n\n"


def test_http3_graceful_shutdown_finishes_in_flight_requests(certificates: Certificates) -> None:
    """`stop()` while an HTTP/3 request is in flight: new connections are refused, the
    request gets its whole answer, then the server stops."""
    app = App()
    started, release = threading.Event(), threading.Event()

    @app.get("/slow")
    async def slow(request):
        started.set()
        for _ in range(1000):  # bounded: at most ~10 s
            if release.is_set():
                break
            await asyncio.sleep(0.01)
        return {"slow": "done"}

    tls = TlsConfig(str(certificates.cert), str(certificates.key))
    server = LiveServer(app, tls=tls, http3=True).start()
    answers: list[CurlResponse | pycurl.error] = []

    def fetch() -> None:
        with CurlH3Client(server.url, str(certificates.ca_pem), timeout=20) as client:
            try:
                answers.append(client.get("/slow"))
            except pycurl.error as error:
                answers.append(error)

    requester = threading.Thread(target=fetch)
    stopper = threading.Thread(target=server.stop, kwargs={"timeout": 20})
    requester.start()
    try:
        assert started.wait(10), "the handler did not start"
        stopper.start()
        refused = False
        for _ in range(50):  # bounded: the drain began when a new connection fails
            with CurlH3Client(server.url, str(certificates.ca_pem), timeout=2) as late:
                try:
                    late.get("/slow")
                except pycurl.error:
                    refused = True
                    break
        assert refused, "the server kept accepting HTTP/3 connections after shutdown began"
        assert stopper.is_alive(), "stop() returned before the in-flight request finished"
    finally:
        release.set()
        requester.join(20)
        if stopper.ident is None:  # failed before the stop began
            server.stop()
        else:
            stopper.join(20)
    assert not stopper.is_alive(), "the server did not stop"
    [answer] = answers
    assert isinstance(answer, CurlResponse), answer
    assert (answer.status_code, answer.json()) == (200, {"slow": "done"})


def test_http3_needs_tls() -> None:
    with pytest.raises(RuntimeError, match="HTTP/3 needs TLS"):
        LiveServer(transport_app(), http3=True).start()


def test_plain_http_listener_redirects_to_https(certificates: Certificates) -> None:
    import socket as socket_module

    with socket_module.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        plain_port = probe.getsockname()[1]
    tls = TlsConfig(str(certificates.cert), str(certificates.key), redirect_http_port=plain_port)
    with LiveServer(transport_app(), tls=tls) as server:
        response = httpx.get(f"http://127.0.0.1:{plain_port}/items/4?x=1")
        assert response.status_code == 308
        assert response.headers["location"] == f"https://127.0.0.1:{server.port}/items/4?x=1"
        context = ssl.create_default_context(cafile=str(certificates.ca_pem))
        followed = httpx.get(f"http://127.0.0.1:{plain_port}/items/4", verify=context, follow_redirects=True)
        assert followed.json()["scheme"] == "https"
