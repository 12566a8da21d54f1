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


def python_context() -> tuple[Callable[[int, int, bool], Any], Callable[[Any], None]] | None:
    """How the engine makes a request's span current for Python's ``opentelemetry-api``:
    ``None`` when nothing is to be done per request, else ``(attach, detach)`` to call
    around every handler.

    With the API's default runtime context (a ``ContextVar``), Cello replaces it once
    with :class:`RequestRuntimeContext`, which finds the request being handled when
    nothing was attached: the engine then calls nothing per request, and a request's
    context is built only if something asks for it. Under any other runtime context
    (``OTEL_PYTHON_CONTEXT``) the engine attaches one per request. Also ``None`` when
    the API is not installed.
    """
    try:
        from opentelemetry import context, trace
    except ImportError:
        return None
    if install_request_context(context):
        return None
    attach_context = context.attach

    def attach(trace_id: int, span_id: int, sampled: bool) -> Any:
        return attach_context(span_context(trace, trace_id, span_id, sampled))

    return attach, context.detach


def span_context(trace: Any, trace_id: int, span_id: int, sampled: bool) -> Any:
    """A context whose current span is the request's server span (not recording in
    Python: the engine records and exports it)."""
    flags = trace.TraceFlags(trace.TraceFlags.SAMPLED if sampled else trace.TraceFlags.DEFAULT)
    parent = trace.SpanContext(trace_id, span_id, is_remote=False, trace_flags=flags)
    # On an empty context, not the current one (which may be asking for this one).
    return trace.set_span_in_context(trace.NonRecordingSpan(parent), _empty_context())


def _empty_context() -> Any:
    from opentelemetry.context import Context

    return Context()


def install_request_context(context: Any) -> bool:
    """Replaces the API's default runtime context with a :class:`RequestRuntimeContext`
    on the same ``ContextVar`` (what is attached stays attached); whether it is in
    place."""
    try:
        from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext
    except ImportError:
        return False
    runtime = getattr(context, "_RUNTIME_CONTEXT", None)
    if isinstance(runtime, RequestRuntimeContext):
        return True
    if type(runtime) is not ContextVarsRuntimeContext:
        return False
    variable = getattr(runtime, "_current_context", None)
    if not isinstance(variable, contextvars.ContextVar):
        return False
    try:
        replacement = RequestRuntimeContext(variable)
    except LookupError:  # a variable without a default: not the API's own
        return False
    context._RUNTIME_CONTEXT = replacement
    return True


class RequestRuntimeContext:
    """``opentelemetry-api``'s ``ContextVarsRuntimeContext``, except that where nothing
    has been attached, the current context is the one of the request being handled
    (its server span as the current span), built once per request on first use.

    The request is the one Cello already tracks for ``BackgroundTasks()``: the context
    variable of an async handler's task, or the thread's for a sync or blocking
    handler. Outside a request, or for a request without a span, it is the empty
    default, as before.
    """

    def __init__(self, variable: contextvars.ContextVar[Any]) -> None:
        from opentelemetry import trace

        from cello import _cello
        from cello.background import current_request

        self._current_context = variable
        # The variable's default: what `get()` returns where nothing was attached.
        self._unset = contextvars.Context().run(variable.get)
        self._task_request = current_request
        self._thread_request = _cello.current_request
        self._build = functools.partial(span_context, trace)

    def attach(self, context: Any) -> contextvars.Token[Any]:
        return self._current_context.set(context)

    def get_current(self) -> Any:
        context = self._current_context.get()
        if context is not self._unset:
            return context
        request = self._task_request.get()
        if request is None:
            request = self._thread_request()
            if request is None:
                return context
        built = request._otel_context(self._build)
        return context if built is None else built

    def detach(self, token: contextvars.Token[Any]) -> None:
        self._current_context.reset(token)
