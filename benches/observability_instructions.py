#!/usr/bin/env python3
"""Instructions per request of the benchmark app's JSON hello with observability off,
metrics on, and tracing at sampling 1.0 and 0.01: the observability overhead as a
count that does not depend on what else the machine is doing (callgrind).

Each mode serves ``benches/apps/cello_app.py`` (one worker, ``CELLO_BENCH_OBSERVABILITY``)
under ``valgrind --tool=callgrind`` with instrumentation off until the server listens;
then a keep-alive client sends warm-up requests, the counters are zeroed, N more
requests are sent one after another, and the dump's total is divided by N. Every
thread of the server process counts (the engine, the loop, the exporters' thread).
The client runs natively in this process and is not counted.

    python3 benches/observability_instructions.py --python .venv/bin/python
    python3 benches/observability_instructions.py --requests 2000 --modes off,tracing:0.01

Needs valgrind (``callgrind_control``). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "benches" / "apps" / "cello_app.py"
MODES = ("off", "metrics", "tracing:0.01", "tracing:1.0")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_listening(port: int, process: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("the server did not listen in time")


def send(connection: http.client.HTTPConnection, count: int, path: str) -> None:
    for _ in range(count):
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"GET {path} answered {response.status}")


def control(*arguments: str) -> None:
    subprocess.run(["callgrind_control", *arguments], check=True, capture_output=True)


def measure(python: str, mode: str, requests: int, warmup: int, path: str, keep: Path | None = None) -> float:
    """Instructions per request of `mode`; its dump copied into `keep` if given (for
    ``callgrind_annotate``)."""
    port = free_port()
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "callgrind.out"
        env = {**os.environ, "CELLO_BENCH_OBSERVABILITY": "" if mode == "off" else mode}
        env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
        process = subprocess.Popen(
            [
                "valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
                python, str(APP), "--port", str(port), "--workers", "1",
            ],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            wait_listening(port, process, time.monotonic() + 300)
            target = str(process.pid)
            control("-i", "on", target)
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            send(connection, warmup, path)
            control("-z", target)
            send(connection, requests, path)
            control("-d", target)
            connection.close()
        finally:
            process.terminate()
            process.wait(timeout=120)
        totals = 0
        for dump in Path(scratch).glob("callgrind.out*"):
            text = dump.read_text(errors="replace")
            # The dump asked for (callgrind_control -d), not the one at exit.
            if "Trigger:" not in text or "Program termination" in text:
                continue
            match = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.MULTILINE)
            if match and int(match.group(1)) > totals:
                totals = int(match.group(1))
                if keep is not None:
                    keep.mkdir(parents=True, exist_ok=True)
                    shutil.copy(dump, keep / f"callgrind.{mode.replace(':', '-')}.out")
        if not totals:
            raise SystemExit(f"{mode}: no callgrind dump with a total was written")
        return totals / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=sys.executable, help="the interpreter with Cello built with `otel`")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--path", default="/json")
    parser.add_argument("--keep", type=Path, help="copy each mode's dump here (callgrind_annotate reads them)")
    args = parser.parse_args()
    results = {
        mode: measure(args.python, mode, args.requests, args.warmup, args.path, args.keep) for mode in args.modes.split(",")
    }
    base = results.get("off")
    print("| mode | instructions/request | vs off |\n| --- | ---: | ---: |")
    for mode, count in results.items():
        delta = f"{(count / base - 1) * 100:+.1f} %" if base else ""
        print(f"| {mode} | {count:,.0f} | {delta} |")


if __name__ == "__main__":
    main()
