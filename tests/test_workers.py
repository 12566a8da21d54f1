"""The process side of serving, in real subprocesses: the supervisor and its workers,
restarts, graceful drain on SIGTERM, ``max_requests`` recycling, the ``cello`` CLI,
option resolution and ``--reload``.

Every server binds port 0 and announces ``Cello running at http://HOST:PORT (...)`` on
stdout; the tests wait for that line (bounded), never for a fixed time, and always kill
the whole process group at the end.
"""

from __future__ import annotations

import http.client
import inspect
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cello import App
from cello.server import RunOptions, resolve_options

REPO = Path(__file__).resolve().parent.parent
WORKERS_APP = REPO / "tests" / "apps" / "workers_app.py"
ANNOUNCE = re.compile(r"Cello running at http://(?P<host>\[[^\]]+\]|[^:/\s]+):(?P<port>\d+) \((?P<info>[^)]*)\)")
ACCESS_LOG = re.compile(r'INFO \S+ "GET /pid" 200 ')

#: Bound for one process to start, answer, drain or exit; far above what it needs.
PROCESS_TIMEOUT = 15.0


# --- helpers ----------------------------------------------------------------------------


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

    def __init__(self, args: list[str], cwd: Path = REPO, env: dict[str, str] | None = None) -> None:
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
        self, stream: str, pattern: str | re.Pattern[str], timeout: float = PROCESS_TIMEOUT, skip: int = 0
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


@pytest.fixture
def spawn() -> Iterator[Callable[..., ServerProcess]]:
    started: list[ServerProcess] = []

    def start(args: list[str], **options: Any) -> ServerProcess:
        process = ServerProcess(args, **options)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


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
    return [sys.executable, "-m", "cello", "run", "tests.apps.workers_app:app", "--port", "0", *flags]


# --- workers ----------------------------------------------------------------------------


def test_two_workers_both_answer(spawn: Callable[..., ServerProcess], tmp_path: Path) -> None:
    events = tmp_path / "events"
    server = spawn(script("--workers", "2"), env={"CELLO_TEST_EVENTS": str(events)})
    port, info = server.wait_ready()
    assert info == "2 workers, development", info
    pids = collect_pids(port, want=2)
    assert len(pids) == 2, f"only {pids} answered\n{server.output()}"
    assert server.proc.pid not in pids, "the supervisor itself must not serve"
    assert sorted(pids) == sorted(pids_of(events, "startup"))


def test_startup_and_shutdown_hooks_run_in_each_worker(
    spawn: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    events = tmp_path / "events"
    server = spawn(script("--workers", "2"), env={"CELLO_TEST_EVENTS": str(events)})
    port, _ = server.wait_ready()
    started = pids_of(events, "startup")
    assert len(started) == 2 and len(set(started)) == 2, read_events(events)
    assert collect_pids(port, want=2) == set(started)
    assert pids_of(events, "shutdown") == []
    assert server.terminate_and_wait() == 0, server.output()
    assert sorted(pids_of(events, "shutdown")) == sorted(started), read_events(events)


def test_killed_worker_is_reported_and_restarted(
    spawn: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    events = tmp_path / "events"
    server = spawn(script("--workers", "2"), env={"CELLO_TEST_EVENTS": str(events)})
    port, _ = server.wait_ready()
    original = collect_pids(port, want=2)
    assert len(original) == 2, original
    victim = min(original)
    os.kill(victim, signal.SIGKILL)
    line = server.wait_for_line("stderr", rf"\(pid {victim}\) was killed by signal SIGKILL")
    assert "restarting" in line.string, line.string
    replacement = wait_until(
        lambda: [pid for pid in pids_of(events, "startup") if pid not in original],
        PROCESS_TIMEOUT,
        "a replacement worker to start",
    )
    assert len(replacement) == 1, replacement
    survivors = original - {victim}
    answered = collect_pids(port, want=2)
    assert answered == survivors | set(replacement), (answered, original, replacement)
    assert server.proc.poll() is None, "the supervisor died"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_handler_exception_never_kills_a_worker(
    spawn: Callable[..., ServerProcess], tmp_path: Path, workers: str
) -> None:
    events = tmp_path / "events"
    server = spawn(script("--workers", workers), env={"CELLO_TEST_EVENTS": str(events)})
    port, _ = server.wait_ready()
    before = collect_pids(port, want=int(workers))
    for _ in range(10):
        status, headers, body = get(port, "/boom")
        assert status == 500, body
        assert headers["content-type"] == "application/problem+json"
        assert json.loads(body)["status"] == 500
    after = collect_pids(port, want=int(workers))
    assert after == before, (before, after)
    assert sorted(pids_of(events, "startup")) == sorted(before), "a worker was restarted"
    assert server.stderr_matches("restarting") == [], server.output()
    assert server.proc.poll() is None


def test_sigterm_drains_in_flight_requests_and_exits_0(
    spawn: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    events = tmp_path / "events"
    server = spawn(script("--workers", "2"), env={"CELLO_TEST_EVENTS": str(events)})
    port, _ = server.wait_ready()
    workers = pids_of(events, "startup")
    outcome: dict[str, Any] = {}

    def slow_request() -> None:
        try:
            outcome["response"] = get(port, "/slow?seconds=1", timeout=PROCESS_TIMEOUT)
        except BaseException as error:  # noqa: BLE001 - reported by the test thread
            outcome["error"] = error

    client = threading.Thread(target=slow_request)
    client.start()
    try:
        wait_until(lambda: pids_of(events, "slow-started"), PROCESS_TIMEOUT, "the slow handler")
        server.proc.send_signal(signal.SIGTERM)
    finally:
        client.join(PROCESS_TIMEOUT)
    assert not client.is_alive(), "the in-flight request never finished"
    assert "error" not in outcome, f"{outcome['error']!r}\n{server.output()}"
    status, _, body = outcome["response"]
    assert status == 200, body
    assert json.loads(body)["slow"] is True
    try:
        code = server.proc.wait(PROCESS_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"no exit after SIGTERM\n{server.output()}") from None
    assert code == 0, server.output()
    server.finish_output()
    assert sorted(pids_of(events, "shutdown")) == sorted(workers), read_events(events)
    assert server.stderr_matches(r"received SIGTERM; draining 2 workers"), server.output()
    assert server.stderr_matches(r"all workers stopped"), server.output()
    assert not server.stderr_matches(r"did not drain in time"), server.output()


def process_gone(pid: int) -> bool:
    """Whether `pid` has exited (it may be a zombie of a parent that is not us)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return any(line.startswith("State:") and "Z" in line.split()[1] for line in status)
    except (FileNotFoundError, ProcessLookupError):
        return True


def test_sigterm_while_workers_start_leaves_no_orphans(
    spawn: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    """SIGTERM that arrives before the workers are ready must still stop them all."""
    events, gate = tmp_path / "events", tmp_path / "gate"
    server = spawn(
        script("--workers", "2"),
        env={"CELLO_TEST_EVENTS": str(events), "CELLO_TEST_STARTUP_GATE": str(gate)},
    )
    workers = wait_until(
        lambda: len(pids_of(events, "startup")) == 2 and pids_of(events, "startup"),
        PROCESS_TIMEOUT,
        "both workers to enter their startup hooks",
    )
    server.proc.send_signal(signal.SIGTERM)
    try:
        code = server.proc.wait(PROCESS_TIMEOUT)
    finally:
        gate.write_text("")  # let any worker that is still alive finish starting
    try:
        wait_until(
            lambda: all(process_gone(pid) for pid in workers), 5.0, "the workers to exit"
        )
    except AssertionError:
        alive = [pid for pid in workers if not process_gone(pid)]
        raise AssertionError(
            f"the supervisor exited (code {code}) on SIGTERM during startup but left its "
            f"workers {alive} running as orphans\n{server.output()}"
        ) from None


def get_pid_retrying(port: int, failures: list[str], attempts: int = 200) -> int:
    """`get_pid`, retrying connection failures (bounded); each failure is recorded."""
    for _ in range(attempts):
        try:
            return get_pid(port)
        except (ConnectionError, http.client.RemoteDisconnected) as error:
            failures.append(repr(error))
            time.sleep(0.01)
    raise AssertionError(f"no worker answered in {attempts} attempts: {failures[-5:]}")


def test_max_requests_recycles_workers(spawn: Callable[..., ServerProcess], tmp_path: Path) -> None:
    events = tmp_path / "events"
    server = spawn(
        script("--workers", "2"),
        env={"CELLO_TEST_EVENTS": str(events), "CELLO_TEST_MAX_REQUESTS": "5"},
    )
    port, _ = server.wait_ready()
    first_generation = set(pids_of(events, "startup"))
    assert len(first_generation) == 2
    served: dict[int, int] = {}
    failures: list[str] = []  # see test_max_requests_recycling_loses_no_connection
    for _ in range(60):
        pid = get_pid_retrying(port, failures)
        served[pid] = served.get(pid, 0) + 1
        if len(served.keys() - first_generation) >= 2:
            break
    fresh = served.keys() - first_generation
    assert len(fresh) >= 2, f"no recycling seen: {served}\n{server.output()}"
    too_many = {pid: count for pid, count in served.items() if count > 5}
    assert not too_many, f"workers served more than max_requests=5: {too_many}"
    recycled = server.stderr_matches(r"\(pid (\d+)\) finished its max_requests; starting its replacement")
    assert len(recycled) >= 2, server.output()
    assert not server.stderr_matches(r"was killed|exited with code"), server.output()
    # Every recycled worker ran its shutdown hook: it drained, it was not killed. Only the
    # workers that retired count: SO_REUSEPORT may send most requests to one slot, so the
    # other first-generation worker can still be under its max_requests.
    retired = {int(re.findall(r"\(pid (\d+)\)", line)[0]) for line in recycled}
    wait_until(
        lambda: retired <= set(pids_of(events, "shutdown")),
        10.0,
        f"the shutdown hooks of the retired workers {sorted(retired)}",
    )


def test_max_requests_recycling_loses_no_connection(
    spawn: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    """Recycling is meant to be invisible to clients: while a worker retires and its
    replacement starts, every connection must still be answered (not reset, not
    refused)."""
    events = tmp_path / "events"
    server = spawn(
        script("--workers", "2"),
        env={"CELLO_TEST_EVENTS": str(events), "CELLO_TEST_MAX_REQUESTS": "5"},
    )
    port, _ = server.wait_ready()
    outcomes: list[str] = []
    for _ in range(40):
        try:
            outcomes.append(str(get_pid(port)))
        except (ConnectionError, http.client.RemoteDisconnected) as error:
            outcomes.append(type(error).__name__)
    lost = [outcome for outcome in outcomes if not outcome.isdigit()]
    assert not lost, (
        f"{len(lost)} of {len(outcomes)} sequential requests failed while workers were "
        f"recycled: {outcomes}"
    )
    assert len(server.stderr_matches(r"finished its max_requests")) >= 4, server.output()


# --- the command line -------------------------------------------------------------------


def test_python_m_cello_run_serves(spawn: Callable[..., ServerProcess]) -> None:
    server = spawn(cli())
    port, info = server.wait_ready()
    assert info == "1 worker, development", info
    # One worker: it serves in the process that was started.
    assert get_pid(port) == server.proc.pid
    # Development defaults to debug, and logs follow debug.
    server.wait_for_line("stderr", ACCESS_LOG)


def test_cello_console_script_serves(spawn: Callable[..., ServerProcess]) -> None:
    executable = Path(sys.executable).parent / "cello"
    assert executable.exists(), f"the `cello` console script is not installed next to {sys.executable}"
    server = spawn([str(executable), "run", "tests.apps.workers_app:app", "--port", "0"])
    port, info = server.wait_ready()
    assert info == "1 worker, development", info
    status, headers, body = get(port, "/pid")
    assert status == 200 and headers["content-type"] == "application/json", body


def test_cli_production_with_two_workers(spawn: Callable[..., ServerProcess]) -> None:
    server = spawn(cli("--env", "production", "--workers", "2"))
    port, info = server.wait_ready()
    assert info == "2 workers, production", info
    assert len(collect_pids(port, want=2)) == 2
    # Production: no debug, so a 500 reveals nothing, and no access log by default.
    status, _, body = get(port, "/boom")
    assert status == 500
    assert "boom from the handler" not in body.decode() and "Traceback" not in body.decode()
    assert server.terminate_and_wait() == 0, server.output()
    server.finish_output()
    assert server.stderr_matches(ACCESS_LOG) == [], server.output()


def test_cli_no_logs_silences_the_access_log(spawn: Callable[..., ServerProcess]) -> None:
    server = spawn(cli("--no-logs"))
    port, _ = server.wait_ready()
    for _ in range(3):
        get_pid(port)
    assert server.terminate_and_wait() == 0, server.output()
    server.finish_output()  # everything the server wrote is in now
    assert server.stderr_matches(ACCESS_LOG) == [], server.output()
    assert server.stderr_matches(r'"GET ') == [], server.output()


def test_cli_debug_writes_the_access_log(spawn: Callable[..., ServerProcess]) -> None:
    server = spawn(cli("--env", "production", "--debug"))
    port, info = server.wait_ready()
    # Debug means one worker, even in production.
    assert info == "1 worker, production", info
    for _ in range(3):
        get_pid(port)
    server.wait_for_line("stderr", ACCESS_LOG, skip=2)
    # Debug mode: a 500 shows the traceback.
    status, _, body = get(port, "/boom")
    assert status == 500
    assert "boom from the handler" in json.loads(body)["detail"]
    server.wait_for_line("stderr", r'INFO \S+ "GET /boom" 500 ')


def test_cli_reports_a_bad_target(spawn: Callable[..., ServerProcess]) -> None:
    server = spawn([sys.executable, "-m", "cello", "run", "tests.apps.no_such_module:app"])
    try:
        code = server.proc.wait(PROCESS_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the CLI did not exit\n{server.output()}") from None
    server.finish_output()
    assert code != 0
    assert server.stderr_matches(r"cannot import 'tests\.apps\.no_such_module'"), server.output()


# --- resolve_options: the documented run() defaults -------------------------------------


def resolve(argv: list[str] | None = None, **arguments: Any) -> RunOptions:
    values: dict[str, Any] = {
        "host": "127.0.0.1", "port": 8000, "debug": None, "env": "development",
        "workers": None, "reload": False, "logs": None,
    }
    values.update(arguments)
    return resolve_options(**values, argv=argv or [])


def test_run_signature_defaults_match_the_documentation() -> None:
    parameters = inspect.signature(App.run).parameters
    defaults = {name: p.default for name, p in parameters.items() if name != "self"}
    assert defaults == {
        "host": "127.0.0.1", "port": 8000, "debug": None, "env": "development",
        "workers": None, "reload": False, "logs": None, "config": None, "tls": None,
        "http3": False,
    }


def test_resolve_options_development_defaults() -> None:
    assert resolve() == RunOptions(
        host="127.0.0.1", port=8000, debug=True, env="development", workers=1,
        reload=False, logs=True,
    )


def test_resolve_options_production_defaults() -> None:
    options = resolve(env="production")
    assert options.debug is False
    assert options.workers == (os.cpu_count() or 1)
    assert options.logs is False
    assert (options.host, options.port, options.reload) == ("127.0.0.1", 8000, False)


def test_resolve_options_debug_in_production_means_one_worker_and_logs() -> None:
    options = resolve(env="production", debug=True)
    assert (options.debug, options.workers, options.logs) == (True, 1, True)


def test_resolve_options_explicit_arguments_win_over_defaults() -> None:
    options = resolve(debug=False, workers=3, logs=True, reload=True, host="0.0.0.0", port=0)
    assert options == RunOptions(
        host="0.0.0.0", port=0, debug=False, env="development", workers=3, reload=True, logs=True
    )
    assert resolve(debug=True, logs=False).logs is False
    assert resolve(debug=False).logs is False


def test_resolve_options_command_line_flags_override_arguments() -> None:
    argv = [
        "run", "app:app", "--host", "0.0.0.0", "--port", "9001", "--env", "production",
        "--debug", "--reload", "--workers", "3", "--no-logs",
    ]
    options = resolve(argv, host="127.0.0.1", port=8000, env="development", workers=1, logs=True)
    assert options == RunOptions(
        host="0.0.0.0", port=9001, debug=True, env="production", workers=3, reload=True, logs=False
    )


def test_resolve_options_partial_flags_keep_the_other_arguments() -> None:
    options = resolve(["--port", "0"], host="127.0.0.2", workers=2, env="production", debug=False)
    assert options == RunOptions(
        host="127.0.0.2", port=0, debug=False, env="production", workers=2, reload=False, logs=False
    )
    assert resolve(["--env", "production"]).workers == (os.cpu_count() or 1)


def test_resolve_options_reads_sys_argv_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["app.py", "--port", "4321", "--no-logs"])
    options = resolve_options("127.0.0.1", 8000, None, "development", None, False, None)
    assert (options.port, options.logs, options.debug) == (4321, False, True)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"env": "staging"}, "env must be"),
        ({"workers": 0}, "workers must be at least 1"),
        ({"port": 70000}, "port must be"),
    ],
)
def test_resolve_options_rejects_bad_values(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resolve(**arguments)


# --- reload -----------------------------------------------------------------------------

RELOAD_APP = '''
import os

from cello import App

VERSION = {version}

app = App()


@app.get("/pid")
def pid(request):
    return {{"pid": os.getpid(), "version": VERSION}}


if __name__ == "__main__":
    app.run()
'''


def test_reload_restarts_on_a_python_file_change(
    spawn: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    source = tmp_path / "reload_app.py"
    source.write_text(RELOAD_APP.format(version=1))
    server = spawn([sys.executable, "reload_app.py", "--port", "0", "--reload"], cwd=tmp_path)
    port, _ = server.wait_ready()
    status, _, body = get(port, "/pid")
    first = json.loads(body)
    assert status == 200 and first["version"] == 1
    assert first["pid"] != server.proc.pid, "with --reload the app runs in a child process"
    server.wait_for_line("stderr", r"watching .* for changes")

    source.write_text(RELOAD_APP.format(version=2))
    # Move the mtime well away, whatever the file system's timestamp granularity.
    stamp = source.stat().st_mtime + 10
    os.utime(source, (stamp, stamp))

    server.wait_for_line("stderr", r"change detected; restarting")
    port, _ = server.wait_ready(skip=1)
    status, _, body = get(port, "/pid")
    second = json.loads(body)
    assert status == 200
    assert second["version"] == 2, "the restarted server runs the old code"
    assert second["pid"] != first["pid"], "the server was not restarted"
    assert server.proc.poll() is None, "the reloader itself exited"


def test_reload_notices_a_new_python_file(spawn: Callable[..., ServerProcess], tmp_path: Path) -> None:
    (tmp_path / "reload_app.py").write_text(RELOAD_APP.format(version=7))
    server = spawn([sys.executable, "reload_app.py", "--port", "0", "--reload"], cwd=tmp_path)
    port, _ = server.wait_ready()
    first = json.loads(get(port, "/pid")[2])
    server.wait_for_line("stderr", r"watching .* for changes")
    (tmp_path / "helpers.py").write_text("VALUE = 1\n")
    server.wait_for_line("stderr", r"change detected; restarting")
    port, _ = server.wait_ready(skip=1)
    second = json.loads(get(port, "/pid")[2])
    assert second["version"] == 7
    assert second["pid"] != first["pid"]
