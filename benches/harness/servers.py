"""Starting, probing and stopping the servers under test.

Every server is a subprocess in a new session, so its whole tree (supervisors, workers,
granian's and uvicorn's children) is one process group: one ``killpg`` ends it, on a
normal stop, on an exception and on Ctrl+C (``stop_all`` runs from ``finally`` and atexit).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .http_check import HttpError, fetch
from .procmetrics import sample_tree, tree_pids

__all__ = [
    "CommandBuilder",
    "RunningServer",
    "ServerFailed",
    "free_port",
    "start_server",
    "stop_all",
]

READY_TIMEOUT_S = 30.0
_PROBE_PATH = "/plaintext"

CommandBuilder = Callable[[int, int], list[str]]
"""(port, workers) -> argv."""


class ServerFailed(Exception):
    """The server exited or never answered; the message carries the log's tail."""


def free_port() -> int:
    """A port the kernel just handed out; the tiny race until the server binds is accepted."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_bytes().decode(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join("    " + line for line in text.strip().splitlines()[-lines:])


@dataclass
class RunningServer:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    cleanup: Callable[[], None] | None = None
    _stopped: bool = field(default=False, repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, grace_s: float = 10.0) -> None:
        if self._stopped:
            return
        self._stopped = True
        _LIVE.discard(self)
        leftovers = set(tree_pids(self.pid))
        _signal_group(self.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            _signal_group(self.pid, signal.SIGKILL)
            self.process.wait(timeout=grace_s)
        # Workers that moved to a session of their own survive killpg: end them by pid.
        deadline = time.monotonic() + grace_s
        for pid in leftovers - {self.pid}:
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _alive(pid):
                _kill(pid)
        _signal_group(self.pid, signal.SIGKILL)
        if self.cleanup is not None:
            self.cleanup()

    def __hash__(self) -> int:
        return id(self)


_LIVE: set[RunningServer] = set()


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


def stop_all() -> None:
    for server in list(_LIVE):
        try:
            server.stop(grace_s=3.0)
        except Exception as error:  # best effort while tearing down
            print(f"[warn] could not stop {server.name} (pid {server.pid}): {error}")


atexit.register(stop_all)


def _wait_ready(server: RunningServer, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    last_error = "no answer"
    while time.monotonic() < deadline:
        code = server.process.poll()
        if code is not None:
            raise ServerFailed(
                f"{server.name} exited with code {code} before answering "
                f"(log {server.log_path}):\n{log_tail(server.log_path)}"
            )
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=0.5):
                pass
            fetch(server.port, "GET", _PROBE_PATH, timeout=2.0)
            return  # any HTTP answer, even a 404, means the server is up
        except (OSError, HttpError) as error:
            last_error = f"{type(error).__name__}: {error}"
        time.sleep(0.1)
    raise ServerFailed(
        f"{server.name} did not answer on port {server.port} within {timeout_s:.0f}s "
        f"({last_error}; log {server.log_path}):\n{log_tail(server.log_path)}"
    )


def _settle(server: RunningServer, limit_s: float = 15.0) -> None:
    """Wait until every worker has booted: process count steady and the tree about idle.

    The probe answers as soon as one worker listens; the others may still be importing,
    which would show up as startup CPU and a short RSS in the idle measurement.
    """
    deadline = time.monotonic() + limit_s
    previous = sample_tree(server.pid, with_pss=False)
    steady_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        current = sample_tree(server.pid, with_pss=False)
        busy = current.cpu_seconds - previous.cpu_seconds > 0.05  # >10% of a core
        if current.processes != previous.processes or busy:
            steady_since = time.monotonic()
        elif time.monotonic() - steady_since >= 1.0:
            return
        previous = current


def start_server(
    name: str,
    argv: list[str],
    log_path: Path,
    port: int,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    user: str | None = None,
    cleanup: Callable[[], None] | None = None,
    ready_timeout_s: float = READY_TIMEOUT_S,
) -> RunningServer:
    """Start ``argv`` in its own session, wait until it answers HTTP and has settled."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        log.write(f"$ {' '.join(argv)}\n".encode())
        log.flush()
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            user=user,
        )
    server = RunningServer(name, port, process, log_path, cleanup)
    _LIVE.add(server)
    try:
        _wait_ready(server, ready_timeout_s)
        _settle(server)
    except BaseException:
        server.stop(grace_s=3.0)
        raise
    return server
