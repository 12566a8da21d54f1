"""An app for tests/test_observability_telemetry.py.

Environment:
    CELLO_OTEL_ENDPOINT: ``OpenTelemetryConfig(otlp_endpoint=...)``.
    CELLO_OTEL_PROTOCOL: ``OpenTelemetryConfig(protocol=...)``.
    CELLO_OTEL_SAMPLING: ``OpenTelemetryConfig(sampling_rate=...)`` (default 1).
"""

from __future__ import annotations

import asyncio
import os

from cello import App, OpenTelemetryConfig, StreamingResponse, features
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

app = App()
app.enable_prometheus()
app.enable_telemetry(OpenTelemetryConfig(
    service_name="obs-test",
    service_version="9.9.9",
    otlp_endpoint=os.environ["CELLO_OTEL_ENDPOINT"],
    protocol=os.environ.get("CELLO_OTEL_PROTOCOL") or None,
    sampling_rate=float(os.environ.get("CELLO_OTEL_SAMPLING", "1")),
    export_delay_secs=0.2,
    metrics_interval_secs=0.5,
))
#: The app's own Python spans, kept in memory so a test can read their parents.
python_spans = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(python_spans))
trace.set_tracer_provider(provider)
tracer = trace.get_tracer("telemetry_app")


@app.get("/users/{id}")
def user(request):
    return {"id": request.params["id"], "trace_id": request.trace_id, "span_id": request.span_id}


@app.get("/child")
def child(request):
    with tracer.start_as_current_span("child-work") as span:
        context = span.get_span_context()
        parent = span.parent
    return {
        "trace_id": format(context.trace_id, "032x"),
        "parent_span_id": format(parent.span_id, "016x") if parent else None,
    }


@app.get("/async-child")
async def async_child(request):
    with tracer.start_as_current_span("async-child-work") as span:
        parent = span.parent
    return {"parent_span_id": format(parent.span_id, "016x") if parent else None}


@app.get("/blocking-child", blocking=True)
def blocking_child(request):
    with tracer.start_as_current_span("blocking-child-work") as span:
        parent = span.parent
    return {"parent_span_id": format(parent.span_id, "016x") if parent else None}


def _maybe_span(request):
    with tracer.start_as_current_span("maybe-recorded") as span:
        context = span.get_span_context()
        return {
            "recorded": span.is_recording(),
            "trace_id": format(context.trace_id, "032x"),
            "request_trace_id": request.trace_id,
        }


@app.get("/maybe")
def maybe(request):
    return _maybe_span(request)


@app.get("/async-maybe")
async def async_maybe(request):
    return _maybe_span(request)


@app.get("/stream")
async def stream(request):
    async def chunks():
        for index in range(3):
            await asyncio.sleep(0.05)
            yield f"chunk {index}\n"

    return StreamingResponse(chunks(), media_type="text/plain")


@app.post("/echo")
async def echo(request):
    return {"echo": request.json()}


@app.get("/boom")
def boom(request):
    raise RuntimeError("boom")



# A gRPC service in the dict API (its .proto compiled by Cello), for the span of a call.
if "grpc" in features():
    from pathlib import Path

    from cello import GrpcConfig
    from cello.grpc import GrpcService, grpc_method

    class UserService(GrpcService):
        @grpc_method
        def GetUser(self, request):
            return {"id": request["id"], "name": "Ada"}

    app.enable_grpc(
        GrpcConfig(reflection=False, health=False),
        proto_files=["users.proto"],
        include_paths=[str(Path(__file__).resolve().parent.parent / "grpc" / "protos" / "users")],
    )
    app.add_grpc_service(UserService())

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000, workers=1)
