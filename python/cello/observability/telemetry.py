"""OpenTelemetry tracing and metrics, exported over OTLP from Rust.

``app.enable_telemetry(OpenTelemetryConfig(...))`` gives every request a server span
(HTTP semantic conventions: ``http.request.method``, ``http.route``,
``http.response.status_code``, ``url.path``, ``server.address``, ``client.address``;
5xx answers are errors) whose parent comes from the request's W3C ``traceparent``;
new traces are sampled at `sampling_rate`, requests with a parent follow its
decision. Spans and the ``http.server.request.duration`` histogram are batched and
sent to `otlp_endpoint` by a thread of each worker (gRPC on 4317, HTTP/protobuf on
4318). Inside a handler the request's span is the current span of the Python
``opentelemetry-api``, so spans made with a Python SDK become its children, and log
records carry ``trace_id`` and ``span_id``. Needs the ``otel`` feature (docs/install.md).

Example:
    >>> from cello import App, OpenTelemetryConfig
    >>> app = App()
    >>> config = OpenTelemetryConfig(service_name="my-service", otlp_endpoint="http://collector:4317", sampling_rate=0.1)
"""

from __future__ import annotations

import contextvars
import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["OpenTelemetryConfig", "python_context"]


@dataclass
class OpenTelemetryConfig:
    """Tracing settings.

    Args:
        service_name: ``service.name`` of the resource.
        service_version: ``service.version``.
        otlp_endpoint: the collector, ``http://host:4317`` (gRPC) or
            ``http://host:4318`` (HTTP); ``None``: ``$OTEL_EXPORTER_OTLP_ENDPOINT``,
            else no export (spans are still made and propagated).
        sampling_rate: the fraction of new traces recorded, 0 to 1.
        export_traces: send spans.
        export_metrics: send request metrics.
        excluded_paths: paths that get no span (the metrics and health endpoints
            never do).
        protocol: ``"grpc"`` or ``"http/protobuf"``; ``None``: port 4318 means HTTP,
            anything else gRPC.
        propagate_response: send ``traceparent`` back on responses.
        export_delay_secs: spans wait at most this long before a batch is sent.
        metrics_interval_secs: how often metrics are sent.
    """

    service_name: str = "cello-service"
    service_version: str = "0.1.0"
    otlp_endpoint: str | None = None
    sampling_rate: float = 1.0
    export_traces: bool = True
    export_metrics: bool = True
    excluded_paths: list[str] | None = None
    protocol: str | None = None
    propagate_response: bool = True
    export_delay_secs: float = 1.0
    metrics_interval_secs: float = 60.0

    def __post_init__(self) -> None:
        if not self.service_name:
            raise ValueError("OpenTelemetryConfig.service_name cannot be empty")
        if not 0.0 <= self.sampling_rate <= 1.0:
            raise ValueError(f"OpenTelemetryConfig.sampling_rate must be between 0 and 1, got {self.sampling_rate}")
        if self.protocol not in (None, "grpc", "http/protobuf"):
            raise ValueError(f"OpenTelemetryConfig.protocol must be 'grpc' or 'http/protobuf', got {self.protocol!r}")
        if self.otlp_endpoint is None:
            self.otlp_endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None
        if self.otlp_endpoint is not None and "://" not in self.otlp_endpoint:
            raise ValueError(f"OpenTelemetryConfig.otlp_endpoint must be a URL such as http://collector:4317, got {self.otlp_endpoint!r}")
        if self.export_delay_secs <= 0 or self.metrics_interval_secs <= 0:
            raise ValueError("export_delay_secs and metrics_interval_secs must be positive")


def python_context() -> (
    tuple[Callable[[int, int, bool], Any], Callable[[Any], None], Callable[[], Any] | None, Callable[[Any], Any] | None]
    | None
):
    """``(attach, detach, set_unsampled, reset)`` making a request's span current for
    Python's ``opentelemetry-api``; ``None`` when it is not installed.

    An unsampled request gets one shared, unsampled placeholder context (building a span
    context per request would cost more than the rest of the unsampled path): spans
    started under it are not recorded, as the parent-based samplers decide, and
    ``request.trace_id`` still has the request's real trace id. With the API's default
    runtime context (a ``ContextVar``), `set_unsampled` sets the placeholder in it and
    `reset` resets any token (C methods: no Python frame per request); otherwise both
    are ``None`` and the engine calls `attach` and `detach` for every request.
    """
    try:
        from opentelemetry import context, trace
    except ImportError:
        return None

    sampled_flags = trace.TraceFlags(trace.TraceFlags.SAMPLED)
    placeholder = trace.set_span_in_context(
        trace.NonRecordingSpan(
            trace.SpanContext(
                0x0C0FFEE0C0FFEE0C0FFEE0C0FFEE0C0F, 0x0C0FFEE0C0FFEE0C, is_remote=False,
                trace_flags=trace.TraceFlags(trace.TraceFlags.DEFAULT),
            )
        )
    )
    attach_context = context.attach

    def attach(trace_id: int, span_id: int, sampled: bool) -> Any:
        if not sampled:
            return attach_context(placeholder)
        span_context = trace.SpanContext(trace_id, span_id, is_remote=False, trace_flags=sampled_flags)
        return attach_context(trace.set_span_in_context(trace.NonRecordingSpan(span_context)))

    variable = _context_variable(context)
    if variable is None:
        return attach, context.detach, None, None
    # Bound C methods: calling them from Rust runs no Python frame.
    return attach, context.detach, functools.partial(variable.set, placeholder), variable.reset


def _context_variable(context: Any) -> contextvars.ContextVar[Any] | None:
    """The ``ContextVar`` behind ``opentelemetry.context`` when it is the default
    (``ContextVarsRuntimeContext``: ``attach`` is ``set``, ``detach`` is ``reset``);
    ``None`` for any other runtime context."""
    try:
        from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext
    except ImportError:
        return None
    runtime = getattr(context, "_RUNTIME_CONTEXT", None)
    if type(runtime) is not ContextVarsRuntimeContext:
        return None
    variable = getattr(runtime, "_current_context", None)
    return variable if isinstance(variable, contextvars.ContextVar) else None
