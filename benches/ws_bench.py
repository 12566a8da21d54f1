#!/usr/bin/env python3
"""WebSocket benchmarks: echo messages/s and memory with 10,000 idle connections.

Cello against the original cello-framework, Robyn, and Starlette on granian, each
serving ``/ws`` (apps in ``benches/ws/``), driven by a Rust load client
(``cargo run --release -p cello-http --example ws_load``) so the client is not the
bottleneck. Interleaved rounds; results go to ``benches/results/<date>-websocket.md``
and ``.json``.

    python3 benches/ws_bench.py --cello-python ~/.cache/cello-bench/venvs/cello-release/bin/python
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from harness.machine import describe_machine
from harness.procmetrics import sample_tree
from processes import free_port, stop
from processes import start as start_process

CACHE = Path(os.environ.get("CELLO_BENCH_CACHE", Path.home() / ".cache" / "cello-bench"))
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


@dataclass
class Framework:
    name: str
    python: Path
    command: list[str]
    results: list[dict[str, float]] = field(default_factory=list)
    memory: dict[str, float] = field(default_factory=dict)
    skipped: str | None = None


def frameworks(cello_python: Path) -> list[Framework]:
    venvs = CACHE / "venvs"
    return [
        Framework("cello", cello_python, ["{python}", "cello_ws.py", "--port", "{port}"]),
        Framework("cello-original", venvs / "cello-original/bin/python", ["{python}", "cello_ws.py", "--port", "{port}"]),
        Framework("robyn", venvs / "robyn/bin/python", ["{python}", "robyn_ws.py", "--port", "{port}"]),
        Framework(
            "starlette+granian",
            venvs / "starlette/bin/python",
            ["{python}", "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", "{port}",
             "--workers", "1", "--loop", "uvloop", "--log-level", "warning", "starlette_ws:app"],
        ),
    ]


def load(client: Path, port: int, connections: int, seconds: float) -> dict[str, float]:
    output = subprocess.run(
        [str(client), "--url", f"ws://127.0.0.1:{port}/ws", "--connections", str(connections),
         "--seconds", str(seconds), "--size", "32"],
        capture_output=True, text=True, timeout=seconds + 60, check=False,
    ).stdout
    fields = dict(re.findall(r"(\w+)=([\d.]+)", output))
    return {key: float(value) for key, value in fields.items()}


def start_framework(framework: Framework, port: int) -> subprocess.Popen[bytes]:
    command = [part.format(python=framework.python, port=port) for part in framework.command]
    return start_process(command, port, HERE / "ws")


def measure_memory(client: Path, framework: Framework, connections: int) -> None:
    port = free_port()
    process = start_framework(framework, port)
    try:
        idle = sample_tree(process.pid)
        holder = subprocess.Popen(
            [str(client), "--url", f"ws://127.0.0.1:{port}/ws", "--hold", str(connections), "--seconds", "3"],
            stdout=subprocess.PIPE, text=True,
        )
        assert holder.stdout is not None
        line = holder.stdout.readline()
        opened = int(re.search(r"open=(\d+)", line).group(1)) if "open=" in line else 0  # type: ignore[union-attr]
        time.sleep(0.5)
        held = sample_tree(process.pid)
        holder.wait(timeout=60)
        holder.stdout.close()
        mib = 1024 * 1024
        framework.memory = {
            "rss_idle_mib": idle.rss_bytes / mib,
            "rss_held_mib": held.rss_bytes / mib,
            "open": opened,
            "kib_per_connection": (held.rss_bytes - idle.rss_bytes) / 1024 / max(opened, 1),
        }
    finally:
        stop(process)


def build_client() -> Path:
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "cello-http", "--example", "ws_load"],
                   cwd=ROOT, check=True)
    return TARGET / "release" / "examples" / "ws_load"


def report(selected: list[Framework], args: argparse.Namespace, out: Path) -> None:
    date = datetime.date.today().isoformat()
    machine = describe_machine()
    cello = next((f for f in selected if f.name == "cello" and f.results), None)
    cello_rate = statistics.median(r["messages_per_second"] for r in cello.results) if cello else None
    lines = [
        f"# WebSocket echo and idle connections — {date}", "",
        (
            f"`python3 benches/ws_bench.py --rounds {args.rounds} --seconds {args.seconds} "
            f"--connections {args.connections} --idle {args.idle}`"
        ),
        "",
        (
            f"**Machine**: {machine.cores} cores ({machine.cpu_model}), Linux {machine.kernel}. "
            "The Rust load client and the server share the cores."
        ),
        "",
        (
            f"Echo: {args.connections} connections each send a 32-byte text message and wait for "
            f"its echo, for {args.seconds} s; median messages/s of {args.rounds} interleaved "
            "rounds; one worker each."
        ),
        "",
        "| Framework | messages/s | errors | Cello × |", "|---|---:|---:|---:|",
    ]
    for framework in selected:
        if framework.skipped or not framework.results:
            lines.append(f"| {framework.name} | n/a ({framework.skipped or 'no result'}) | | |")
            continue
        rate = statistics.median(r["messages_per_second"] for r in framework.results)
        errors = int(sum(r.get("errors", 0) + r.get("failed_connections", 0) for r in framework.results))
        ratio = f"{cello_rate / rate:.2f}×" if cello_rate and rate else ""
        lines.append(f"| {framework.name} | {rate:,.0f} | {errors} | {ratio} |")
    lines += ["", (
                  f"Memory: RSS of the server (all its processes) idle, then holding {args.idle:,} "
                  "idle WebSocket connections."
              ), "",
              "| Framework | RSS idle MiB | RSS with connections MiB | open | KiB per connection |",
              "|---|---:|---:|---:|---:|"]
    for framework in selected:
        memory = framework.memory
        if not memory:
            lines.append(f"| {framework.name} | n/a | | | |")
            continue
        lines.append(f"| {framework.name} | {memory['rss_idle_mib']:.1f} | {memory['rss_held_mib']:.1f} | "
                     f"{int(memory['open']):,} | {memory['kib_per_connection']:.1f} |")
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{date}-websocket.md").write_text("\n".join(lines) + "\n")
    (out / f"{date}-websocket.json").write_text(json.dumps(
        {f.name: {"echo": f.results, "memory": f.memory, "skipped": f.skipped} for f in selected}, indent=2))
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cello-python", type=Path, default=Path(sys.executable))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--idle", type=int, default=10_000)
    parser.add_argument("--frameworks", default="all")
    parser.add_argument("--output-dir", type=Path, default=HERE / "results")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, args.idle * 2 + 1024), hard), hard))
    client = build_client()
    selected = [f for f in frameworks(args.cello_python) if args.frameworks == "all" or f.name in args.frameworks.split(",")]
    for framework in selected:
        if not framework.python.exists():
            framework.skipped = f"no interpreter at {framework.python} (run benches/run.py --install-only)"
            print(f"!! skipping {framework.name}: {framework.skipped}")
    for round_index in range(args.rounds):
        for framework in selected:
            if framework.skipped:
                continue
            port = free_port()
            try:
                process = start_framework(framework, port)
            except RuntimeError as error:
                framework.skipped = str(error)
                print(f"!! {error}")
                continue
            try:
                check = load(client, port, 1, 0.5)
                if check.get("messages", 0) <= 0:
                    framework.skipped = "its /ws endpoint did not echo"
                    print(f"!! {framework.name}: {framework.skipped}")
                    continue
                result = load(client, port, args.connections, args.seconds)
                framework.results.append(result)
                print(f"[round {round_index + 1}] {framework.name}: {result.get('messages_per_second', 0):,.0f} msg/s")
            finally:
                stop(process)
    for framework in selected:
        if not framework.skipped:
            measure_memory(client, framework, args.idle)
            print(f"[memory] {framework.name}: {framework.memory}")
    report(selected, args, args.output_dir)


if __name__ == "__main__":
    main()
