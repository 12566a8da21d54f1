"""HTTP/2 conformance: h2spec's cases for RFC 9113 (HTTP/2) and RFC 7541 (HPACK),
replayed frame by frame over cleartext h2c against a real `LiveServer`.

h2spec cannot be installed here, so each of its test cases is rewritten (in
`h2conformance.cases`) with the same id ("6.5.3/2": section 6.5.3, second case), the
same frames and the outcome it expects, checked against the RFC text (see
`h2conformance.expect` for how connection and stream errors are recognised, and where
this suite is stricter than h2spec). Ids numbered "xN" are additions beyond h2spec's
list. The normal exchanges (GET, POST, many streams, streaming, graceful shutdown,
TLS with ALPN) follow the table. Every case and its result:
docs/reports/h2-conformance.md.
"""

from __future__ import annotations

import json
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import trustme
from cello import TlsConfig
from cello.testing import LiveServer
from h2conformance import (
    PREFACE,
    ErrorCode,
    FrameType,
    H2Client,
    Probe,
    expect_connection_close,
    expect_frame,
    expect_response,
)
from h2conformance.app import INDEX_BODY, STREAM_CHUNKS, conformance_app
from h2conformance.cases import CASES, Case


@pytest.fixture
def server(live: Callable[..., LiveServer]) -> LiveServer:
    return live(conformance_app())


# --- running the table ---------------------------------------------------------------------------


@pytest.mark.parametrize("spec_case", [pytest.param(case, id=case.id) for case in CASES])
def test_h2spec_case(spec_case: Case, server: LiveServer) -> None:
    with Probe(server.host, server.port) as probe:
        spec_case.run(probe)


def test_case_ids_are_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))


# --- normal exchanges (the h2 library as a strict, independent client) ---------------------------


def test_get_and_post(server: LiveServer) -> None:
    """A GET and a POST with a body get correct responses."""
    with H2Client.connect(server.host, server.port) as client:
        got = client.response(client.request("GET", "/items/7"))
        assert (got.status, json.loads(got.body)) == (200, {"id": 7})
        assert got.header("content-type") == "application/json"
        posted = client.response(client.request("POST", "/", body=b"a" * 70_000))
        assert (posted.status, posted.body) == (200, b"received 70000 bytes")


def test_many_concurrent_streams(server: LiveServer) -> None:
    """90 streams open at once on one connection, each gets its own answer."""
    with H2Client.connect(server.host, server.port) as client:
        streams = {client.request("GET", f"/items/{n}"): n for n in range(90)}
        for stream_id, n in streams.items():
            response = client.response(stream_id)
            assert (response.status, json.loads(response.body)) == (200, {"id": n})


def test_response_streaming(server: LiveServer) -> None:
    """A route yielding chunks streams them as DATA frames."""
    with H2Client.connect(server.host, server.port) as client:
        response = client.response(client.request("GET", "/stream"))
        assert response.status == 200
        assert response.body == b"".join(STREAM_CHUNKS)
        assert response.header("content-length") is None
        assert response.header("transfer-encoding") is None  # connection-specific in HTTP/2


def test_request_streaming(server: LiveServer) -> None:
    """A body sent as many DATA frames reaches `request.stream()` whole."""
    with H2Client.connect(server.host, server.port) as client:
        response = client.response(client.request("POST", "/upload", body=[b"u" * 1000] * 20))
        result = json.loads(response.body)
        assert result["bytes"] == 20_000 and result["chunks"] >= 1


def test_graceful_shutdown_sends_goaway_and_finishes_in_flight() -> None:
    """`server.stop()` while a stream is open: GOAWAY(NO_ERROR) covering the
    stream, the in-flight response completes, then the connection closes."""
    started, release = threading.Event(), threading.Event()
    server = LiveServer(conformance_app(started, release)).start()
    stopper = threading.Thread(target=server.stop, kwargs={"timeout": 20}, daemon=True)
    try:
        with Probe(server.host, server.port, timeout=5.0) as probe:
            probe.handshake()
            probe.headers(1, probe.request_fields("GET", "/slow"))
            probe.flush()
            assert started.wait(5), "the handler did not start"
            stopper.start()
            goaway = expect_frame(probe, lambda f: f.type == FrameType.GOAWAY, "GOAWAY")
            assert goaway.error_code == ErrorCode.NO_ERROR, goaway.describe()
            assert goaway.last_stream_id >= 1, "the GOAWAY drops the in-flight stream"
            release.set()
            response = expect_response(probe, 1)
            assert (response.status, response.body) == (200, b"finished after shutdown began")
            for frame in expect_connection_close(probe):
                if frame.type == FrameType.GOAWAY:  # a final GOAWAY may follow the first
                    assert frame.error_code == ErrorCode.NO_ERROR and frame.last_stream_id >= 1
    finally:
        release.set()
        if stopper.ident is None:  # failed before the stop began
            server.stop()
        else:
            stopper.join(20)
    assert not stopper.is_alive(), "the server did not stop"


# --- TLS with ALPN -------------------------------------------------------------------------------


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[LiveServer, ssl.SSLContext]]:
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    issued.private_key_pem.write_to_path(str(key))
    cert.write_bytes(b"".join(pem.bytes() for pem in issued.cert_chain_pems))
    context = ssl.create_default_context()
    ca.configure_trust(context)
    context.set_alpn_protocols(["h2", "http/1.1"])
    with LiveServer(conformance_app(), tls=TlsConfig(str(cert), str(key))) as server:
        yield server, context


def test_tls_alpn_selects_h2(tls_server: tuple[LiveServer, ssl.SSLContext]) -> None:
    """Over TLS, ALPN picks h2 and the same exchange works."""
    server, context = tls_server
    raw = socket.create_connection((server.host, server.port), timeout=5)
    with context.wrap_socket(raw, server_hostname="127.0.0.1") as sock:
        assert sock.selected_alpn_protocol() == "h2"
        client = H2Client(sock, f"{server.host}:{server.port}", scheme="https")
        response = client.response(client.request("GET", "/"))
        assert (response.status, response.body) == (200, INDEX_BODY)


def test_tls_connection_error(tls_server: tuple[LiveServer, ssl.SSLContext]) -> None:
    """Over TLS, a PING on a stream is a connection error too (GOAWAY(PROTOCOL_ERROR))."""
    server, context = tls_server
    raw = socket.create_connection((server.host, server.port), timeout=5)
    with context.wrap_socket(raw, server_hostname="127.0.0.1") as sock:
        sock.sendall(
            PREFACE
            + Probe.frame_bytes(FrameType.SETTINGS, 0, 0)
            + Probe.frame_bytes(FrameType.PING, 0, 1, b"\x00" * 8)
        )
        received = b""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, TimeoutError, ssl.SSLError):
                break
            if not chunk:
                break
            received += chunk
        frames = []
        while len(received) >= 9:
            length = int.from_bytes(received[:3], "big")
            frames.append((received[3], received[9 : 9 + length]))
            received = received[9 + length :]
        goaways = [payload for frame_type, payload in frames if frame_type == FrameType.GOAWAY]
        assert goaways, f"no GOAWAY among frame types {[t for t, _ in frames]}"
        assert struct.unpack("!I", goaways[0][4:8])[0] == ErrorCode.PROTOCOL_ERROR
