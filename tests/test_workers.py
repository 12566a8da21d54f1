"""The process side of serving, in real subprocesses: the supervisor and its workers,
restarts, graceful drain on SIGTERM and ``max_requests`` recycling (helpers in
``support/processes.py``; the CLI, option resolution and ``--reload`` are in
``test_cli.py``).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.processes import (
    PROCESS_TIMEOUT,
    ServerProcess,
    collect_pids,
    get,
    get_pid,
    pids_of,
    read_events,
    script,
    wait_until,
)

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


def sigterm_pending(pid: int) -> bool:
    """Whether a SIGTERM waits in `pid`'s process-wide pending set (blocked, not yet
    delivered); False once the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("ShdPnd:"):
                    return bool(int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
    except (FileNotFoundError, ProcessLookupError):
        pass
    return False


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
    # The workers cannot exit while their startup hooks wait on the gate. Open it once
    # the SIGTERM has reached them (held pending until their own handlers exist, or it
    # ended them), so the test waits for that and not for the gate's own deadline.
    try:
        wait_until(
            lambda: all(sigterm_pending(pid) or process_gone(pid) for pid in workers),
            PROCESS_TIMEOUT,
            "the supervisor to pass the SIGTERM on to both starting workers",
        )
    except AssertionError as error:
        raise AssertionError(
            f"{error} (supervisor exit code: {server.proc.poll()})\n{server.output()}"
        ) from None
    finally:
        gate.write_text("")  # let any worker that is still alive finish starting
    try:
        code = server.proc.wait(PROCESS_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"no exit after SIGTERM\n{server.output()}") from None
    try:
        wait_until(lambda: all(process_gone(pid) for pid in workers), 5.0, "the workers to exit")
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
    recycled = server.stderr_matches(
        r"\(pid (\d+)\) finished its max_requests; starting its replacement"
    )
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


def test_a_retirement_read_late_is_not_taken_for_a_crash(capfd: pytest.CaptureFixture[str]) -> None:
    """A worker writes its retirement to the control pipe, then exits; when the supervisor
    reaps the exit before it has read the pipe, the worker still counts as retired: one
    replacement (from the message), no "exited; restarting it" second one."""
    from cello import App
    from cello._supervisor import Supervisor, _Worker
    from cello.config import ServerConfig
    from cello.server import resolve_options

    supervisor = Supervisor(
        App(),
        resolve_options("127.0.0.1", 0, None, "development", 2, False, False, []),
        ServerConfig(),
    )
    spawned: list[int] = []
    supervisor._spawn = lambda slot, _control: spawned.append(slot)  # type: ignore[method-assign]
    control_read, control_write = os.pipe()
    os.set_blocking(control_read, False)
    try:
        pid = os.fork()
        if pid == 0:  # the retiring worker: message first, then a clean exit
            os.write(control_write, f"X{os.getpid()}\n".encode())
            os._exit(0)
        supervisor.workers[pid] = _Worker(1, pid)
        supervisor.workers[pid].ready = True
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)  # exited, not yet reaped
        supervisor._reap(control_read, control_write)
    finally:
        os.close(control_read)
        os.close(control_write)
    log = capfd.readouterr().err
    assert "finished its max_requests; starting its replacement" in log, log
    assert "restarting it" not in log, log
    assert spawned == [1], spawned
    assert pid not in supervisor.workers
