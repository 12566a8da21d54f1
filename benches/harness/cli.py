"""Command line of the harness: ``python benches/run.py --help``."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from datetime import datetime
from pathlib import Path

from .frameworks import FRAMEWORKS, PEER_PYTHON, Framework
from .idle_connections import raise_nofile_limit
from .machine import describe_machine
from .paths import RESULTS_DIR, cache_dir, logs_dir
from .report import console_digest, write_reports
from .runner import Plan, Run, check_matrix, estimate_seconds, execute
from .scenario import Scenario, load_scenarios
from .servers import stop_all
from .venvs import ensure_venv
from .wrk import ensure_wrk, write_script

__all__ = ["main"]

QUICK = {
    "frameworks": "cello,cello-original,nginx",
    "scenarios": "json,path_param,echo_1k",
    "workers": "1,2",
    "connections": "100",
    "duration": 5,
    "rounds": 1,
    "warmup": 1,
}
DEFAULTS = {
    "frameworks": "all",
    "scenarios": "all",
    "workers": "1,2",
    "connections": "100,400",
    "duration": 10,
    "rounds": 3,
    "warmup": 2,
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python benches/run.py",
        description="Load-test Cello against peer frameworks and two ceilings (nginx, "
        "pure-Rust cello-http) and write benches/results/<date>-<scenario>.{md,json}.",
        epilog="Peer virtualenvs live in $CELLO_BENCH_CACHE/venvs (default "
        "~/.cache/cello-bench/venvs) and are reused between runs. See benches/README.md.",
    )
    mode = parser.add_argument_group("mode")
    mode.add_argument(
        "--quick",
        action="store_true",
        help="one round, Cello vs the original vs nginx, json/path_param/"
        "echo_1k, 1 and 2 workers, 100 connections, 5 s (explicit options win)",
    )
    mode.add_argument("--list", action="store_true", help="list frameworks and scenarios")
    mode.add_argument(
        "--install-only",
        action="store_true",
        help="create or refresh the peer virtualenvs, then exit",
    )
    mode.add_argument(
        "--check-only",
        action="store_true",
        help="start every selected app once per worker count and check every "
        "scenario's status and body; no load",
    )
    mode.add_argument(
        "--emit-wrk",
        metavar="SCENARIO",
        help="write SCENARIO's wrk Lua script; print '<script path> <request "
        "path>' (for flamegraph.sh and manual wrk runs)",
    )

    what = parser.add_argument_group("what to measure (comma-separated lists)")
    what.add_argument("--frameworks", help=f"names or 'all' (default: {DEFAULTS['frameworks']})")
    what.add_argument("--skip", default="", help="frameworks to leave out of the selection")
    what.add_argument("--scenarios", help="names or 'all' (default: all)")
    what.add_argument("--workers", help=f"worker counts (default: {DEFAULTS['workers']})")
    what.add_argument("--connections", help=f"wrk connections (default: {DEFAULTS['connections']})")

    how = parser.add_argument_group("how")
    how.add_argument(
        "--duration", type=int, help="whole seconds per wrk run (default: 10; --quick: 5)"
    )
    how.add_argument("--rounds", type=int, help="interleaved rounds; median reported (default: 3)")
    how.add_argument(
        "--warmup", type=int, help="warm-up seconds per server, 0 for none (default: 2)"
    )
    how.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count() or 1,
        help="wrk threads (default: the number of cores)",
    )
    how.add_argument("--timeout", type=float, default=5.0, help="wrk socket timeout, seconds")
    how.add_argument(
        "--cello-python",
        default="python3",
        help="interpreter where the Cello wheel is installed (default: python3)",
    )

    out = parser.add_argument_group("output")
    out.add_argument(
        "--output-dir",
        type=Path,
        default=RESULTS_DIR,
        help=f"where reports go (default: {RESULTS_DIR})",
    )
    out.add_argument(
        "--tag",
        default=None,
        help="inserted in file names: <date>-<tag>-<scenario> (--quick: 'quick')",
    )
    out.add_argument("--note", default="", help="a line of context quoted at the top of reports")
    return parser


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _select_frameworks(text: str, skip: str) -> tuple[Framework, ...]:
    known = {f.name: f for f in FRAMEWORKS}
    names = list(known) if text == "all" else _split(text)
    unknown = [n for n in names + _split(skip) if n not in known]
    if unknown:
        raise SystemExit(f"unknown framework(s) {', '.join(unknown)}; known: {', '.join(known)}")
    skipped = set(_split(skip))
    return tuple(known[n] for n in names if n not in skipped)


def _select_scenarios(text: str, available: dict[str, Scenario]) -> tuple[Scenario, ...]:
    names = list(available) if text == "all" else _split(text)
    unknown = [n for n in names if n not in available]
    if unknown:
        raise SystemExit(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(available)}")
    return tuple(available[n] for n in names)


def _resolve(args: argparse.Namespace) -> None:
    """Fill every option the user left out from --quick's values or the defaults."""
    base = QUICK if args.quick else DEFAULTS
    for name, value in base.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.tag is None:
        args.tag = "quick" if args.quick else ""


def _list(scenarios: dict[str, Scenario]) -> None:
    print("frameworks:")
    for f in FRAMEWORKS:
        where = f"venv {f.venv.name}" if f.venv else f.launcher
        print(f"  {f.name:<20} {f.role:<9} {f.label} [{where}]")
    print("scenarios:")
    for s in scenarios.values():
        print(f"  {s.name:<13} {s.method:<4} {s.path:<16} {s.title}")


def _on_sigterm(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _resolve(args)
    available = load_scenarios()
    if args.list:
        _list(available)
        return 0
    if args.emit_wrk:
        scenario = _select_scenarios(args.emit_wrk, available)[0]
        if scenario.client != "wrk":
            raise SystemExit(f"scenario {scenario.name} is not driven by wrk")
        print(write_script(scenario, cache_dir() / "wrk"), scenario.path)
        return 0

    frameworks = _select_frameworks(args.frameworks, args.skip)
    if args.install_only:
        failed = 0
        for venv in dict.fromkeys(f.venv for f in frameworks if f.venv is not None):
            status = ensure_venv(venv, PEER_PYTHON)
            print(f"{venv.name:<16} {'ok' if status.python else 'FAILED: ' + str(status.error)}")
            failed += status.python is None
        return 1 if failed else 0

    scenarios = _select_scenarios(args.scenarios, available)
    wrk = ensure_wrk()
    if wrk is None and not args.check_only:
        print("wrk is not installed: `apt-get install wrk` (as root), then run again.")
        return 2
    memory_connections = max((s.idle_connections for s in scenarios), default=0)
    limit = raise_nofile_limit(2 * memory_connections + 4096)
    if memory_connections and limit < memory_connections + 1024:
        print(f"[warn] open-file limit is {limit}: the memory scenario will open fewer connections")

    plan = Plan(
        frameworks=frameworks,
        scenarios=scenarios,
        workers=tuple(int(w) for w in _split(str(args.workers))),
        connections=tuple(int(c) for c in _split(str(args.connections))),
        duration_s=float(args.duration),
        rounds=int(args.rounds),
        warmup_s=float(args.warmup),
        wrk_threads=args.threads,
        wrk_timeout_s=args.timeout,
        cello_python=args.cello_python,
        wrk=wrk or "wrk",
    )
    started = datetime.now()
    run = Run(plan, started, run_id=f"{started:%Y%m%d-%H%M%S}")
    signal.signal(signal.SIGTERM, _on_sigterm)
    print(f"[logs] server logs: {logs_dir() / run.run_id}")
    try:
        if args.check_only:
            return 0 if check_matrix(run, print) else 1
        minutes = estimate_seconds(plan) / 60
        print(
            f"[plan] {len(frameworks)} frameworks x {len(scenarios)} scenarios x workers "
            f"{list(plan.workers)} x connections {list(plan.connections)}, {plan.rounds} "
            f"round(s) of {plan.duration_s:g} s: about {minutes:.0f} min"
        )
        machine = describe_machine()
        execute(run, print)
    finally:
        stop_all()
    written = write_reports(run, machine, args.output_dir, args.tag, args.note)
    print("\n" + console_digest(run))
    print("\n[report] " + "\n[report] ".join(str(p) for p in written))
    return 130 if run.interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
