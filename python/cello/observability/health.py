"""Kubernetes-style health probes: ``/health/live``, ``/health/ready``,
``/health/startup`` and the ``/health`` report (``app.enable_health_checks``).

- live: the worker answers (200 while it can serve anything at all).
- ready: every registered check passes and the worker is not draining; else 503.
- startup: 503 until the app's startup hooks have finished, then 200.
- report: all of the above with each check's status, duration and details.

Example:
    >>> from cello import App, HealthCheckConfig
    >>> app = App()
    >>> app.enable_health_checks(HealthCheckConfig(base_path="/health", version="1.2.0"))
    >>> @app.health_check("database")
    ... async def database():
    ...     return {"pool": "ok"}
"""

from __future__ import annotations

import asyncio
import inspect
import os
import platform
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["HealthCheck", "HealthCheckConfig", "HealthChecks"]

CheckFunction = Callable[[], Any]


@dataclass
class HealthCheckConfig:
    """Where the probes are and what the report shows.

    Args:
        base_path: the report's path; the probes are ``<base_path>/live``,
            ``/ready`` and ``/startup`` unless set one by one.
        include_details: the report lists every check with its details.
        include_system_info: the report includes process and host information.
        version: reported as ``version``.
        timeout_secs: default seconds a check may take before it counts as failed.
        cache_secs: reuse check results for this long (``None``: run them on every
            probe).
        liveness_path: the liveness probe's path.
        readiness_path: the readiness probe's path.
        startup_path: the startup probe's path.
        shutdown_delay_secs: on SIGTERM, keep serving this long with readiness at
            503 before draining, so load balancers stop sending first (a second
            SIGTERM drains at once). 0: drain at once.
    """

    base_path: str = "/health"
    include_details: bool = True
    include_system_info: bool = False
    version: str | None = None
    timeout_secs: float = 5.0
    cache_secs: float | None = None
    liveness_path: str | None = None
    readiness_path: str | None = None
    startup_path: str | None = None
    shutdown_delay_secs: float = 0.0

    def __post_init__(self) -> None:
        for name in ("base_path", "liveness_path", "readiness_path", "startup_path"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, str) and value.startswith("/")):
                raise ValueError(f"HealthCheckConfig.{name} must be a path starting with '/', got {value!r}")
        if self.timeout_secs <= 0:
            raise ValueError("HealthCheckConfig.timeout_secs must be a positive number of seconds")
        if self.cache_secs is not None and self.cache_secs < 0:
            raise ValueError("HealthCheckConfig.cache_secs cannot be negative")
        if self.shutdown_delay_secs < 0:
            raise ValueError("HealthCheckConfig.shutdown_delay_secs cannot be negative")

    @staticmethod
    def kubernetes() -> HealthCheckConfig:
        """Probes for Kubernetes: terse bodies, no system information."""
        return HealthCheckConfig(include_details=False, include_system_info=False)

    @staticmethod
    def detailed() -> HealthCheckConfig:
        """A full report: every check's details and system information."""
        return HealthCheckConfig(include_details=True, include_system_info=True)

    def _base(self) -> str:
        return self.base_path.rstrip("/")

    @property
    def live_path(self) -> str:
        """The liveness probe's path."""
        return self.liveness_path or f"{self._base()}/live"

    @property
    def ready_path(self) -> str:
        """The readiness probe's path."""
        return self.readiness_path or f"{self._base()}/ready"

    @property
    def started_path(self) -> str:
        """The startup probe's path."""
        return self.startup_path or f"{self._base()}/startup"

    def paths(self) -> list[str]:
        """Every path the probes answer."""
        return [self.base_path, self.live_path, self.ready_path, self.started_path]


@dataclass
class HealthCheck:
    """A registered check: `function` (sync or async) passes unless it raises, times
    out or returns ``False``; a returned dict becomes its details (a ``"status"`` of
    ``"DOWN"`` in it fails the check)."""

    name: str
    function: CheckFunction
    timeout_secs: float | None = None
    #: registered by Cello itself (the data layer's pools): a check of the app's own
    #: with the same name replaces it.
    automatic: bool = False


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


async def _run(check: HealthCheck, default_timeout: float) -> dict[str, Any]:
    timeout = check.timeout_secs or default_timeout
    started = time.perf_counter()
    result: dict[str, Any]
    try:
        if inspect.iscoroutinefunction(check.function):
            value = await asyncio.wait_for(check.function(), timeout)
        else:
            value = await asyncio.wait_for(asyncio.to_thread(check.function), timeout)
            if inspect.isawaitable(value):
                value = await asyncio.wait_for(value, timeout)
        if value is False:
            result = {"status": "DOWN"}
        elif isinstance(value, dict):
            status = "DOWN" if str(value.get("status", "UP")).upper() == "DOWN" else "UP"
            result = {"status": status, "details": value}
        else:
            result = {"status": "UP"}
    except TimeoutError:
        result = {"status": "DOWN", "error": f"timed out after {timeout:g} s"}
    except Exception as error:  # noqa: BLE001 - a failing check is a DOWN result
        result = {"status": "DOWN", "error": f"{type(error).__name__}: {error}"}
    result["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
    return result


def _system_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "pid": os.getpid(),
        "hostname": socket.gethostname(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
    }
    try:
        with open(f"/proc/{os.getpid()}/statm") as statm:
            info["memory_rss_bytes"] = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        pass
    if hasattr(os, "getloadavg"):
        info["load_average"] = list(os.getloadavg())
    return info


class HealthChecks:
    """The checks of one app and the state the probes report."""

    def __init__(self, config: HealthCheckConfig) -> None:
        self.config = config
        self.checks: list[HealthCheck] = []
        self.started_at = time.monotonic()
        self.draining = False
        self.started: Callable[[], bool] = lambda: True
        self._cache: tuple[float, dict[str, dict[str, Any]]] | None = None

    def add(self, check: HealthCheck) -> None:
        for index, existing in enumerate(self.checks):
            if existing.name != check.name:
                continue
            if existing.automatic and not check.automatic:
                self.checks[index] = check
                return
            if check.automatic:
                return
            raise ValueError(f"a health check named {check.name!r} is already registered")
        self.checks.append(check)

    async def results(self) -> dict[str, dict[str, Any]]:
        cache_secs = self.config.cache_secs
        if cache_secs and self._cache is not None and time.monotonic() - self._cache[0] < cache_secs:
            return self._cache[1]
        outcomes = await asyncio.gather(*(_run(check, self.config.timeout_secs) for check in self.checks))
        results = {check.name: outcome for check, outcome in zip(self.checks, outcomes, strict=True)}
        if cache_secs:
            self._cache = (time.monotonic(), results)
        return results

    def live(self) -> tuple[dict[str, Any], int]:
        return {"status": "UP", "timestamp": _now()}, 200

    async def ready(self) -> tuple[dict[str, Any], int]:
        results = await self.results()
        failed = sorted(name for name, result in results.items() if result["status"] != "UP")
        ready = not failed and not self.draining and self.started()
        body: dict[str, Any] = {"status": "UP" if ready else "DOWN", "ready": ready, "timestamp": _now()}
        if self.draining:
            body["reason"] = "draining"
        elif not self.started():
            body["reason"] = "starting"
        if failed:
            body["failed_checks"] = failed
        return body, 200 if ready else 503

    def startup(self) -> tuple[dict[str, Any], int]:
        started = self.started()
        body = {"status": "UP" if started else "DOWN", "started": started, "timestamp": _now()}
        return body, 200 if started else 503

    async def report(self) -> tuple[dict[str, Any], int]:
        results = await self.results()
        healthy = all(result["status"] == "UP" for result in results.values())
        ready = healthy and not self.draining and self.started()
        body: dict[str, Any] = {
            "status": "UP" if ready else "DOWN",
            "timestamp": _now(),
            "uptime_seconds": round(time.monotonic() - self.started_at, 3),
            "ready": ready,
            "started": self.started(),
            "draining": self.draining,
        }
        if self.config.version is not None:
            body["version"] = self.config.version
        if self.config.include_details:
            body["checks"] = results
        else:
            body["checks"] = {name: {"status": result["status"]} for name, result in results.items()}
        if self.config.include_system_info:
            body["system"] = _system_info()
        return body, 200 if ready else 503
