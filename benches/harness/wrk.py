"""The wrk load client: Lua generation, one run, and parsing its result.

Numbers come from a Lua ``done()`` hook that prints one JSON line, not from scraping the
human-readable report (whose units change with magnitude).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .console import Log
from .scenario import Scenario

__all__ = ["WrkResult", "ensure_wrk", "lua_script", "run_wrk", "wrk_version"]

_MARKER = "CELLO_BENCH_RESULT "

_DONE_HOOK = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'CELLO_BENCH_RESULT {"duration_us":%d,"requests":%d,"bytes":%d,'
    .. '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,'
    .. '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
"""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    duration_s: float
    requests_per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float | None
    """None when wrk's histogram could not give it (see ``_percentile``)."""
    max_ms: float
    mean_ms: float
    non_2xx: int
    """Responses with status >= 400 (wrk's "Non-2xx or 3xx responses")."""
    socket_errors: int
    socket_error_detail: dict[str, int]


def ensure_wrk(log: Log = print) -> str | None:
    """wrk's path; installs Debian's package when running as root and it is missing."""
    found = shutil.which("wrk")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        log("[install] wrk not found: apt-get install wrk")
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, check=False)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], capture_output=True, check=False)
        found = shutil.which("wrk")
    return found


def wrk_version(wrk: str) -> str:
    done = subprocess.run([wrk, "-v"], capture_output=True, text=True)
    first = (done.stdout + done.stderr).strip().splitlines()
    return first[0] if first else "?"


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal here


def lua_script(scenario: Scenario, body_path: Path | None) -> str:
    """The full script for one scenario: method, headers, body, pipelining, done()."""
    parts = [f"-- generated for scenario {scenario.name} by benches/harness/wrk.py"]
    if scenario.method != "GET":
        parts.append(f"wrk.method = {_lua_string(scenario.method)}")
    for name, value in scenario.headers.items():
        parts.append(f"wrk.headers[{_lua_string(name)}] = {_lua_string(value)}")
    if scenario.body:
        assert body_path is not None
        parts.append(
            f'local body_file = assert(io.open({_lua_string(str(body_path))}, "rb"))\n'
            'wrk.body = body_file:read("*a")\nbody_file:close()'
        )
    if scenario.pipeline_depth > 1:
        parts.append(
            "init = function(args)\n"
            "  local batch = {}\n"
            f"  for i = 1, {scenario.pipeline_depth} do batch[i] = wrk.format() end\n"
            "  pipelined = table.concat(batch)\n"
            "end\n"
            "request = function() return pipelined end"
        )
    if scenario.wrk_lua:
        parts.append(scenario.wrk_lua)
    parts.append(_DONE_HOOK)
    return "\n".join(parts) + "\n"


def write_script(scenario: Scenario, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    body_path = None
    if scenario.body:
        body_path = directory / f"{scenario.name}.body"
        body_path.write_bytes(scenario.body)
    script = directory / f"{scenario.name}.lua"
    script.write_text(lua_script(scenario, body_path))
    return script


def _percentile(value_us: int, floor_us: int) -> float | None:
    """A percentile in ms, or None when wrk returned an impossible one.

    wrk 4.1's histogram sometimes returns 0 for high percentiles when requests are
    pipelined (its own report then prints "99% 0.00us"); a percentile below the median is
    no measurement, so it is dropped rather than reported as a fast latency.
    """
    if value_us <= 0 or value_us < floor_us:
        return None
    return value_us / 1000


def _parse(stdout: str) -> WrkResult:
    line = next((text for text in stdout.splitlines() if text.startswith(_MARKER)), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result line:\n{stdout[-2000:]}")
    raw = json.loads(line[len(_MARKER) :])
    duration_s = raw["duration_us"] / 1e6
    sockets = {k: int(raw[k]) for k in ("connect", "read", "write", "timeout")}
    return WrkResult(
        requests=int(raw["requests"]),
        duration_s=duration_s,
        requests_per_second=raw["requests"] / duration_s if duration_s else 0.0,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=_percentile(raw["p99_us"], raw["p50_us"]),
        max_ms=raw["max_us"] / 1000,
        mean_ms=raw["mean_us"] / 1000,
        non_2xx=int(raw["status"]),
        socket_errors=sum(sockets.values()),
        socket_error_detail=sockets,
    )


def run_wrk(
    wrk: str,
    script: Path,
    url: str,
    *,
    connections: int,
    threads: int,
    duration_s: float,
    timeout_s: float = 5.0,
) -> WrkResult:
    argv = [
        wrk,
        f"-t{max(1, min(threads, connections))}",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        f"--timeout={timeout_s:g}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration_s + timeout_s + 60)
    if done.returncode != 0:
        raise RuntimeError(f"wrk exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return _parse(done.stdout)
