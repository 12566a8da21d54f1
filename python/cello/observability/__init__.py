"""Observability: Prometheus metrics shared by all workers, health probes, logs
with request ids, OpenTelemetry.

Example:
    >>> from cello import App
    >>> from cello.observability import Counter, HealthCheckConfig
    >>> app = App()
    >>> app.enable_prometheus()
    >>> app.enable_health_checks(HealthCheckConfig.kubernetes())
    >>> signups = Counter("signups", "Accounts created.", ["plan"])
"""

from __future__ import annotations

from cello.observability._mixin import ObservabilityMixin
from cello.observability.health import HealthCheckConfig
from cello.observability.logs import CelloFormatter, LoggingConfig, RequestContextFilter
from cello.observability.metrics import DEFAULT_BUCKETS, Counter, Gauge, Histogram
from cello.observability.prometheus import CONTENT_TYPE
from cello.observability.telemetry import OpenTelemetryConfig

__all__ = [
    "CONTENT_TYPE",
    "DEFAULT_BUCKETS",
    "CelloFormatter",
    "Counter",
    "Gauge",
    "HealthCheckConfig",
    "Histogram",
    "LoggingConfig",
    "ObservabilityMixin",
    "OpenTelemetryConfig",
    "RequestContextFilter",
]
