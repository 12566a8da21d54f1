#!/usr/bin/env python3
"""HTTP/2 and TLS benchmarks with h2load: Cello against Starlette on granian (which
serves HTTP/2 and TLS) and the original cello-framework (which advertises both).

Scenarios on the JSON hello, one worker each: HTTP/2 cleartext with prior knowledge
(h2c), HTTP/2 over TLS (ALPN), HTTP/1.1 over TLS. h2load from Debian's nghttp2-client;
certificates from trustme (installed into the Cello interpreter's environment).
Results: ``benches/results/<date>-transport.md`` and ``.json``.

    python3 benches/transport_bench.py --cello-python ~/.cache/cello-bench/venvs/cello-release/bin/python
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from processes import free_port, start, stop

CACHE = Path(os.environ.get("CELLO_BENCH_CACHE", Path.home() / ".cache" / "cello-bench"))


def make_certificates(python: Path, directory: Path) -> tuple[Path, Path]:
    subprocess.run([str(python), "-m", "pip", "install", "-q", "trustme"], check=True)
    code = (
        "import sys, trustme; ca = trustme.CA(); c = ca.issue_cert('127.0.0.1', 'localhost'); "
        "c.cert_chain_pems[0].write_to_path(sys.argv[1] + '/cert.pem'); "
        "c.private_key_pem.write_to_path(sys.argv[1] + '/key.pem')"
    )
    subprocess.run([str(python), "-c", code, str(directory)], check=True)
    return directory / "cert.pem", directory / "key.pem"


def h2load(url: str, seconds: int, clients: int, streams: int, http1: bool) -> dict[str, float]:
    command = ["h2load", "-D", str(seconds), "-c", str(clients), "-m", str(streams), "-t", "1"]
    if http1:
        command.append("--h1")
    output = subprocess.run(command + [url], capture_output=True, text=True, timeout=seconds + 60,
                            check=False).stdout
    result: dict[str, float] = {}
    match = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", output)
    if match:
        result["rps"] = float(match.group(1))
    match = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored", output)
    if match:
        result["succeeded"], result["failed"], result["errored"] = (float(match.group(2)), float(match.group(3)), float(match.group(4)))
    match = re.search(r"status codes: (\d+) 2xx", output)
    if match:
        result["2xx"] = float(match.group(1))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cello-python", type=Path, default=Path(sys.executable))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--streams", type=int, default=10)
    parser.add_argument("--output-dir", type=Path, default=HERE / "results")
    args = parser.parse_args()
    if shutil.which("h2load") is None:
        if os.geteuid() == 0:
            subprocess.run(["apt-get", "install", "-y", "-qq", "nghttp2-client"], check=True)
        else:
            raise SystemExit("h2load is missing: apt-get install nghttp2-client")
    workdir = Path(tempfile.mkdtemp(prefix="cello-transport-"))
    cert, key = make_certificates(args.cello_python, workdir)
    original = CACHE / "venvs/cello-original/bin/python"
    granian = CACHE / "venvs/starlette/bin/python"

    def cello_cmd(python: Path, tls: bool) -> list[str]:
        extra = ["--cert", str(cert), "--key", str(key)] if tls else []
        return [str(python), "cello_json.py", "--port", "{port}", *extra]

    def granian_cmd(tls: bool, http: str) -> list[str]:
        extra = ["--ssl-certificate", str(cert), "--ssl-keyfile", str(key)] if tls else []
        return [str(granian), "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", "{port}",
                "--workers", "1", "--loop", "uvloop", "--http", http, "--log-level", "warning", *extra,
                "starlette_json:app"]

    scenarios = {
        "h2c (HTTP/2 cleartext, prior knowledge)": ("http", False, False, "2"),
        "h2 over TLS (ALPN)": ("https", True, False, "auto"),
        "HTTP/1.1 over TLS": ("https", True, True, "1"),
    }
    rows: dict[str, dict[str, list[dict[str, float]]]] = {}
    for round_index in range(args.rounds):
        for scenario, (scheme, tls, http1, granian_http) in scenarios.items():
            candidates = {
                "cello": cello_cmd(args.cello_python, tls),
                "cello-original": cello_cmd(original, tls) if original.exists() else None,
                "starlette+granian": granian_cmd(tls, granian_http) if granian.exists() else None,
            }
            for name, command in candidates.items():
                cells = rows.setdefault(scenario, {}).setdefault(name, [])
                if command is None:
                    continue
                port = free_port()
                try:
                    process = start([part.format(port=port) for part in command], port, HERE / "transport")
                except RuntimeError:
                    cells.append({})
                    continue
                try:
                    result = h2load(f"{scheme}://127.0.0.1:{port}/json", args.seconds, args.clients, args.streams, http1)
                finally:
                    stop(process)
                cells.append(result)
                print(f"[round {round_index + 1}] {scenario} / {name}: {result}")
    date = datetime.date.today().isoformat()
    command = (
        f"`python3 benches/transport_bench.py --rounds {args.rounds} --seconds {args.seconds} "
        f"--clients {args.clients} --streams {args.streams}`"
    )
    settings = (
        f"h2load, {args.clients} clients x {args.streams} concurrent streams (HTTP/2) or "
        f"pipelined requests (HTTP/1.1), JSON hello, one worker each, {args.seconds} s; "
        f"median of {args.rounds} interleaved rounds. A row that failed every request shows 0."
    )
    lines = [f"# HTTP/2 and TLS (h2load) — {date}", "", command, "", settings, ""]
    for scenario, frameworks in rows.items():
        lines += [f"## {scenario}", "", "| Framework | req/s | succeeded | failed+errored | Cello × |", "|---|---:|---:|---:|---:|"]
        cello_rps = statistics.median([r.get("rps", 0.0) for r in frameworks.get("cello", [])] or [0.0])
        for name, results in frameworks.items():
            if not results:
                lines.append(f"| {name} | not installed | | | |")
                continue
            ok = [r for r in results if r.get("succeeded", 0) > 0]
            rps = statistics.median([r.get("rps", 0.0) for r in ok]) if ok else 0.0
            succeeded = int(sum(r.get("succeeded", 0) for r in results))
            failed = int(sum(r.get("failed", 0) + r.get("errored", 0) for r in results))
            ratio = f"{cello_rps / rps:.2f}×" if rps else "—"
            lines.append(f"| {name} | {rps:,.0f} | {succeeded:,} | {failed:,} | {ratio} |")
        lines.append("")
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / f"{date}-transport.md").write_text("\n".join(lines) + "\n")
    (args.output_dir / f"{date}-transport.json").write_text(json.dumps(rows, indent=2))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
