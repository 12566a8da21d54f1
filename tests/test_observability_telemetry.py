"""OpenTelemetry: server spans with the HTTP semantic conventions reach real OTLP
receivers (gRPC and HTTP/protobuf) with the service name and the parent from an
incoming traceparent; a Python span made in a handler (async, sync, blocking) is the request span's child;
Cello's own steps are child spans of a sampled request;
parent-based sampling; request metrics exported."""

from __future__ import annotations

import http.client
import json
import sys
from collections.abc import Callable, Iterator

import cello
import pytest
from support.processes import PROCESS_TIMEOUT, REPO, ServerProcess, wait_until

pytestmark = pytest.mark.skipif(
    "otel" not in cello.features(),
    reason="the native module was built without the `otel` feature (make build FEATURES=otel)",
)

APP = REPO / "tests" / "apps" / "telemetry_app.py"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
INTERNAL = 1  # opentelemetry.proto SpanKind.SPAN_KIND_INTERNAL
SERVER = 2  # opentelemetry.proto SpanKind.SPAN_KIND_SERVER
STATUS_ERROR = 2


@pytest.fixture
def grpc_receiver() -> Iterator[object]:
    from support.otlp import GrpcReceiver

    receiver = GrpcReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def http_receiver() -> Iterator[object]:
    from support.otlp import HttpReceiver

    receiver = HttpReceiver()
    yield receiver
    receiver.stop()


def request(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], dict[str, object]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=PROCESS_TIMEOUT)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        body = response.read()
        parsed = json.loads(body) if response.getheader("content-type", "").endswith("json") else {}
        return response.status, {k.lower(): v for k, v in response.getheaders()}, parsed
    finally:
        connection.close()


def start(spawn: Callable[..., ServerProcess], endpoint: str, **env: str) -> int:
    server = spawn([sys.executable, str(APP), "--port", "0"], env={"CELLO_OTEL_ENDPOINT": endpoint, **env})
    port, _ = server.wait_ready()
    return port


def test_server_spans_reach_a_grpc_receiver_with_the_incoming_parent(
    spawn: Callable[..., ServerProcess], grpc_receiver: object
) -> None:
    receiver = grpc_receiver
    port = start(spawn, receiver.endpoint)  # type: ignore[attr-defined]
    traceparent = f"00-{TRACE_ID}-{PARENT_ID}-01"
    status, headers, body = request(port, "/users/7?x=1", {"traceparent": traceparent, "User-Agent": "otel-test"})
    assert status == 200
    # The handler sees the span's ids; the response carries them back.
    assert body["trace_id"] == TRACE_ID
    assert headers["traceparent"] == f"00-{TRACE_ID}-{body['span_id']}-01"
    spans = wait_until(lambda: receiver.received.named("GET /users/{id}"), PROCESS_TIMEOUT, "the server span")  # type: ignore[attr-defined]
    span = spans[0]
    assert span.kind == SERVER
    assert span.trace_id == TRACE_ID
    assert span.parent_span_id == PARENT_ID
    assert span.span_id == body["span_id"]
    assert span.resource["service.name"] == "obs-test"
    assert span.resource["service.version"] == "9.9.9"
    attributes = span.attributes
    assert attributes["http.request.method"] == "GET"
    assert attributes["http.route"] == "/users/{id}"
    assert attributes["http.response.status_code"] == 200
    assert attributes["url.path"] == "/users/7"
    assert attributes["url.scheme"] == "http"
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["server.port"] == port
    assert attributes["client.address"] == "127.0.0.1"
    assert attributes["user_agent.original"] == "otel-test"
    # The metrics endpoint is not traced; a 500 is an error span.
    request(port, "/metrics")
    assert request(port, "/boom")[0] == 500
    boom = wait_until(lambda: receiver.received.named("GET /boom"), PROCESS_TIMEOUT, "the error span")  # type: ignore[attr-defined]
    assert boom[0].status_code == STATUS_ERROR
    assert boom[0].parent_span_id == "", "no traceparent: a root span"
    assert not [s for s in receiver.received.spans if "metrics" in s.name]  # type: ignore[attr-defined]
    wait_until(
        lambda: "http.server.request.duration" in receiver.received.metric_names,  # type: ignore[attr-defined]
        PROCESS_TIMEOUT,
        "the request duration metric",
    )


def test_spans_reach_an_http_receiver(spawn: Callable[..., ServerProcess], http_receiver: object) -> None:
    receiver = http_receiver
    port = start(spawn, receiver.endpoint, CELLO_OTEL_PROTOCOL="http/protobuf")  # type: ignore[attr-defined]
    assert request(port, "/users/1", {"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"})[0] == 200
    spans = wait_until(lambda: receiver.received.named("GET /users/{id}"), PROCESS_TIMEOUT, "the server span over HTTP")  # type: ignore[attr-defined]
    assert spans[0].parent_span_id == PARENT_ID
    assert spans[0].resource["service.name"] == "obs-test"
    assert "/v1/traces" in receiver.paths  # type: ignore[attr-defined]


def test_a_python_span_in_a_handler_is_a_child_of_the_request_span(
    spawn: Callable[..., ServerProcess], grpc_receiver: object
) -> None:
    receiver = grpc_receiver
    port = start(spawn, receiver.endpoint)  # type: ignore[attr-defined]
    for path in ("/child", "/async-child", "/blocking-child"):
        status, headers, body = request(port, path, {"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"})
        assert status == 200
        server_span_id = headers["traceparent"].split("-")[2]
        assert body["parent_span_id"] == server_span_id, path
    assert body.get("trace_id", TRACE_ID) == TRACE_ID
    spans = wait_until(lambda: receiver.received.named("GET /child"), PROCESS_TIMEOUT, "the server span")  # type: ignore[attr-defined]
    assert spans[0].parent_span_id == PARENT_ID


@pytest.mark.parametrize("sampling", ["0", "1"])
def test_python_spans_follow_the_requests_sampling_and_trace(
    spawn: Callable[..., ServerProcess], grpc_receiver: object, sampling: str
) -> None:
    receiver = grpc_receiver
    port = start(spawn, receiver.endpoint, CELLO_OTEL_SAMPLING=sampling)  # type: ignore[attr-defined]
    for path in ("/maybe", "/async-maybe"):
        status, headers, body = request(port, path)
        assert status == 200
        trace_id, _, flags = headers["traceparent"].split("-")[1:]
        # The request's real trace, sampled or not, is the Python span's trace.
        assert body["trace_id"] == body["request_trace_id"] == trace_id, path
        assert body["recorded"] is (sampling == "1"), path
        assert flags == ("01" if sampling == "1" else "00")


def test_cellos_steps_are_children_of_a_sampled_request_span(
    spawn: Callable[..., ServerProcess], grpc_receiver: object
) -> None:
    receiver = grpc_receiver
    port = start(spawn, receiver.endpoint)  # type: ignore[attr-defined]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=PROCESS_TIMEOUT)
    try:
        connection.request("POST", "/echo", body=b'{"n": [1, 2, 3]}', headers={"content-type": "application/json"})
        response = connection.getresponse()
        assert response.status == 200 and json.loads(response.read()) == {"echo": {"n": [1, 2, 3]}}
    finally:
        connection.close()
    steps = ("cello.read_body", "cello.decode_json", "cello.handler", "cello.encode_response")

    def exported() -> bool:
        names = {span.name for span in receiver.received.spans}  # type: ignore[attr-defined]
        return "POST /echo" in names and all(step in names for step in steps)

    wait_until(exported, PROCESS_TIMEOUT, "the server span and its steps")
    server = receiver.received.named("POST /echo")[0]  # type: ignore[attr-defined]
    for step in steps:
        child = receiver.received.named(step)[0]  # type: ignore[attr-defined]
        assert child.trace_id == server.trace_id, step
        assert child.parent_span_id == server.span_id, step
        assert child.kind == INTERNAL, step
    # An unsampled request has no steps: a GET with a not-sampled parent.
    before = len(receiver.received.named("cello.handler"))  # type: ignore[attr-defined]
    assert request(port, "/users/3", {"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-00"})[0] == 200
    assert request(port, "/users/4")[0] == 200
    wait_until(lambda: receiver.received.named("GET /users/{id}"), PROCESS_TIMEOUT, "the sampled GET")  # type: ignore[attr-defined]
    handlers = receiver.received.named("cello.handler")  # type: ignore[attr-defined]
    sampled_get = receiver.received.named("GET /users/{id}")[0]  # type: ignore[attr-defined]
    assert len(handlers) == before + 1
    assert handlers[-1].parent_span_id == sampled_get.span_id


def test_a_streamed_body_is_inside_its_span(spawn: Callable[..., ServerProcess], grpc_receiver: object) -> None:
    receiver = grpc_receiver
    port = start(spawn, receiver.endpoint)  # type: ignore[attr-defined]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=PROCESS_TIMEOUT)
    try:
        connection.request("GET", "/stream")
        response = connection.getresponse()
        assert response.read() == b"chunk 0\nchunk 1\nchunk 2\n"
    finally:
        connection.close()

    def exported() -> bool:
        return bool(receiver.received.named("GET /stream") and receiver.received.named("cello.write_body"))  # type: ignore[attr-defined]

    wait_until(exported, PROCESS_TIMEOUT, "the streamed request's span and its cello.write_body step")
    server = receiver.received.named("GET /stream")[0]  # type: ignore[attr-defined]
    write = receiver.received.named("cello.write_body")[0]  # type: ignore[attr-defined]
    assert write.parent_span_id == server.span_id
    assert server.start_ns <= write.start_ns <= write.end_ns <= server.end_ns
    # The three chunks are 50 ms apart, inside the body: the span covers them.
    assert server.end_ns - server.start_ns >= 150_000_000
    assert server.attributes["http.response.status_code"] == 200


def test_sampling_follows_the_parent_and_the_ratio(
    spawn: Callable[..., ServerProcess], grpc_receiver: object
) -> None:
    receiver = grpc_receiver
    port = start(spawn, receiver.endpoint, CELLO_OTEL_SAMPLING="0")  # type: ignore[attr-defined]
    status, headers, _ = request(port, "/users/unsampled")
    assert status == 200
    assert headers["traceparent"].endswith("-00"), "a new trace at ratio 0 is not sampled"
    unsampled_parent = f"00-{'1' * 32}-{PARENT_ID}-00"
    assert request(port, "/users/declined", {"traceparent": unsampled_parent})[0] == 200
    sampled_parent = f"00-{TRACE_ID}-{PARENT_ID}-01"
    assert request(port, "/users/sampled", {"traceparent": sampled_parent})[0] == 200
    spans = wait_until(lambda: receiver.received.named("GET /users/{id}"), PROCESS_TIMEOUT, "the sampled span")  # type: ignore[attr-defined]
    # The earlier requests' spans would have been queued first: only the sampled one came.
    assert [span.attributes["url.path"] for span in spans] == ["/users/sampled"]


def test_log_records_carry_the_trace_and_span_ids(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from cello import App, LoggingConfig, OpenTelemetryConfig
    from cello.testing import TestClient

    app = App()
    app.enable_logging(LoggingConfig())
    app.enable_telemetry(OpenTelemetryConfig(service_name="logs"))
    handler_log = logging.getLogger("test.traced")

    @app.get("/")
    def index(request):
        handler_log.info("traced line")
        return {"span_id": request.span_id}

    with caplog.at_level(logging.INFO), TestClient(app) as client:
        response = client.get("/", headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"})
    record = next(r for r in caplog.records if r.name == "test.traced")
    assert record.trace_id == TRACE_ID
    assert record.span_id == response.json()["span_id"]
    assert record.request_id


def _current_span_app() -> cello.App:
    from cello import App, OpenTelemetryConfig
    from opentelemetry import trace

    app = App()
    app.enable_telemetry(OpenTelemetryConfig(service_name="context", sampling_rate=0.0))

    def ids() -> dict[str, object]:
        context = trace.get_current_span().get_span_context()
        return {"trace_id": format(context.trace_id, "032x"), "valid": context.is_valid}

    @app.get("/sync")
    def sync_ids(request):
        return {**ids(), "request": request.trace_id}

    @app.get("/async")
    async def async_ids(request):
        return {**ids(), "request": request.trace_id}

    @app.get("/blocking", blocking=True)
    def blocking_ids(request):
        return {**ids(), "request": request.trace_id}

    return app


def test_the_current_python_span_is_the_requests_and_only_inside_it() -> None:
    from cello.observability.telemetry import RequestRuntimeContext
    from cello.testing import TestClient
    from opentelemetry import context, trace

    with TestClient(_current_span_app()) as client:
        assert isinstance(context._RUNTIME_CONTEXT, RequestRuntimeContext)
        for path in ("/sync", "/async", "/blocking"):
            body = client.get(path).json()
            assert body["valid"] and body["trace_id"] == body["request"], path
        # Outside a request nothing is current, and what is attached stays attached.
        assert not trace.get_current_span().get_span_context().is_valid
        mine = trace.NonRecordingSpan(trace.SpanContext(7, 9, is_remote=False))
        token = context.attach(trace.set_span_in_context(mine))
        try:
            assert trace.get_current_span() is mine
        finally:
            context.detach(token)
        assert not trace.get_current_span().get_span_context().is_valid


def test_another_runtime_context_gets_the_span_attached_per_request(monkeypatch: pytest.MonkeyPatch) -> None:
    from cello.observability.telemetry import python_context
    from cello.testing import TestClient
    from opentelemetry import context
    from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext

    class Other(ContextVarsRuntimeContext):
        """A runtime context Cello does not replace (not exactly the default)."""

    monkeypatch.setattr(context, "_RUNTIME_CONTEXT", Other())
    assert python_context() is not None
    with TestClient(_current_span_app()) as client:
        assert type(context._RUNTIME_CONTEXT) is Other
        for path in ("/sync", "/async", "/blocking"):
            body = client.get(path).json()
            assert body["valid"] and body["trace_id"] == body["request"], path


def test_a_grpc_calls_span_is_named_by_its_method(spawn: Callable[..., ServerProcess], grpc_receiver: object) -> None:
    grpc = pytest.importorskip("grpc")
    if "grpc" not in cello.features():
        pytest.skip("needs a build with the grpc feature (the default)")
    receiver = grpc_receiver
    port = start(spawn, receiver.endpoint)  # type: ignore[attr-defined]
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        # GetUserRequest{id: 1} and User{id: 1, name: "Ada"}, framed by grpcio.
        answer = channel.unary_unary("/demo.users.UserService/GetUser")(b"\x08\x01", timeout=10)
    assert answer == b"\x08\x01\x12\x03Ada"
    spans = wait_until(lambda: receiver.received.named("POST /demo.users.UserService/GetUser"), PROCESS_TIMEOUT, "the call's span")  # type: ignore[attr-defined]
    assert spans[0].attributes["http.route"] == "/demo.users.UserService/GetUser"
