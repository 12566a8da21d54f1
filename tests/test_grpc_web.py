"""gRPC-Web (binary and text) with raw framed requests over HTTP/1.1 (httpx): the
messages, the status in the body's last frame, base64 both ways for ``-text``; and a
server without ``enable_web`` treating it as plain HTTP."""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

pytest.importorskip("grpc", reason="gRPC tests need grpcio (make venv installs it)")
pytest.importorskip("grpc_tools", reason="gRPC tests need grpcio-tools (make venv installs it)")

from cello import App, GrpcConfig
from cello.testing import LiveServer
from grpc_interop import Seen, generate, make_servicers


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModuleType, ModuleType, ModuleType]:
    return generate(Path(tmp_path_factory.mktemp("grpc_generated")))


def frame(message: bytes, flag: int = 0) -> bytes:
    return struct.pack(">BI", flag, len(message)) + message


def unframe(body: bytes) -> tuple[list[bytes], dict[str, str]]:
    """The messages and the trailer frame's fields of a gRPC-Web body."""
    messages: list[bytes] = []
    trailers: dict[str, str] = {}
    while body:
        flag, size = struct.unpack(">BI", body[:5])
        payload, body = body[5 : 5 + size], body[5 + size :]
        if flag & 0x80:
            for line in payload.decode().split("\r\n"):
                if line:
                    name, value = line.split(":", 1)
                    trailers[name.strip()] = value.strip()
        else:
            messages.append(payload)
    return messages, trailers


def web_app(generated: tuple[ModuleType, ModuleType, ModuleType], enable_web: bool) -> App:
    test_pb2_grpc, messages, empty = generated
    sync_service, _ = make_servicers(test_pb2_grpc, messages, empty, Seen())
    app = App()
    app.enable_grpc(GrpcConfig(reflection=False, health=False, enable_web=enable_web))
    test_pb2_grpc.add_TestServiceServicer_to_server(sync_service(), app)
    return app


@pytest.fixture
def base(generated: tuple[ModuleType, ModuleType, ModuleType]) -> Iterator[str]:
    with LiveServer(web_app(generated, enable_web=True)) as live:
        yield f"http://127.0.0.1:{live.port}"


def test_unary_binary(base: str, generated: tuple[ModuleType, ModuleType, ModuleType]) -> None:
    _, m, _ = generated
    request = m.SimpleRequest(response_size=7).SerializeToString()
    response = httpx.post(f"{base}/grpc.testing.TestService/UnaryCall", content=frame(request), headers={"content-type": "application/grpc-web+proto", "x-grpc-web": "1"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/grpc-web+proto"
    messages, trailers = unframe(response.content)
    assert [m.SimpleResponse.FromString(raw).payload.body for raw in messages] == [b"\0" * 7]
    assert trailers["grpc-status"] == "0"


def test_server_streaming_text(base: str, generated: tuple[ModuleType, ModuleType, ModuleType]) -> None:
    _, m, _ = generated
    request = m.StreamingOutputCallRequest(response_parameters=[m.ResponseParameters(size=size) for size in (1, 5000, 3)])
    # A client may send the text body in separately padded pieces.
    body = frame(request.SerializeToString())
    text = base64.b64encode(body[:4]) + base64.b64encode(body[4:])
    response = httpx.post(f"{base}/grpc.testing.TestService/StreamingOutputCall", content=text, headers={"content-type": "application/grpc-web-text", "accept": "application/grpc-web-text"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/grpc-web-text+proto"
    decoded = b"".join(base64.b64decode(chunk + b"=" * (-len(chunk) % 4)) for chunk in _padded_pieces(response.content))
    messages, trailers = unframe(decoded)
    assert [len(m.StreamingOutputCallResponse.FromString(raw).payload.body) for raw in messages] == [1, 5000, 3]
    assert trailers["grpc-status"] == "0"


def _padded_pieces(text: bytes) -> list[bytes]:
    """Splits concatenated base64 at its padding (each response chunk is padded alone)."""
    pieces, current = [], b""
    for index in range(0, len(text), 4):
        quantum = text[index : index + 4]
        current += quantum
        if quantum.endswith(b"="):
            pieces.append(current)
            current = b""
    if current:
        pieces.append(current)
    return pieces


def test_an_error_status_reaches_a_web_client(base: str, generated: tuple[ModuleType, ModuleType, ModuleType]) -> None:
    _, m, _ = generated
    request = m.StreamingOutputCallRequest(response_status=m.EchoStatus(code=5, message="no such thing"))
    response = httpx.post(f"{base}/grpc.testing.TestService/FullDuplexCall", content=frame(request.SerializeToString()), headers={"content-type": "application/grpc-web"})
    assert response.status_code == 200
    messages, trailers = unframe(response.content)
    status = trailers.get("grpc-status") or response.headers.get("grpc-status")
    message = trailers.get("grpc-message") or response.headers.get("grpc-message")
    assert (messages, status, message) == ([], "5", "no such thing")


def test_bad_text_body_is_a_grpc_error_not_a_crash(base: str) -> None:
    response = httpx.post(f"{base}/grpc.testing.TestService/UnaryCall", content=b"!!!!not base64", headers={"content-type": "application/grpc-web-text"})
    assert response.status_code == 200
    status = response.headers.get("grpc-status") or unframe(base64.b64decode(response.content))[1]["grpc-status"]
    assert status == "13"
    assert httpx.post(f"{base}/grpc.testing.TestService/EmptyCall", content=frame(b""), headers={"content-type": "application/grpc-web"}).status_code == 200


def test_without_enable_web_it_is_plain_http(generated: tuple[ModuleType, ModuleType, ModuleType]) -> None:
    with LiveServer(web_app(generated, enable_web=False)) as live:
        response: Any = httpx.post(f"http://127.0.0.1:{live.port}/grpc.testing.TestService/EmptyCall", content=frame(b""), headers={"content-type": "application/grpc-web"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_the_server_compresses_when_the_handler_asks_and_the_client_accepts(generated: tuple[ModuleType, ModuleType, ModuleType]) -> None:
    """server_compressed_unary, checked on the wire: the answer's frame has the
    compressed flag and inflates to the message; without grpc-accept-encoding it is
    sent plain."""
    import gzip

    _, m, _ = generated
    with LiveServer(web_app(generated, enable_web=False)) as live, httpx.Client(http1=False, http2=True) as client:
        request = m.SimpleRequest(response_size=1000, response_compressed=m.BoolValue(value=True)).SerializeToString()
        headers = {"content-type": "application/grpc", "te": "trailers"}
        url = f"http://127.0.0.1:{live.port}/grpc.testing.TestService/UnaryCall"
        compressed = client.post(url, content=frame(request), headers={**headers, "grpc-accept-encoding": "gzip"})
        plain = client.post(url, content=frame(request), headers=headers)
    assert compressed.headers["grpc-encoding"] == "gzip"
    flag, size = struct.unpack(">BI", compressed.content[:5])
    assert flag == 1 and size < 100
    assert m.SimpleResponse.FromString(gzip.decompress(compressed.content[5:])).payload.body == b"\0" * 1000
    assert "grpc-encoding" not in plain.headers
    assert plain.content[0] == 0 and len(plain.content) > 1000
