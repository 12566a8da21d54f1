"""gRPC beside the interop cases: reflection (grpcio-reflection's client, v1alpha and
v1), health (grpcio-health-checking's client, Check and Watch, NOT_SERVING on drain),
seed 003's `enable_grpc` example, TLS, and plain HTTP on the same port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

grpc = pytest.importorskip("grpc", reason="gRPC tests need grpcio (make venv installs it)")
pytest.importorskip("grpc_tools", reason="gRPC tests need grpcio-tools (make venv installs it)")

from cello import App, GrpcConfig, TlsConfig
from cello.testing import LiveServer
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_interop import Seen, generate, make_servicers
from grpc_reflection.v1alpha import reflection_pb2
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModuleType, ModuleType, ModuleType]:
    return generate(Path(tmp_path_factory.mktemp("grpc_generated")))


def interop_app(generated: tuple[ModuleType, ModuleType, ModuleType], config: GrpcConfig) -> App:
    test_pb2_grpc, messages, empty = generated
    _, async_service = make_servicers(test_pb2_grpc, messages, empty, Seen())
    app = App()

    @app.get("/")
    def index() -> dict[str, str]:
        return {"served": "http"}

    app.enable_grpc(config)
    test_pb2_grpc.add_TestServiceServicer_to_server(async_service(), app)
    return app


@pytest.fixture
def server(generated: tuple[ModuleType, ModuleType, ModuleType]) -> Iterator[LiveServer]:
    with LiveServer(interop_app(generated, GrpcConfig(reflection=True))) as live:
        yield live


def test_reflection_lists_and_describes_the_services(server: LiveServer) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        services = set(database.get_services())
        assert {"grpc.testing.TestService", "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"} <= services
        described = database.FindFileContainingSymbol("grpc.testing.TestService")
        assert described.name == "interop/test.proto"
        assert [method.name for method in described.service[0].method][:2] == ["EmptyCall", "UnaryCall"]


def test_reflection_v1_answers_the_same(server: LiveServer) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        info = channel.stream_stream(
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
        )
        (answer,) = list(info(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10))
        names = {service.name for service in answer.list_services_response.service}
        assert {"grpc.testing.TestService", "grpc.reflection.v1.ServerReflection"} <= names


def test_health_check_and_watch_until_the_drain(server: LiveServer) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for name in ("", "grpc.testing.TestService"):
            assert stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=10).status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.RpcError) as caught:
            stub.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=10)
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        watch = stub.Watch(health_pb2.HealthCheckRequest(service="grpc.testing.TestService"), timeout=10)
        assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
        server.app._begin_drain()
        assert next(watch).status == health_pb2.HealthCheckResponse.NOT_SERVING
        watch.cancel()


def test_http_and_grpc_share_the_port(server: LiveServer, generated: tuple[ModuleType, ModuleType, ModuleType]) -> None:
    assert httpx.get(f"http://127.0.0.1:{server.port}/").json() == {"served": "http"}
    test_pb2_grpc, _, empty = generated
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        assert test_pb2_grpc.TestServiceStub(channel).EmptyCall(empty.Empty(), timeout=10) == empty.Empty()
    # A gRPC content type on a path that is no method: a gRPC answer, not a 404 page.
    with httpx.Client(http2=False) as client:
        response = client.post(f"http://127.0.0.1:{server.port}/", content=b"\0\0\0\0\0", headers={"content-type": "application/grpc"})
    assert response.status_code == 200
    assert response.headers["grpc-status"] == "12"


def test_seed_003_enable_grpc_example_runs_and_reflection_lists_its_services() -> None:
    app = App()
    app.enable_grpc(GrpcConfig(address="[::]:50051", reflection=True, enable_web=True))
    app.add_grpc_service("UserService", ["GetUser", "ListUsers"])
    app.add_grpc_service("OrderService", ["CreateOrder", "GetOrder"])
    with LiveServer(app) as live, grpc.insecure_channel(f"127.0.0.1:{live.port}") as channel:
        services = set(ProtoReflectionDescriptorDatabase(channel).get_services())
        assert {"UserService", "OrderService"} <= services
        # The address it names is served too.
        with grpc.insecure_channel("127.0.0.1:50051") as seed_channel:
            assert "UserService" in set(ProtoReflectionDescriptorDatabase(seed_channel).get_services())
        get_user = channel.unary_unary("/UserService/GetUser")
        with pytest.raises(grpc.RpcError) as caught:
            get_user(b"", timeout=10)
        assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
        assert "registered by name only" in caught.value.details()


def test_grpc_over_tls(generated: tuple[ModuleType, ModuleType, ModuleType], tmp_path: Path) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1", "localhost")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    issued.private_key_pem.write_to_path(str(key))
    cert.write_bytes(b"".join(pem.bytes() for pem in issued.cert_chain_pems))
    test_pb2_grpc, messages, _ = generated
    app = interop_app(generated, GrpcConfig(reflection=False))
    with LiveServer(app, tls=TlsConfig(str(cert), str(key))) as live:
        credentials = grpc.ssl_channel_credentials(root_certificates=ca.cert_pem.bytes())
        with grpc.secure_channel(f"127.0.0.1:{live.port}", credentials) as channel:
            stub = test_pb2_grpc.TestServiceStub(channel)
            sizes = (10, 20000)
            request = messages.StreamingOutputCallRequest(response_parameters=[messages.ResponseParameters(size=size) for size in sizes])
            assert [len(r.payload.body) for r in stub.StreamingOutputCall(request, timeout=10)] == list(sizes)


def test_config_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="max_message_size"):
        GrpcConfig(max_message_size=0)
    with pytest.raises(TypeError, match="GrpcConfig"):
        App().enable_grpc({"address": "[::]:50051"})  # type: ignore[arg-type]
    assert GrpcConfig(port=6000, enable_reflection=False).address == "[::]:6000"
    assert GrpcConfig.production().reflection is False


def test_a_servicer_object_registers_through_add_grpc_service(generated: tuple[ModuleType, ModuleType, ModuleType]) -> None:
    test_pb2_grpc, messages, empty = generated
    sync_service, _ = make_servicers(test_pb2_grpc, messages, empty, Seen())
    app = App()
    app.enable_grpc(GrpcConfig(reflection=False, health=False))
    app.add_grpc_service(sync_service())
    assert app.grpc_services == ["grpc.testing.TestService"]
    with LiveServer(app) as live, grpc.insecure_channel(f"127.0.0.1:{live.port}") as channel:
        response: Any = test_pb2_grpc.TestServiceStub(channel).UnaryCall(messages.SimpleRequest(response_size=3), timeout=10)
        assert response.payload.body == b"\0\0\0"


def test_keepalive_secs_sends_http2_pings() -> None:
    import socket

    import h2.config
    import h2.connection
    import h2.events

    app = App()
    app.enable_grpc(GrpcConfig(reflection=False, health=False, keepalive_secs=1))
    with LiveServer(app) as live, socket.create_connection(("127.0.0.1", live.port), timeout=10) as sock:
        connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        connection.initiate_connection()
        sock.sendall(connection.data_to_send())
        pinged = False
        while not pinged:
            data = sock.recv(65536)
            assert data, "the server closed the connection before pinging"
            for event in connection.receive_data(data):
                pinged = pinged or isinstance(event, h2.events.PingReceived)
            sock.sendall(connection.data_to_send())


def test_the_server_config_interval_wins() -> None:
    from cello import ServerConfig

    app = App()
    app.enable_grpc(GrpcConfig(reflection=False, health=False))
    assert app._grpc_server_config(ServerConfig()).http2_keep_alive_interval == 60.0
    assert app._grpc_server_config(ServerConfig(http2_keep_alive_interval=5)).http2_keep_alive_interval == 5


def test_an_explicit_address_opens_a_grpc_listener_too(generated: tuple[ModuleType, ModuleType, ModuleType]) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    test_pb2_grpc, _, empty = generated
    app = interop_app(generated, GrpcConfig(address=f"127.0.0.1:{free}", reflection=False))
    live = LiveServer(app)
    live.start()
    try:
        for port in (free, live.port):
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                assert test_pb2_grpc.TestServiceStub(channel).EmptyCall(empty.Empty(), timeout=10) == empty.Empty()
    finally:
        live.stop()
    # Drained and closed with the app's own port.
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", free), timeout=2).close()


def test_the_default_address_opens_nothing() -> None:
    app = App()
    app.enable_grpc(GrpcConfig(reflection=False, health=False))
    assert app._grpc_listen_address(8000) is None
    app.enable_grpc(GrpcConfig(port=8000, reflection=False, health=False))
    assert app._grpc_listen_address(8000) is None
    app.enable_grpc(GrpcConfig(address="[::]:50051", reflection=False, health=False))
    assert app._grpc_listen_address(8000) == ("::", 50051)


def test_prometheus_counts_calls_by_registered_method_only(generated: tuple[ModuleType, ModuleType, ModuleType]) -> None:
    test_pb2_grpc, _, empty = generated
    app = interop_app(generated, GrpcConfig(reflection=False, health=False))
    app.enable_prometheus(namespace="rpc", subsystem="api")
    with LiveServer(app) as live:
        with grpc.insecure_channel(f"127.0.0.1:{live.port}") as channel:
            stub = test_pb2_grpc.TestServiceStub(channel)
            for _ in range(3):
                stub.EmptyCall(empty.Empty(), timeout=10)
            with pytest.raises(grpc.RpcError):
                channel.unary_unary("/no.Such/Method")(b"", timeout=10)
        text = httpx.get(f"http://127.0.0.1:{live.port}/metrics").text
    assert 'rpc_api_requests_total{method="POST",route="/grpc.testing.TestService/EmptyCall",status="200"} 3' in text
    assert "/no.Such/Method" not in text
