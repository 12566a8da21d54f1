"""The original's gRPC API, served for real: `GrpcService` classes of `@grpc_method`
methods taking and returning dicts, bound to a `.proto` compiled by Cello (no protoc),
called with grpcio's generated client and with `GrpcChannel` (descriptors from the
server's reflection), and `GrpcServer` on its own."""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

grpc = pytest.importorskip("grpc", reason="gRPC tests need grpcio (make venv installs it)")
pytest.importorskip("grpc_tools", reason="gRPC tests need grpcio-tools (make venv installs it)")

from cello import App, GrpcConfig
from cello.grpc import GrpcChannel, GrpcError, GrpcResponse, GrpcServer, GrpcService, grpc_method
from cello.testing import LiveServer

PROTOS = Path(__file__).parent / "grpc" / "protos" / "users"
USERS = {1: {"id": 1, "name": "Ada", "tags": ["admin"], "role": "ADMIN"}, 2: {"id": 2, "name": "Alan", "tags": [], "role": "MEMBER"}}


class UserService(GrpcService):
    @grpc_method
    async def GetUser(self, request: Any) -> Any:
        user = USERS.get(request["id"])
        if user is None:
            raise GrpcError(GrpcError.NOT_FOUND, f"no user {request.get('id')}")
        return user

    @grpc_method(stream=True)
    def ListUsers(self, request: Any) -> Any:
        limit = request.get("limit") or len(USERS)
        yield from list(USERS.values())[:limit]

    @grpc_method
    def CreateUser(self, request: Any, context: Any) -> Any:
        if not request["name"]:
            return GrpcResponse(error="a name is required", code=GrpcError.INVALID_ARGUMENT)
        if request["name"] == "typo":
            return {"id": 3, "nmae": "typo"}
        return GrpcResponse.ok({**request.data, "id": 3, "tags": [request.metadata.get("x-tag", "")]})

    @grpc_method
    async def CountUsers(self, requests: Any) -> Any:
        return {"count": len([request async for request in requests])}


@pytest.fixture(scope="module")
def users_pb2_grpc(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModuleType, ModuleType]:
    """grpcio-tools' code for users.proto: the client a grpcio user would have."""
    from grpc_tools import protoc

    out = tmp_path_factory.mktemp("users_generated")
    assert protoc.main(["protoc", f"-I{PROTOS}", f"--python_out={out}", f"--grpc_python_out={out}", "users.proto"]) == 0
    sys.path.insert(0, str(out))
    return importlib.import_module("users_pb2"), importlib.import_module("users_pb2_grpc")


@pytest.fixture
def server() -> Iterator[LiveServer]:
    app = App()
    app.enable_grpc(GrpcConfig(reflection=True), proto_files=["users.proto"], include_paths=[str(PROTOS)])
    app.add_grpc_service(UserService())
    assert app.grpc_services[0] == "demo.users.UserService"
    with LiveServer(app) as live:
        yield live


def test_grpcio_generated_client_calls_a_dict_service(server: LiveServer, users_pb2_grpc: tuple[ModuleType, ModuleType]) -> None:
    users_pb2, stubs = users_pb2_grpc
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = stubs.UserServiceStub(channel)
        user = stub.GetUser(users_pb2.GetUserRequest(id=1), timeout=10)
        assert (user.id, user.name, list(user.tags), user.role) == (1, "Ada", ["admin"], users_pb2.ADMIN)
        with pytest.raises(grpc.RpcError) as caught:
            stub.GetUser(users_pb2.GetUserRequest(id=9), timeout=10)
        assert (caught.value.code(), caught.value.details()) == (grpc.StatusCode.NOT_FOUND, "no user 9")
        assert [u.name for u in stub.ListUsers(users_pb2.ListUsersRequest(limit=1), timeout=10)] == ["Ada"]
        assert [u.name for u in stub.ListUsers(users_pb2.ListUsersRequest(), timeout=10)] == ["Ada", "Alan"]
        created = stub.CreateUser(users_pb2.User(name="Grace"), metadata=[("x-tag", "new")], timeout=10)
        assert (created.id, created.name, list(created.tags)) == (3, "Grace", ["new"])
        with pytest.raises(grpc.RpcError) as caught:
            stub.CreateUser(users_pb2.User(), timeout=10)
        assert (caught.value.code(), caught.value.details()) == (grpc.StatusCode.INVALID_ARGUMENT, "a name is required")
        with pytest.raises(grpc.RpcError) as caught:
            stub.CreateUser(users_pb2.User(name="typo"), timeout=10)
        assert caught.value.code() == grpc.StatusCode.INTERNAL
        assert "nmae" in caught.value.details()
        assert stub.CountUsers(iter([users_pb2.User(id=i) for i in range(4)]), timeout=10).count == 4


def test_grpc_channel_calls_with_dicts_and_descriptors_from_reflection(server: LiveServer) -> None:
    async def calls() -> tuple[Any, Any, Any]:
        channel = await GrpcChannel.connect(f"127.0.0.1:{server.port}")
        try:
            user = await channel.call("UserService", "GetUser", {"id": 2})
            listed = await channel.call("demo.users.UserService", "ListUsers", {"limit": 5})
            with pytest.raises(GrpcError) as caught:
                await channel.call("UserService", "GetUser", {"id": 42})
            return user, listed, caught.value
        finally:
            await channel.close()

    user, listed, error = asyncio.run(calls())
    assert user == {"id": 2, "name": "Alan", "tags": [], "role": "MEMBER"}
    assert [u["name"] for u in listed] == ["Ada", "Alan"]
    assert (error.code, error.message) == (GrpcError.NOT_FOUND, "no user 42")


def test_grpc_server_serves_registered_services_on_its_own() -> None:
    async def run() -> Any:
        server = GrpcServer(GrpcConfig(reflection=False, health=False), proto_files=[str(PROTOS / "users.proto")])
        server.register_service(UserService())
        with pytest.raises(ValueError, match="registered already"):
            server.register_service(UserService())
        with pytest.raises(TypeError):
            server.register_service(object())  # type: ignore[arg-type]
        assert server.get_services() == ["UserService"]
        await server.start("127.0.0.1:0")
        try:
            with pytest.raises(RuntimeError):
                await server.start("127.0.0.1:0")
            channel = GrpcChannel(f"127.0.0.1:{server.port}", proto_files=[str(PROTOS / "users.proto")])
            try:
                return await channel.call("UserService", "GetUser", {"id": 1})
            finally:
                await channel.close()
        finally:
            await server.stop()

    assert asyncio.run(run())["name"] == "Ada"


def test_mistakes_are_said_at_start_up(tmp_path: Path) -> None:
    bad = tmp_path / "bad.proto"
    bad.write_text('syntax = "proto3";\nmessage {\n')
    with pytest.raises(ValueError, match="bad.proto"):
        App().enable_grpc(GrpcConfig(reflection=False), proto_files=[str(bad)])
    app = App()
    app.enable_grpc(GrpcConfig(reflection=False, health=False))
    app.add_grpc_service(UserService())
    with pytest.raises(LookupError, match="proto_files"):
        app._grpc_engine()

    class OrderService(GrpcService):
        pass

    app = App()
    app.enable_grpc(GrpcConfig(reflection=False, health=False), proto_files=[str(PROTOS / "users.proto")])
    with pytest.raises(LookupError, match="no service"):
        app.add_grpc_service(OrderService())


def test_the_originals_doc_spellings(server: LiveServer) -> None:
    from cello.grpc import GrpcRequest

    async def call() -> Any:
        channel = GrpcChannel(f"127.0.0.1:{server.port}")
        try:
            return await channel.call(service="UserService", method="GetUser", request=GrpcRequest(data={"id": 1}))
        finally:
            await channel.close()

    response = asyncio.run(call())
    assert response.data["name"] == "Ada" and response.status_code == 0
    assert GrpcServer(host="localhost", port=6000).config.address == "localhost:6000"


def test_the_originals_value_classes() -> None:
    assert GrpcResponse(error="gone", code=5).status_code == 5
    assert GrpcResponse.error(3, "bad").message == "bad"
    assert UserService().get_name() == "UserService"
    assert {"name": "ListUsers", "stream": True} in UserService().get_methods()

    class Named(GrpcService):
        service_name = "demo.users.UserService"

    assert Named().get_name() == "demo.users.UserService"
    assert GrpcService("X").get_name() == "X"
