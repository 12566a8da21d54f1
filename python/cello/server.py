"""Running an app: options, one worker in-process, or a supervisor with forked workers."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import random
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cello import background
from cello._features import require_feature
from cello._loop import CelloEventLoop, task_starter
from cello.config import ServerConfig, TlsConfig, parse_memory

if TYPE_CHECKING:
    from cello.app import App

__all__ = ["RunOptions", "resolve_options", "run_app", "serve_worker"]


@dataclass
class RunOptions:
    """`App.run` options after defaults and command-line overrides."""

    host: str
    port: int
    debug: bool
    env: str
    workers: int
    reload: bool
    logs: bool
    tls: TlsConfig | None = None
    http3: bool = False
    #: ``--max-worker-memory``, applied over ``ServerConfig.max_worker_memory``.
    max_worker_memory: int | None = None


def _cli_overrides(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--env", choices=["development", "production"])
    parser.add_argument("--debug", action="store_true", default=None)
    parser.add_argument("--reload", action="store_true", default=None)
    parser.add_argument("--workers", type=int)
    parser.add_argument("--no-logs", dest="logs", action="store_false", default=None)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--http3", action="store_true", default=None)
    parser.add_argument("--max-worker-memory")
    known, _ = parser.parse_known_args(argv)
    return known


def resolve_options(
    host: str,
    port: int,
    debug: bool | None,
    env: str,
    workers: int | None,
    reload: bool,
    logs: bool | None,
    argv: list[str] | None = None,
    tls: TlsConfig | None = None,
    http3: bool = False,
) -> RunOptions:
    """Applies the command-line flags over the arguments, then the documented defaults."""
    flags = _cli_overrides(sys.argv[1:] if argv is None else argv)
    host = flags.host if flags.host is not None else host
    port = flags.port if flags.port is not None else port
    env = flags.env if flags.env is not None else env
    debug = flags.debug if flags.debug is not None else debug
    reload = flags.reload if flags.reload is not None else reload
    workers = flags.workers if flags.workers is not None else workers
    logs = flags.logs if flags.logs is not None else logs
    if env not in ("development", "production"):
        raise ValueError(f"env must be 'development' or 'production', got {env!r}")
    if debug is None:
        debug = env == "development"
    if workers is None:
        workers = (os.cpu_count() or 1) if env == "production" and not debug else 1
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if not 0 <= port <= 65535:
        raise ValueError(f"port must be 0-65535, got {port}")
    if logs is None:
        logs = debug
    if (flags.tls_cert is None) != (flags.tls_key is None):
        raise ValueError("--tls-cert and --tls-key go together: give both")
    if flags.tls_cert is not None:
        tls = TlsConfig(flags.tls_cert, flags.tls_key)
    if flags.http3:
        http3 = True
    if http3:
        require_feature("http3", "HTTP/3 (app.run(http3=True) or --http3)")
    if http3 and tls is None:
        raise ValueError("HTTP/3 needs TLS: pass tls=TlsConfig(cert_path, key_path) (or --tls-cert/--tls-key)")
    max_worker_memory = None
    if flags.max_worker_memory is not None:
        max_worker_memory = parse_memory(flags.max_worker_memory, "--max-worker-memory")
    return RunOptions(host, port, debug, env, workers, reload, logs, tls, http3, max_worker_memory)


def _display_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def serve_worker(
    app: App,
    host: str,
    port: int,
    *,
    config: ServerConfig,
    access_log: bool,
    reuse_port: bool = False,
    on_ready: Callable[[Any], None] | None = None,
    install_signals: bool = True,
    fd: int | None = None,
    on_retire: Callable[[], None] | None = None,
    tls: TlsConfig | None = None,
    http3: bool = False,
    on_started: Callable[[], None] | None = None,
) -> None:
    """Runs one worker in this process until SIGTERM/SIGINT, then drains.

    Startup hooks run before the socket is bound; shutdown hooks after the drain.
    `on_ready` receives the running server (``.port``, ``.shutdown()``) once it
    accepts connections. Without `install_signals` (a server in a thread), stop it
    with ``server.shutdown()`` from any thread. With `fd`, the worker serves that
    listening socket (from the supervisor) instead of binding. After
    ``config.max_requests`` requests, `on_retire` is called and the worker drains.
    `on_started` is called once the startup hooks have run and the worker serves
    (with health checks, `on_ready` comes earlier: as soon as it listens).
    """
    loop = CelloEventLoop()
    asyncio.set_event_loop(loop)
    max_requests = None
    if config.max_requests is not None:
        max_requests = config.max_requests + random.randint(0, config.max_requests_jitter)
    try:
        # With health probes the worker serves them while its startup hooks run.
        serve_early = app._serve_during_startup()
        if not serve_early:
            loop.run_until_complete(app._run_hooks("startup"))
        running: list[Any] = []

        def retire() -> None:
            app._begin_drain()
            if on_retire is not None:
                on_retire()
            for server_to_stop in running:
                server_to_stop.shutdown()

        engine = app._engine(
            loop.driver, task_starter(loop), config, access_log, max_requests, retire
        )
        server: Any = engine.serve(
            loop.driver, host, port, reuse_port, fd, tls.as_tuple() if tls else None, http3,
            tls.redirect_http_port if tls else None,
        )
        listen = app._grpc_listen_address(port)
        if listen is not None:
            from cello.grpc._listener import Listeners

            # GrpcConfig(address=...) given: the same engine there too (SO_REUSEPORT, so
            # every worker binds it).
            grpc_listener = engine.serve(
                loop.driver, listen[0], listen[1], True, None, tls.as_tuple() if tls else None, False, None
            )
            server = Listeners(server, grpc_listener)
        running.append(server)
        if install_signals:
            app._install_stop_signals(loop, server)
            if tls is not None:
                loop.add_signal_handler(signal.SIGHUP, _reload_tls, server)
            # A supervisor forks workers with these blocked (so none is lost before the
            # handlers above exist); one that arrived meanwhile is delivered now.
            signal.pthread_sigmask(
                signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1}
            )
        # A process announces as soon as it listens (its startup probe answers 503
        # until the hooks finish); a server in a thread (LiveServer) is ready for its
        # caller only once the hooks have run, and reports a failing hook as before.
        announce_early = not serve_early or install_signals
        if on_ready is not None and announce_early:
            on_ready(server)
        if serve_early:
            try:
                loop.run_until_complete(app._finish_startup())
            except BaseException:
                server.shutdown()
                loop.run_until_complete(server.wait_closed())
                raise
        if on_ready is not None and not announce_early:
            on_ready(server)
        if on_started is not None:
            on_started()
        loop.run_until_complete(server.wait_closed())
        loop.run_until_complete(background.drain(config.shutdown_timeout))
        loop.run_until_complete(app._run_hooks("shutdown"))
    finally:
        if install_signals:
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1):
                loop.remove_signal_handler(signum)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        asyncio.set_event_loop(None)


def _reload_tls(server: Any) -> None:
    try:
        server.reload_tls()
        print("cello: TLS certificate reloaded", file=sys.stderr, flush=True)
    except Exception as error:  # noqa: BLE001 - keep serving with the old certificate
        print(f"cello: TLS reload failed, keeping the current certificate: {error}", file=sys.stderr, flush=True)


def run_app(
    app: App,
    host: str,
    port: int,
    debug: bool | None,
    env: str,
    workers: int | None,
    reload: bool,
    logs: bool | None,
    config: ServerConfig | None,
    argv: list[str] | None = None,
    tls: TlsConfig | None = None,
    http3: bool = False,
) -> None:
    """`App.run`'s implementation; `argv` defaults to ``sys.argv[1:]``."""
    options = resolve_options(host, port, debug, env, workers, reload, logs, argv, tls, http3)
    config = config or ServerConfig()
    if options.max_worker_memory is not None:
        config = dataclasses.replace(config, max_worker_memory=options.max_worker_memory)
    app.debug = options.debug
    app.env = options.env
    if options.reload and os.environ.get("CELLO_RELOADER_CHILD") != "1":
        from cello._reload import run_with_reloader

        run_with_reloader()
        return
    if options.workers == 1 and config.max_requests is None and config.max_worker_memory is None:

        def announce(server: Any) -> None:
            scheme = "https" if options.tls else "http"
            print(
                f"Cello running at {scheme}://{_display_host(options.host)}:{server.port} "
                f"(1 worker, {options.env})",
                flush=True,
            )

        serve_worker(
            app, options.host, options.port, config=config, access_log=options.logs,
            on_ready=announce, tls=options.tls, http3=options.http3,
        )
        return
    from cello._supervisor import Supervisor

    for warning in app._per_worker_warnings():
        print(f"cello: warning: {warning} ({options.workers} workers)", file=sys.stderr, flush=True)
    Supervisor(app, options, config).run()
