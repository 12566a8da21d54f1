"""`buf curl` (npm `@bufbuild/buf`) as the peer: it lists the methods through
reflection v1 and v1alpha, calls over gRPC (HTTP/2) and over gRPC-Web (HTTP/1.1 and
HTTP/2), and describes a dict-API service compiled by Cello. buf is installed once into
``$HOME/.cache/cello-buf`` with the machine's npm."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytest.importorskip("grpc", reason="gRPC tests need grpcio (make venv installs it)")
pytest.importorskip("grpc_tools", reason="gRPC tests need grpcio-tools (make venv installs it)")

from cello import App, GrpcConfig
from cello.testing import LiveServer
from grpc_interop import Seen, generate, make_servicers
from test_grpc_dict_api import PROTOS, UserService

MODULES = Path.home() / ".cache" / "cello-buf"


def buf() -> str:
    binary = MODULES / "node_modules" / ".bin" / "buf"
    if not binary.exists():
        npm = shutil.which("npm")
        assert npm is not None, "buf comes from npm: Node.js and npm must be on PATH (apt-get install nodejs npm)"
        MODULES.mkdir(parents=True, exist_ok=True)
        subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(MODULES), "@bufbuild/buf@1"], check=True, timeout=600)
    return str(binary)


def curl(*args: str) -> list[Any]:
    """Runs ``buf curl``; the JSON messages it printed."""
    run = subprocess.run([buf(), "curl", *args], capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    decoder, text, messages = json.JSONDecoder(), run.stdout.strip(), []
    while text:
        message, end = decoder.raw_decode(text)
        messages.append(message)
        text = text[end:].strip()
    return messages


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModuleType, ModuleType, ModuleType]:
    return generate(Path(tmp_path_factory.mktemp("grpc_generated")))


@pytest.fixture
def base(generated: tuple[ModuleType, ModuleType, ModuleType]) -> Iterator[str]:
    test_pb2_grpc, messages, empty = generated
    _, async_service = make_servicers(test_pb2_grpc, messages, empty, Seen())
    app = App()
    app.enable_grpc(GrpcConfig(reflection=True, enable_web=True), proto_files=[str(PROTOS / "users.proto")])
    test_pb2_grpc.add_TestServiceServicer_to_server(async_service(), app)
    app.add_grpc_service(UserService())
    with LiveServer(app) as live:
        yield f"http://127.0.0.1:{live.port}"


@pytest.mark.parametrize("reflection", ["grpc-v1", "grpc-v1alpha"])
def test_buf_lists_the_methods_through_reflection(base: str, reflection: str) -> None:
    run = subprocess.run([buf(), "curl", "--protocol", "grpc", "--http2-prior-knowledge", "--reflect-protocol", reflection, "--list-methods", base], capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    methods = set(run.stdout.split())
    assert {"grpc.testing.TestService/UnaryCall", "grpc.testing.TestService/FullDuplexCall", "grpc.health.v1.Health/Watch", "demo.users.UserService/GetUser"} <= methods


def test_buf_calls_over_grpc(base: str) -> None:
    (answer,) = curl("--protocol", "grpc", "--http2-prior-knowledge", "-d", '{"response_size": 3}', f"{base}/grpc.testing.TestService/UnaryCall")
    assert answer == {"payload": {"body": "AAAA"}}


@pytest.mark.parametrize("http2", [False, True], ids=["http1", "http2"])
def test_buf_streams_over_grpc_web(base: str, http2: bool) -> None:
    flags = ["--http2-prior-knowledge"] if http2 else []
    request = '{"response_parameters": [{"size": 2}, {"size": 1}]}'
    answers = curl("--protocol", "grpcweb", *flags, "-d", request, f"{base}/grpc.testing.TestService/StreamingOutputCall")
    assert answers == [{"payload": {"body": "AAA="}}, {"payload": {"body": "AA=="}}]


def test_buf_calls_a_dict_service_it_learned_by_reflection(base: str) -> None:
    (user,) = curl("--protocol", "grpc", "--http2-prior-knowledge", "-d", '{"id": 1}', f"{base}/demo.users.UserService/GetUser")
    assert user == {"id": "1", "name": "Ada", "tags": ["admin"], "role": "ADMIN"}
    run = subprocess.run([buf(), "curl", "--protocol", "grpc", "--http2-prior-knowledge", "-d", '{"id": 9}', f"{base}/demo.users.UserService/GetUser"], capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode != 0
    assert "not_found" in run.stderr and "no user 9" in run.stderr
