"""The ``/metrics`` endpoint: the shared region rendered in Rust, then any
``prometheus_client`` registries the app passed."""

from __future__ import annotations

from typing import Any

from cello import _cello
from cello.responses import Response

__all__ = ["CONTENT_TYPE", "PrometheusEndpoint"]

#: The Prometheus text format, version 0.0.4.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class PrometheusEndpoint:
    """What `App.enable_prometheus` set up."""

    def __init__(self, endpoint: str, namespace: str, subsystem: str, registries: list[Any]) -> None:
        self.endpoint = endpoint
        self.namespace = namespace
        self.subsystem = subsystem
        self.registries = registries
        prefix = f"{namespace}_" if namespace else ""
        # Registered before the workers fork, like every shared metric.
        self.restarts = _cello.MetricFamily(
            f"{prefix}worker_restarts_total",
            "Workers the supervisor replaced, by reason (max_requests, memory, exited).",
            "counter",
        )
        for reason in ("max_requests", "memory", "exited"):
            self.restarts.series([("reason", reason)])

    def count_restart(self, reason: str) -> None:
        series = self.restarts.series([("reason", reason)])
        if series is not None:
            self.restarts.add(series, 1.0)

    def render(self) -> str:
        text = _cello.metrics_render(self.namespace)
        if self.registries:
            from prometheus_client import generate_latest

            for registry in self.registries:
                text += generate_latest(registry).decode("utf-8")
        return text

    def response(self) -> Response:
        return Response(self.render(), headers={"cache-control": "no-store"}, content_type=CONTENT_TYPE)
