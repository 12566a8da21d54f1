"""The measurement loop: rounds of fresh servers, each checked, warmed up and loaded.

Order, for drift to hit every framework alike:

    for round:                          # A B C ... then A B C ... again
        for scenario:
            for workers:
                for framework:          # a fresh server per cell group
                    start, settle, read idle RSS, check status and body
                    warm up, then one wrk run per connection count
                    stop

A fresh server per scenario keeps one scenario's allocations (a 64 KB echo) out of the
next one's memory numbers.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .console import Log, loud
from .database import APP_ENV_URL, DatabaseUnavailable, database_url, ensure_database
from .frameworks import Framework
from .http_check import check_scenario
from .idle_connections import hold_idle_connections
from .launchers import Prepared, Skipped, prepare
from .paths import logs_dir
from .procmetrics import LoadSampler, sample_tree
from .results import Cell, CellKey, LoadRecord, MemoryRecord
from .scenario import Scenario
from .servers import RunningServer, ServerFailed
from .wrk import run_wrk, write_script

__all__ = ["Plan", "Run", "check_matrix", "estimate_seconds", "execute"]


@dataclass(frozen=True)
class Plan:
    frameworks: tuple[Framework, ...]
    scenarios: tuple[Scenario, ...]
    workers: tuple[int, ...]
    connections: tuple[int, ...]
    duration_s: float
    rounds: int
    warmup_s: float
    wrk_threads: int
    wrk_timeout_s: float
    cello_python: str
    wrk: str


@dataclass
class Run:
    plan: Plan
    started_at: datetime
    prepared: dict[str, Prepared | Skipped] = field(default_factory=dict)
    cells: dict[CellKey, Cell] = field(default_factory=dict)
    finished_at: datetime | None = None
    interrupted: bool = False
    run_id: str = ""
    database_error: str | None = None

    def cells_for(self, scenario: str) -> list[Cell]:
        return [cell for cell in self.cells.values() if cell.scenario == scenario]


def _connection_counts(plan: Plan, scenario: Scenario) -> tuple[int, ...]:
    return plan.connections if scenario.client == "wrk" else (0,)


def estimate_seconds(plan: Plan, startup_s: float = 4.0) -> float:
    per_round = 0.0
    for scenario in plan.scenarios:
        groups = len(plan.frameworks) * len(plan.workers)
        if scenario.client == "wrk":
            load = plan.warmup_s + len(plan.connections) * (plan.duration_s + 0.5)
        else:
            load = 20.0
        per_round += groups * (startup_s + load)
    return per_round * plan.rounds


def _make_cells(run: Run) -> None:
    plan = run.plan
    for scenario in plan.scenarios:
        for workers in plan.workers:
            for framework in plan.frameworks:
                for connections in _connection_counts(plan, scenario):
                    cell = Cell(scenario.name, framework.name, workers, connections)
                    run.cells[cell.key] = cell
                    prepared = run.prepared[framework.name]
                    if isinstance(prepared, Skipped):
                        cell.skip(prepared.reason)
                    elif scenario.name in framework.unsupported:
                        cell.skip(framework.unsupported[scenario.name], "n/a")
                    elif scenario.database and run.database_error:
                        cell.skip(f"no database: {run.database_error}")


def _database_env(scenarios: tuple[Scenario, ...] | list[Scenario]) -> dict[str, str]:
    """The apps open a database pool only when this names one (benches/apps/*)."""
    return {APP_ENV_URL: database_url()} if any(s.database for s in scenarios) else {}


def _prepare_database(run: Run, log: Log) -> None:
    """Fill the TechEmpower tables once; without a database its scenarios are skipped."""
    if not any(s.database for s in run.plan.scenarios):
        return
    try:
        for line in ensure_database().splitlines():
            log(f"[database] {line}")
    except DatabaseUnavailable as error:
        log(loud(f"SKIPPING the database scenarios: {error}"))
        run.database_error = str(error)


def prepare_all(run: Run, log: Log) -> None:
    _prepare_database(run, log)
    for framework in run.plan.frameworks:
        result = prepare(framework, run.plan.cello_python, log)
        run.prepared[framework.name] = result
        if isinstance(result, Skipped):
            log(loud(f"SKIPPING {framework.name}: {result.reason}"))
        else:
            versions = ", ".join(f"{k} {v}" for k, v in result.versions.items())
            log(f"[ready] {framework.name}: {versions}")


def _log_path(run: Run, *parts: object) -> Path:
    name = "-".join(str(part) for part in parts) + ".log"
    return logs_dir() / run.run_id / name


def _measure_load(
    run: Run,
    server: RunningServer,
    scenario: Scenario,
    cells: list[Cell],
    round_index: int,
    script: Path,
    log: Log,
) -> None:
    plan = run.plan
    url = f"http://127.0.0.1:{server.port}{scenario.path}"
    idle = sample_tree(server.pid)
    if plan.warmup_s > 0:
        run_wrk(
            plan.wrk,
            script,
            url,
            connections=min(c.connections for c in cells),
            threads=plan.wrk_threads,
            duration_s=plan.warmup_s,
            timeout_s=plan.wrk_timeout_s,
        )
    for cell in cells:
        before = sample_tree(server.pid, with_pss=False)
        with LoadSampler(server.pid) as sampler:
            result = run_wrk(
                plan.wrk,
                script,
                url,
                connections=cell.connections,
                threads=plan.wrk_threads,
                duration_s=plan.duration_s,
                timeout_s=plan.wrk_timeout_s,
            )
        after = sample_tree(server.pid, with_pss=False)
        cell.loads.append(
            LoadRecord(
                round=round_index,
                wrk=result,
                processes=idle.processes,
                rss_idle_bytes=idle.rss_bytes,
                pss_idle_bytes=idle.pss_bytes,
                rss_load_peak_bytes=max(sampler.peak_rss_bytes, after.rss_bytes),
                pss_load_peak_bytes=sampler.peak_pss_bytes,
                cpu_seconds=after.cpu_seconds - before.cpu_seconds,
            )
        )
        cell.status = "ok"
        errors = ""
        if result.non_2xx or result.socket_errors:
            errors = f", errors {result.non_2xx} non-2xx / {result.socket_errors} socket"
        p99 = "     —" if result.p99_ms is None else f"{result.p99_ms:7.2f}"
        log(
            f"    c={cell.connections:<4} {result.requests_per_second:>10,.0f} req/s  "
            f"p50 {result.p50_ms:6.2f} ms  p99 {p99} ms{errors}"
        )


def _measure_memory(
    run: Run,
    server: RunningServer,
    scenario: Scenario,
    cell: Cell,
    workers: int,
    round_index: int,
    log: Log,
) -> None:
    result = hold_idle_connections(server.port, scenario, server.pid)
    cell.memories.append(MemoryRecord(round_index, workers, result))
    mib = 1024 * 1024
    if result.open_at_measure == 0:
        cell.fail(f"no connection stayed open ({result.error or 'closed by the server'})")
    else:
        cell.status = "ok"
    log(
        f"    idle {result.idle.rss_bytes / mib:7.1f} MiB -> "
        f"{result.held.rss_bytes / mib:7.1f} MiB with {result.open_at_measure}/"
        f"{result.requested} connections open" + (f" ({result.error})" if result.error else "")
    )


def _run_group(
    run: Run,
    scenario: Scenario,
    framework: Framework,
    workers: int,
    round_index: int,
    scripts: dict[str, Path],
    log: Log,
) -> None:
    cells = [
        run.cells[(scenario.name, framework.name, workers, connections)]
        for connections in _connection_counts(run.plan, scenario)
    ]
    cells = [cell for cell in cells if cell.measurable]
    if not cells:
        return
    prepared = run.prepared[framework.name]
    assert isinstance(prepared, Prepared)
    log(f"  [{framework.name} w={workers}]")
    try:
        server = prepared.start(
            workers,
            _log_path(run, scenario.name, framework.name, f"w{workers}", f"r{round_index}"),
            _database_env([scenario]),
        )
    except ServerFailed as error:
        log(f"    server failed: {error}")
        for cell in cells:
            cell.fail(f"server did not start: {str(error).splitlines()[0]}")
        return
    try:
        problem = check_scenario(server.port, scenario)
        if problem is not None:
            if framework.role == "ceiling":
                # A ceiling serves only what it was written for; a wrong answer there
                # means "not this scenario", not a broken framework.
                log(f"    n/a for this ceiling: {problem}")
                for cell in cells:
                    cell.skip(f"does not serve this scenario ({problem})", "n/a")
                return
            log(f"    CHECK FAILED: {problem}")
            for cell in cells:
                cell.fail(f"check failed: {problem}")
            return
        if scenario.client == "wrk":
            _measure_load(run, server, scenario, cells, round_index, scripts[scenario.name], log)
        else:
            _measure_memory(run, server, scenario, cells[0], workers, round_index, log)
    except (RuntimeError, OSError, subprocess.SubprocessError) as error:
        log(f"    measurement failed: {error}")
        for cell in cells:
            cell.fail(f"measurement failed: {error}")
    finally:
        server.stop()


def execute(run: Run, log: Log) -> None:
    """Prepare every framework, then measure every cell; Ctrl+C keeps what was measured."""
    plan = run.plan
    prepare_all(run, log)
    _make_cells(run)
    script_dir = logs_dir() / run.run_id / "wrk"
    scripts = {s.name: write_script(s, script_dir) for s in plan.scenarios if s.client == "wrk"}
    try:
        for round_index in range(1, plan.rounds + 1):
            for scenario in plan.scenarios:
                log(f"[round {round_index}/{plan.rounds}] {scenario.name}: {scenario.title}")
                for workers in plan.workers:
                    for framework in plan.frameworks:
                        _run_group(run, scenario, framework, workers, round_index, scripts, log)
    except KeyboardInterrupt:
        run.interrupted = True
        log("\ninterrupted: stopping servers and writing what was measured")
    finally:
        run.finished_at = datetime.now()


def check_matrix(run: Run, log: Log) -> bool:
    """Start each framework once per worker count and check every scenario; no load."""
    prepare_all(run, log)
    all_ok = True
    for workers in run.plan.workers:
        for framework in run.plan.frameworks:
            prepared = run.prepared[framework.name]
            if isinstance(prepared, Skipped):
                continue
            started = time.monotonic()
            try:
                log_path = _log_path(run, "check", framework.name, f"w{workers}")
                # No database: its scenarios are skipped and the apps start without a pool.
                extra = {} if run.database_error else _database_env(run.plan.scenarios)
                server = prepared.start(workers, log_path, extra)
            except ServerFailed as error:
                log(f"[{framework.name} w={workers}] SERVER FAILED: {error}")
                all_ok = False
                continue
            try:
                processes = sample_tree(server.pid, with_pss=False).processes
                log(
                    f"[{framework.name} w={workers}] up in {time.monotonic() - started:.1f}s, "
                    f"{processes} processes"
                )
                for scenario in run.plan.scenarios:
                    if scenario.name in framework.unsupported:
                        log(f"    {scenario.name:<13} n/a ({framework.unsupported[scenario.name]})")
                        continue
                    if scenario.database and run.database_error:
                        log(f"    {scenario.name:<13} skipped (no database)")
                        continue
                    problem = check_scenario(server.port, scenario)
                    if problem is None:
                        log(f"    {scenario.name:<13} ok")
                    elif framework.role == "ceiling":
                        log(f"    {scenario.name:<13} n/a for this ceiling ({problem})")
                    else:
                        all_ok = False
                        log(f"    {scenario.name:<13} FAILED: {problem}")
            finally:
                server.stop()
    return all_ok
