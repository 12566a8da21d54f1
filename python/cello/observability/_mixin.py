"""`App.enable_prometheus`, `enable_health_checks`, `health_check` and the hooks the
server calls around a worker's life (startup gate, drain, worker restarts)."""

from __future__ import annotations

import asyncio
import inspect
import logging
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from cello import _cello
from cello.observability import logs
from cello.observability.health import CheckFunction, HealthCheck, HealthCheckConfig, HealthChecks
from cello.observability.logs import LoggingConfig
from cello.observability.prometheus import PrometheusEndpoint
from cello.observability.telemetry import OpenTelemetryConfig, python_context

if TYPE_CHECKING:
    from cello.responses import Response

__all__ = ["ObservabilityMixin"]

Check = TypeVar("Check", bound=CheckFunction)


class ObservabilityMixin:
    """The observability half of `cello.App` (state kept in ``__dict__`` so the
    mixin needs no ``__init__``)."""

    # Provided by App.
    route: Callable[..., Callable[[Callable[..., Any]], Any]]
    on_event: Callable[[str], Callable[[Callable[..., Any]], Any]]
    _run_hooks: Callable[[str], Any]

    # --- Prometheus ----------------------------------------------------------------

    def enable_prometheus(
        self,
        endpoint: str = "/metrics",
        namespace: str = "cello",
        subsystem: str = "http",
        *,
        registry: Any = None,
    ) -> None:
        """Serves Prometheus metrics of the whole server at `endpoint`.

        Requests are counted and timed in Rust by method, route template (``unmatched``
        for 404s) and status: ``<namespace>_<subsystem>_requests_total``,
        ``_request_duration_seconds``, ``_request_size_bytes``,
        ``_response_size_bytes``, ``_requests_in_flight``; plus ``process_*`` and
        ``<namespace>_workers`` and ``<namespace>_worker_restarts_total``. Every
        worker counts into memory shared by the server, so any worker's answer covers
        all of them. `endpoint` and the health probes are not counted and skip the
        middleware (rate limits included). `cello.observability.Counter`, `Gauge` and
        `Histogram` appear there too; `registry` (a ``prometheus_client``
        ``CollectorRegistry``, or a list of them) is appended to the output.

        Example:
            >>> from cello import App
            >>> app = App()
            >>> app.enable_prometheus(endpoint="/metrics", namespace="cello", subsystem="http")
        """
        for name, value in (("namespace", namespace), ("subsystem", subsystem)):
            if value and not value.replace("_", "a").isalnum():
                raise ValueError(f"{name} must be letters, digits and '_', got {value!r}")
        if not endpoint.startswith("/"):
            raise ValueError(f"endpoint must be a path starting with '/', got {endpoint!r}")
        if "_prometheus" in self.__dict__:
            raise ValueError("enable_prometheus() was already called: call it once, with all of its options")
        # The shared memory must exist before the workers fork.
        _cello.metrics_enable()
        registries = [] if registry is None else list(registry) if isinstance(registry, (list, tuple)) else [registry]
        prometheus = PrometheusEndpoint(endpoint, namespace, subsystem, registries)
        self.__dict__["_prometheus"] = prometheus
        self._add_operational_path(endpoint)

        def metrics() -> Response:
            return prometheus.response()

        self.route(endpoint, ["GET"], include_in_schema=False, name="prometheus_metrics")(metrics)

    def _count_worker_restart(self, reason: str) -> None:
        """The supervisor replaced a worker (`reason`: max_requests, memory, exited)."""
        prometheus: PrometheusEndpoint | None = self.__dict__.get("_prometheus")
        if prometheus is not None:
            prometheus.count_restart(reason)

    # --- health probes -------------------------------------------------------------

    def enable_health_checks(self, config: HealthCheckConfig | None = None, **options: Any) -> None:
        """Serves ``/health/live``, ``/health/ready``, ``/health/startup`` and the
        ``/health`` report (paths from `config`). Readiness is 503 while a check
        registered with `health_check` fails or the worker drains; startup is 503
        until the startup hooks have finished (the worker serves the probes while
        they run, and answers 503 on every other path). Keyword options build a
        `HealthCheckConfig`.

        Example:
            >>> from cello import App, HealthCheckConfig
            >>> app = App()
            >>> app.enable_health_checks(HealthCheckConfig(base_path="/health", include_system_info=True))
        """
        if config is None:
            config = HealthCheckConfig(**options)
        elif options:
            raise TypeError("enable_health_checks() takes a HealthCheckConfig or keyword options, not both")
        if not isinstance(config, HealthCheckConfig):
            raise TypeError(f"enable_health_checks() takes a HealthCheckConfig, got {config!r}")
        if "_health" in self.__dict__:
            raise ValueError("enable_health_checks() was already called: call it once")
        health = HealthChecks(config)
        for check in self.__dict__.pop("_pending_checks", []):
            health.add(check)
        self.__dict__["_health"] = health

        def probe(method: Callable[[], Any]) -> Callable[[], Any]:
            async def answer() -> Any:
                result = method()
                body, status = await result if inspect.isawaitable(result) else result
                return body, status

            return answer

        for path, method in (
            (config.live_path, health.live),
            (config.ready_path, health.ready),
            (config.started_path, health.startup),
            (config.base_path, health.report),
        ):
            self._add_operational_path(path)
            handler = probe(method)
            handler.__name__ = handler.__qualname__ = f"health_{method.__name__}"
            self.route(path, ["GET"], include_in_schema=False, name=handler.__name__)(handler)

    def health_check(self, name: str, *, timeout_secs: float | None = None) -> Callable[[Check], Check]:
        """Registers a check (sync or async) that readiness and the report run; it
        fails when it raises, returns ``False`` or takes longer than `timeout_secs`
        (default: the config's). A returned dict is shown as its details.

        Example:
            >>> from cello import App
            >>> app = App()
            >>> app.enable_health_checks()
            >>> @app.health_check("cache", timeout_secs=1)
            ... def cache_reachable():
            ...     return True
        """

        def decorator(function: Check) -> Check:
            if not callable(function):
                raise TypeError(f"@health_check({name!r}) must decorate a function, got {function!r}")
            self._add_check(HealthCheck(name, function, timeout_secs))
            return function

        return decorator

    def _add_check(self, check: HealthCheck) -> None:
        """Adds `check` to the probes, now or when `enable_health_checks` is called
        (the data layer registers its pools' checks this way, `automatic=True`)."""
        health: HealthChecks | None = self.__dict__.get("_health")
        if health is None:
            self.__dict__.setdefault("_pending_checks", []).append(check)
        else:
            health.add(check)

    # --- logging -------------------------------------------------------------------

    def enable_logging(self, config: LoggingConfig | int | str | None = None, **options: Any) -> None:
        """Logs one record per request (logger ``cello``: method, path, route, status,
        duration, size, client, user agent, request id; also on the record as
        attributes) and writes every record, the app's and libraries' too, in
        `LoggingConfig`'s format with the request's id. ``enable_logging()`` is
        ``LoggingConfig()``: text lines on stderr at INFO; an int or level name
        is ``LoggingConfig(level=...)``; keyword options build a `LoggingConfig`.
        The duration runs until the response head is ready.

        Example:
            >>> from cello import App, LoggingConfig
            >>> app = App()
            >>> app.enable_logging(LoggingConfig(format="json", fields=["method", "route", "status"]))
        """
        if isinstance(config, (int, str)):
            config = LoggingConfig(level=config, **options)
        elif config is None:
            config = LoggingConfig(**options)
        elif options:
            raise TypeError("enable_logging() takes a LoggingConfig or keyword options, not both")
        if not isinstance(config, LoggingConfig):
            raise TypeError(f"enable_logging() takes a LoggingConfig, got {config!r}")
        if config.request_ids and "request id" not in self.__dict__.get("_middleware", {}):
            self._enable_request_id_layer("X-Request-ID", True)
            self.__dict__["_implicit_request_id"] = True
        logs.install(config)
        self.__dict__["_logging"] = config

    def enable_request_id(self, header: str = "X-Request-ID", *, trust_incoming: bool = True) -> None:
        """Gives every request an id: the client's `header` when it is a sane token
        (1–128 of letters, digits, ``-_.:/+=@``), else a new UUID. Handlers read it as
        ``request.request_id``; it is sent back in `header` and added to every
        problem+json error body as ``request_id``. (Replaces the one
        `enable_logging` turned on.)"""
        if self.__dict__.pop("_implicit_request_id", False):
            self.__dict__["_middleware"].pop("request id", None)
        self._enable_request_id_layer(header, trust_incoming)

    def _enable_request_id_layer(self, header: str, trust_incoming: bool) -> None:
        from cello.middleware._registrar import MiddlewareRegistrar

        MiddlewareRegistrar.enable_request_id(self, header, trust_incoming=trust_incoming)  # type: ignore[arg-type]

    def _request_logger(self) -> Callable[..., None] | None:
        config: LoggingConfig | None = self.__dict__.get("_logging")
        if config is None or not config.access_log:
            return None
        return logs.access_logger(config, max(logging.INFO, config._level_number))

    # --- OpenTelemetry -------------------------------------------------------------

    def enable_telemetry(self, config: OpenTelemetryConfig | None = None, **options: Any) -> None:
        """Traces every request with a server span exported over OTLP (see
        `OpenTelemetryConfig`); ``None`` is ``OpenTelemetryConfig("cello-service")``.
        Needs the ``otel`` feature of the native module.

        Example:
            >>> from cello import App, OpenTelemetryConfig
            >>> app = App()
            >>> app.enable_telemetry(OpenTelemetryConfig(service_name="my-service"))  # doctest: +SKIP
        """
        from cello._features import require_feature

        if config is None:
            config = OpenTelemetryConfig(**options)
        elif options:
            raise TypeError("enable_telemetry() takes an OpenTelemetryConfig or keyword options, not both")
        if not isinstance(config, OpenTelemetryConfig):
            raise TypeError(f"enable_telemetry() takes an OpenTelemetryConfig, got {config!r}")
        require_feature("otel", "app.enable_telemetry()")
        if "_telemetry" in self.__dict__:
            raise ValueError("enable_telemetry() was already called: call it once")
        self.__dict__["_telemetry"] = config

        def flush_telemetry() -> None:
            state: _cello.Observability | None = self.__dict__.get("_observability_state")
            if state is not None:
                state.flush()

        # After the drain: the last spans leave before the worker exits.
        self.on_event("shutdown")(flush_telemetry)

    # --- the engine and the worker's life ------------------------------------------

    def _add_operational_path(self, path: str) -> None:
        paths: list[str] = self.__dict__.setdefault("_operational_paths", [])
        if path not in paths:
            paths.append(path)

    def _observability(self) -> _cello.Observability | None:
        """The engine's observability settings, or ``None`` (then nothing per request)."""
        prometheus: PrometheusEndpoint | None = self.__dict__.get("_prometheus")
        telemetry: OpenTelemetryConfig | None = self.__dict__.get("_telemetry")
        gate = bool(self.__dict__.get("_startup_pending"))
        if prometheus is None and telemetry is None and not self.__dict__.get("_operational_paths") and not gate:
            return None
        state = _cello.Observability(
            (prometheus.namespace, prometheus.subsystem) if prometheus else None,
            list(self.__dict__.get("_operational_paths", [])),
            gate,
            telemetry,
            python_context() if telemetry is not None else None,
        )
        health: HealthChecks | None = self.__dict__.get("_health")
        if health is not None:
            health.started = lambda: state.started
        self.__dict__["_observability_state"] = state
        return state

    def _serve_during_startup(self) -> bool:
        """Whether the worker serves (the probes) while its startup hooks run: with
        health checks on. Then the engine answers 503 elsewhere until
        `_finish_startup`."""
        if "_health" not in self.__dict__:
            return False
        self.__dict__["_startup_pending"] = True
        return True

    async def _finish_startup(self) -> None:
        try:
            await self._run_hooks("startup")
        finally:
            self.__dict__["_startup_pending"] = False
        state: _cello.Observability | None = self.__dict__.get("_observability_state")
        if state is not None:
            state.set_started()

    def _begin_drain(self) -> None:
        health: HealthChecks | None = self.__dict__.get("_health")
        if health is not None:
            health.draining = True

    def _install_stop_signals(self, loop: asyncio.AbstractEventLoop, server: Any) -> None:
        """SIGTERM/SIGINT drain (after the health config's shutdown delay, cut short
        by a second signal); SIGUSR1 (the supervisor recycling a worker) drains now."""
        delay = self._shutdown_delay()
        pending: list[asyncio.TimerHandle] = []

        def drain_now() -> None:
            self._begin_drain()
            server.shutdown()

        def on_stop() -> None:
            if delay <= 0 or pending:
                drain_now()
                return
            self._begin_drain()
            pending.append(loop.call_later(delay, server.shutdown))

        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, on_stop)
        loop.add_signal_handler(signal.SIGUSR1, drain_now)

    def _shutdown_delay(self) -> float:
        """Seconds a worker keeps serving after SIGTERM before it drains."""
        health: HealthChecks | None = self.__dict__.get("_health")
        return health.config.shutdown_delay_secs if health is not None else 0.0

    def _is_operational(self, path: str) -> bool:
        """Whether `path` is a probe or the metrics endpoint: served without the app's
        middleware, hooks and app-wide guards (an app that guards every route still
        answers its orchestrator and its scraper)."""
        return path in self.__dict__.get("_operational_paths", ())
