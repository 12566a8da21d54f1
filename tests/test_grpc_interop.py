"""gRPC interop cases (grpc/doc/interop-test-descriptions.md, the ones that test a
server) with grpcio's client against the interop TestService served by Cello, written
once in grpcio's sync style, once in grpc.aio's async style, and once in the original's
dict API (`GrpcService`, messages as dicts, the .proto compiled by Cello)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

grpc = pytest.importorskip("grpc", reason="gRPC tests need grpcio (make venv installs it)")
pytest.importorskip("grpc_tools", reason="gRPC tests need grpcio-tools (make venv installs it)")

from cello import App, GrpcConfig
from cello.testing import LiveServer
from grpc_interop import (
    ECHO_INITIAL,
    ECHO_TRAILING,
    PROTOS,
    Seen,
    generate,
    make_dict_service,
    make_servicers,
)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModuleType, ModuleType, ModuleType]:
    return generate(Path(tmp_path_factory.mktemp("grpc_generated")))


class Served:
    def __init__(self, stub: Any, messages: ModuleType, empty: ModuleType, channel: Any, seen: Seen) -> None:
        self.stub = stub
        self.messages = messages
        self.empty = empty
        self.channel = channel
        self.seen = seen


@pytest.fixture(params=["sync", "async", "dict"])
def served(request: pytest.FixtureRequest, generated: tuple[ModuleType, ModuleType, ModuleType]) -> Iterator[Served]:
    test_pb2_grpc, messages, empty = generated
    seen = Seen()
    sync_service, async_service = make_servicers(test_pb2_grpc, messages, empty, seen)
    app = App()
    config = GrpcConfig(reflection=False, max_message_size=1024 * 1024)
    if request.param == "dict":
        app.enable_grpc(config, proto_files=["interop/test.proto"], include_paths=[str(PROTOS)])
        app.add_grpc_service(make_dict_service(seen))
    else:
        app.enable_grpc(config)
        test_pb2_grpc.add_TestServiceServicer_to_server(sync_service() if request.param == "sync" else async_service(), app)
    server = LiveServer(app)
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        yield Served(test_pb2_grpc.TestServiceStub(channel), messages, empty, channel, seen)
    finally:
        channel.close()
        server.stop()


def test_empty_unary(served: Served) -> None:
    assert served.stub.EmptyCall(served.empty.Empty(), timeout=10) == served.empty.Empty()


def test_large_unary(served: Served) -> None:
    m = served.messages
    response = served.stub.UnaryCall(m.SimpleRequest(response_size=314159, payload=m.Payload(body=b"\0" * 271828)), timeout=10)
    assert response.payload.body == b"\0" * 314159


def test_client_streaming(served: Served) -> None:
    m = served.messages
    requests = [m.StreamingInputCallRequest(payload=m.Payload(body=b"\0" * size)) for size in (27182, 8, 1828, 45904)]
    assert served.stub.StreamingInputCall(iter(requests), timeout=10).aggregated_payload_size == 74922


def test_server_streaming(served: Served) -> None:
    m = served.messages
    sizes = (31415, 9, 2653, 58979)
    request = m.StreamingOutputCallRequest(response_parameters=[m.ResponseParameters(size=size) for size in sizes])
    assert [len(r.payload.body) for r in served.stub.StreamingOutputCall(request, timeout=10)] == list(sizes)


def test_ping_pong(served: Served) -> None:
    m = served.messages
    outgoing: queue.Queue[Any] = queue.Queue()

    def requests() -> Iterator[Any]:
        while (item := outgoing.get()) is not None:
            yield item

    responses = served.stub.FullDuplexCall(requests(), timeout=10)
    for request_size, response_size in zip((27182, 8, 1828, 45904), (31415, 9, 2653, 58979), strict=True):
        # The next request goes out only once the previous answer came back.
        outgoing.put(m.StreamingOutputCallRequest(response_parameters=[m.ResponseParameters(size=response_size)], payload=m.Payload(body=b"\0" * request_size)))
        assert len(next(responses).payload.body) == response_size
    outgoing.put(None)
    assert list(responses) == []


def test_empty_stream(served: Served) -> None:
    assert list(served.stub.FullDuplexCall(iter([]), timeout=10)) == []


def test_half_duplex_answers_after_the_requests_end(served: Served) -> None:
    m = served.messages
    requests = [m.StreamingOutputCallRequest(response_parameters=[m.ResponseParameters(size=size)]) for size in (1, 2, 3)]
    assert [len(r.payload.body) for r in served.stub.HalfDuplexCall(iter(requests), timeout=10)] == [1, 2, 3]


def test_timeout_on_sleeping_server(served: Served) -> None:
    m = served.messages
    hold: threading.Event = threading.Event()

    def requests() -> Iterator[Any]:
        yield m.StreamingOutputCallRequest(payload=m.Payload(body=b"\0" * 27182))
        hold.wait(10)

    with pytest.raises(grpc.RpcError) as caught:
        list(served.stub.FullDuplexCall(requests(), timeout=0.05))
    hold.set()
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    # The server ended the call too: the handler saw it end.
    assert served.seen.cancelled.wait(10)


def test_the_deadline_reaches_the_handler(served: Served) -> None:
    m = served.messages
    served.stub.UnaryCall(m.SimpleRequest(), timeout=30)
    remaining = served.seen.remaining[-1]
    # grpcio rounds the `grpc-timeout` it sends up to a coarser unit (30 s arrived as
    # 30.0999 s once), so the handler may see a little more than the client's 30 s.
    assert remaining is not None and 0 < remaining <= 31
    served.stub.UnaryCall(m.SimpleRequest())
    assert served.seen.remaining[-1] is None


def test_cancel_after_begin(served: Served) -> None:
    m = served.messages
    hold = threading.Event()

    def requests() -> Iterator[Any]:
        yield m.StreamingInputCallRequest(payload=m.Payload(body=b"\0" * 10))
        hold.wait(10)

    future = served.stub.StreamingInputCall.future(requests(), timeout=10)
    # Cancelled once the handler is running (earlier, the server never sees the call).
    assert served.seen.started.wait(10)
    future.cancel()
    hold.set()
    assert future.cancelled()
    assert served.seen.cancelled.wait(10), "the handler did not learn of the cancellation"


def test_cancel_after_first_response(served: Served) -> None:
    m = served.messages
    hold = threading.Event()

    def requests() -> Iterator[Any]:
        yield m.StreamingOutputCallRequest(response_parameters=[m.ResponseParameters(size=31415)], payload=m.Payload(body=b"\0" * 27182))
        hold.wait(10)

    call = served.stub.FullDuplexCall(requests(), timeout=10)
    assert len(next(call).payload.body) == 31415
    call.cancel()
    hold.set()
    with pytest.raises(grpc.RpcError) as caught:
        next(call)
    assert caught.value.code() == grpc.StatusCode.CANCELLED
    assert served.seen.cancelled.wait(10), "the handler did not learn of the cancellation"


def test_custom_metadata(served: Served) -> None:
    m = served.messages
    metadata = ((ECHO_INITIAL, "test_initial_metadata_value"), (ECHO_TRAILING, b"\xab\xab\xab"), ("x-user", "ada"))
    response, call = served.stub.UnaryCall.with_call(m.SimpleRequest(response_size=314159, payload=m.Payload(body=b"\0" * 271828)), metadata=metadata, timeout=10)
    assert len(response.payload.body) == 314159
    assert (ECHO_INITIAL, "test_initial_metadata_value") in call.initial_metadata()
    assert (ECHO_TRAILING, b"\xab\xab\xab") in call.trailing_metadata()
    assert served.seen.metadata["x-user"] == "ada"
    assert served.seen.metadata[ECHO_TRAILING] == b"\xab\xab\xab"

    stream = served.stub.FullDuplexCall(iter([m.StreamingOutputCallRequest(response_parameters=[m.ResponseParameters(size=314159)])]), metadata=metadata, timeout=10)
    assert [len(r.payload.body) for r in stream] == [314159]
    assert (ECHO_INITIAL, "test_initial_metadata_value") in stream.initial_metadata()
    assert (ECHO_TRAILING, b"\xab\xab\xab") in stream.trailing_metadata()


@pytest.mark.parametrize("message", ["test status message", "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608\t\n"])
def test_status_code_and_message(served: Served, message: str) -> None:
    m = served.messages
    with pytest.raises(grpc.RpcError) as caught:
        served.stub.UnaryCall(m.SimpleRequest(response_status=m.EchoStatus(code=2, message=message)), timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNKNOWN
    assert caught.value.details() == message
    stream = served.stub.FullDuplexCall(iter([m.StreamingOutputCallRequest(response_status=m.EchoStatus(code=2, message=message))]), timeout=10)
    with pytest.raises(grpc.RpcError) as caught:
        list(stream)
    assert caught.value.code() == grpc.StatusCode.UNKNOWN
    assert caught.value.details() == message


def test_unimplemented_method_and_service(served: Served, generated: tuple[ModuleType, ModuleType, ModuleType]) -> None:
    test_pb2_grpc, _, empty = generated
    with pytest.raises(grpc.RpcError) as caught:
        served.stub.UnimplementedCall(empty.Empty(), timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
    with pytest.raises(grpc.RpcError) as caught:
        test_pb2_grpc.UnimplementedServiceStub(served.channel).UnimplementedCall(empty.Empty(), timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_client_and_server_compressed_unary(served: Served) -> None:
    m = served.messages
    request = m.SimpleRequest(response_size=314159, payload=m.Payload(body=b"\0" * 271828), response_compressed=m.BoolValue(value=True))
    response = served.stub.UnaryCall(request, compression=grpc.Compression.Gzip, timeout=10)
    assert response.payload.body == b"\0" * 314159


def test_a_message_over_the_limit_is_refused_both_ways(served: Served) -> None:
    m = served.messages
    with pytest.raises(grpc.RpcError) as caught:
        served.stub.UnaryCall(m.SimpleRequest(payload=m.Payload(body=b"\0" * (1024 * 1024 + 1))), timeout=10)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    with pytest.raises(grpc.RpcError) as caught:
        served.stub.UnaryCall(m.SimpleRequest(response_size=1024 * 1024 + 1), timeout=10)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    # The connection is still good.
    assert served.stub.EmptyCall(served.empty.Empty(), timeout=10) == served.empty.Empty()
