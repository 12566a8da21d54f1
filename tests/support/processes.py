"""Servers in real subprocesses for the process-level tests (workers, the CLI, reload):
start, wait for the announce line, read output continuously, kill the process group.

Every server binds port 0 and announces ``Cello running at http://HOST:PORT (...)`` on
stdout; callers wait for that line (bounded), never for a fixed time.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent.parent
WORKERS_APP = REPO / "tests" / "apps" / "workers_app.py"
ANNOUNCE = re.compile(
    r"Cello running at http://(?P<host>\[[^\]]+\]|[^:/\s]+):(?P<port>\d+) \((?P<info>[^)]*)\)"
)
ACCESS_LOG = re.compile(r'INFO \S+ "GET /pid" 200 ')

#: Bound for one process to start, answer, drain or exit; far above what it needs.
PROCESS_TIMEOUT = 15.0


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Polls `condition` until it returns something truthy; fails after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


class ServerProcess:
    """A server in its own session, with stdout and stderr read continuously (so a
    chatty access log can never fill a pipe and stall it)."""

    def __init__(
        self, args: list[str], cwd: Path = REPO, env: dict[str, str] | None = None
    ) -> None:
        environment = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        environment.pop("CELLO_RELOADER_CHILD", None)
        self.args = args
        self.proc = subprocess.Popen(
            args,
            cwd=cwd,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self._lock = threading.Condition()
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._finished = 0
        self._readers = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self.stdout), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self.stderr), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _pump(self, stream: Any, lines: list[str]) -> None:
        try:
            for raw in iter(stream.readline, b""):
                with self._lock:
                    lines.append(raw.decode("utf-8", "replace").rstrip("\r\n"))
                    self._lock.notify_all()
        except (OSError, ValueError):
            pass  # the pipe was closed under us during cleanup
        with self._lock:
            self._finished += 1
            self._lock.notify_all()

    def output(self) -> str:
        with self._lock:
            return "\n".join(["--- stdout ---", *self.stdout, "--- stderr ---", *self.stderr])

    def wait_for_line(
        self,
        stream: str,
        pattern: str | re.Pattern[str],
        timeout: float = PROCESS_TIMEOUT,
        skip: int = 0,
    ) -> re.Match[str]:
        """The first line of `stream` ("stdout"/"stderr") after the first `skip`
        matching lines that matches `pattern`."""
        regex = re.compile(pattern)
        lines = self.stdout if stream == "stdout" else self.stderr
        found: list[re.Match[str]] = []

        def matched() -> bool:
            found.clear()
            found.extend(m for m in map(regex.search, lines) if m)
            return len(found) > skip or self._finished == len(self._readers)

        with self._lock:
            self._lock.wait_for(matched, timeout)
            if len(found) > skip:
                return found[skip]
        state = "closed its output" if self._finished else "is still running"
        raise AssertionError(
            f"no {stream} line matching {regex.pattern!r} (#{skip + 1}) within {timeout} s; "
            f"the process {state}\n{self.output()}"
        )

    def wait_ready(self, skip: int = 0) -> tuple[int, str]:
        """Waits for the announcement; returns the port and the ``(...)`` text."""
        match = self.wait_for_line("stdout", ANNOUNCE, skip=skip)
        assert match["host"] == "127.0.0.1", match.group(0)
        return int(match["port"]), match["info"]

    def stderr_matches(self, pattern: str | re.Pattern[str]) -> list[str]:
        regex = re.compile(pattern)
        with self._lock:
            return [line for line in self.stderr if regex.search(line)]

    def terminate_and_wait(self, timeout: float = PROCESS_TIMEOUT) -> int:
        """SIGTERM to the main process (not the group); its exit code."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"the server did not exit within {timeout} s of SIGTERM\n{self.output()}"
            ) from None

    def finish_output(self) -> None:
        """After the process group has exited: waits for the readers to hit EOF."""
        for reader in self._readers:
            reader.join(5)

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        self.finish_output()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


def get(port: int, path: str, timeout: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    """One request on a fresh connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        connection.close()


def get_pid(port: int) -> int:
    status, _, body = get(port, "/pid")
    assert status == 200, (status, body)
    return int(json.loads(body)["pid"])


def collect_pids(port: int, want: int, attempts: int = 300) -> set[int]:
    """Fresh connections until `want` distinct workers have answered (bounded)."""
    pids: set[int] = set()
    for _ in range(attempts):
        pids.add(get_pid(port))
        if len(pids) >= want:
            break
    return pids


def read_events(path: Path) -> list[tuple[str, int]]:
    if not path.exists():
        return []
    events = []
    for line in path.read_text().splitlines():
        name, _, pid = line.partition(" ")
        events.append((name, int(pid)))
    return events


def pids_of(path: Path, event: str) -> list[int]:
    return [pid for name, pid in read_events(path) if name == event]


def script(*flags: str) -> list[str]:
    return [sys.executable, str(WORKERS_APP), "--port", "0", *flags]


def cli(*flags: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "cello",
        "run",
        "tests.apps.workers_app:app",
        "--port",
        "0",
        *flags,
    ]
