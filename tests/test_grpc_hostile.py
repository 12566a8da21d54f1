"""Hostile gRPC requests over a real socket (issue #18's invariant for the gRPC door):
arbitrary bodies (frames with any flag and length, compressed frames that do not
inflate, truncations), arbitrary `grpc-timeout`, `grpc-encoding` and metadata, to a
grpcio servicer and to a dict-API service, over raw HTTP/2 (the `h2` library). Every
answer is a gRPC status: HTTP 200, a `grpc-status` from 0 to 16 in the headers or the
trailers, the stream ended and not reset. Afterwards the same server still answers a
real grpcio call."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

grpc = pytest.importorskip("grpc", reason="gRPC tests need grpcio (make venv installs it)")
pytest.importorskip("grpc_tools", reason="gRPC tests need grpcio-tools (make venv installs it)")

from cello import App, GrpcConfig
from cello.testing import LiveServer
from grpc_interop import Seen, generate, make_servicers
from h2conformance.client import H2Client
from test_grpc_dict_api import PROTOS, UserService

PATHS = [
    "/grpc.testing.TestService/UnaryCall",
    "/grpc.testing.TestService/StreamingInputCall",
    "/grpc.testing.TestService/FullDuplexCall",
    "/demo.users.UserService/GetUser",
    "/demo.users.UserService/CountUsers",
    "/no.Such/Method",
    "/not-a-method",
]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModuleType, ModuleType, ModuleType]:
    return generate(Path(tmp_path_factory.mktemp("grpc_generated")))


@pytest.fixture(scope="module")
def served(generated: tuple[ModuleType, ModuleType, ModuleType]) -> Iterator[tuple[str, H2Client]]:
    test_pb2_grpc, messages, empty = generated
    sync_service, _ = make_servicers(test_pb2_grpc, messages, empty, Seen())
    app = App()
    app.enable_grpc(GrpcConfig(reflection=False, health=False, max_message_size=64 * 1024), proto_files=[str(PROTOS / "users.proto")])
    test_pb2_grpc.add_TestServiceServicer_to_server(sync_service(), app)
    app.add_grpc_service(UserService())
    with LiveServer(app) as live, H2Client.connect("127.0.0.1", live.port, timeout=30) as client:
        yield f"http://127.0.0.1:{live.port}", client


frames = st.lists(
    st.tuples(st.sampled_from([0, 1, 2, 0x80]), st.binary(max_size=64), st.integers(min_value=-3, max_value=3)),
    max_size=4,
).map(lambda parts: b"".join(struct.pack(">BI", flag, max(len(payload) + skew, 0)) + payload for flag, payload, skew in parts))
bodies = st.one_of(frames, st.binary(max_size=200), frames.map(lambda body: body[: len(body) // 2]))
header_text = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=12)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(PATHS),
    body=bodies,
    timeout=st.one_of(st.none(), header_text, st.sampled_from(["1m", "5S", "99999999H", "0n"])),
    encoding=st.one_of(st.none(), st.sampled_from(["gzip", "identity", "snappy", ""])),
    metadata=st.lists(st.tuples(st.sampled_from(["x-a", "x-b-bin", "user-agent"]), header_text), max_size=3),
)
def test_any_request_gets_a_grpc_status(served: tuple[str, H2Client], path: str, body: bytes, timeout: str | None, encoding: str | None, metadata: list[tuple[str, str]]) -> None:
    _, client = served
    headers = [("content-type", "application/grpc"), ("te", "trailers"), *metadata]
    if timeout is not None:
        headers.append(("grpc-timeout", timeout))
    if encoding is not None:
        headers.append(("grpc-encoding", encoding))
    response = client.response(client.request("POST", path, body, headers))
    assert response.status == 200
    status = response.header("grpc-status") or dict(response.trailers).get("grpc-status")
    assert status is not None, (response.headers, response.trailers)
    assert 0 <= int(status) <= 16


def test_the_server_still_answers_after_the_hostile_requests(served: tuple[str, H2Client], generated: tuple[ModuleType, ModuleType, ModuleType]) -> None:
    base, _ = served
    test_pb2_grpc, messages, _ = generated
    with grpc.insecure_channel(base.removeprefix("http://")) as channel:
        answer = test_pb2_grpc.TestServiceStub(channel).UnaryCall(messages.SimpleRequest(response_size=5), timeout=10)
    assert answer.payload.body == b"\0" * 5
