#!/usr/bin/env python3
"""GraphQL benchmark: requests/s of Cello's GraphQL endpoint against Strawberry on Granian
and against the original framework (cello-framework 1.4.1), on the same machine.

Scenarios (POST JSON to /graphql, identical data and answers on every server):

- ``list100``: ``{ items { id name price inStock category } }``, 100 objects with 5 plain
  fields from a root resolver returning a prebuilt list;
- ``nested_loader``: ``{ authors { id name posts { id title } } }``, 40 authors whose
  ``posts`` is an async resolver calling a per-request DataLoader (one batch call per
  request, 3 posts each); the original has no nested resolvers, so its root resolver builds
  the tree;
- ``typename``: ``{ __typename }``, the fixed cost of a request (for reading the others).

Apps: benches/apps/graphql_cello.py, graphql_strawberry.py, graphql_original.py. One worker
process per server (``--workers``), wrk with a Lua POST script, interleaved rounds, medians.
Before any load every answer is compared with the one this script computes; Cello and
Strawberry must match (else it stops), the original's failures are reported as such.

    python3 benches/graphql_bench.py --cello-python ~/.cache/cello-bench/venvs/cello-release/bin/python
    python3 benches/graphql_bench.py --cello-path /tmp/cello-bench-pkg   # a copied python/cello

``--cello-python`` is an interpreter where ``import cello`` finds a build with the
``graphql`` feature (default: the one running this script). ``--cello-path DIR`` instead
makes (or reuses) the venv ``<cache>/venvs/graphql-cello`` on the peers' Python 3.12 with a
``.pth`` file pointing at DIR (a directory holding ``cello/``, e.g. a copy of python/cello
with its built ``_cello`` extension). Strawberry and the original get virtualenvs of their
own under the bench cache (benches/harness/venvs.py), pinned below.

Results go to ``benches/results/<date>-graphql.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
APPS = HERE / "apps"
sys.path.insert(0, str(HERE))

from harness.frameworks import PEER_PYTHON, Venv, by_name
from harness.machine import describe_machine
from harness.paths import venvs_dir
from harness.scenario import Scenario
from harness.venvs import distribution_versions, ensure_venv
from harness.wrk import ensure_wrk, run_wrk, write_script, wrk_version
from processes import free_port, start, stop

STRAWBERRY_VENV = Venv(
    "graphql-strawberry",
    ("strawberry-graphql[asgi]==0.341.2", "granian[uvloop]==2.8.7"),
    ("strawberry", "strawberry.asgi", "granian", "uvloop"),
)
SERVERS = ["cello", "strawberry", "cello-original"]
QUERIES = {
    "list100": "{ items { id name price inStock category } }",
    "nested_loader": "{ authors { id name posts { id title } } }",
    "typename": "{ __typename }",
}
TOLERATED = {"cello-original"}  # a wrong answer is reported, not fatal
NOTES = {
    ("cello-original", "nested_loader"): "root resolver builds the tree "
    "(no nested resolvers on the original)",
}

# --- the expected answers, computed here from the same recipe as the apps -------------

CATEGORIES = ("books", "games", "music", "tools")


def expected(scenario: str) -> dict[str, Any]:
    if scenario == "list100":
        items = [
            {
                "id": i,
                "name": f"item {i}",
                "price": round(1.5 + i * 0.25, 2),
                "inStock": i % 3 != 0,
                "category": CATEGORIES[i % 4],
            }
            for i in range(1, 101)
        ]
        return {"data": {"items": items}}
    if scenario == "nested_loader":
        authors = [
            {
                "id": a,
                "name": f"author {a}",
                "posts": [{"id": a * 10 + k, "title": f"post {k} by author {a}"} for k in range(3)],
            }
            for a in range(1, 41)
        ]
        return {"data": {"authors": authors}}
    return {"data": {"__typename": "Query"}}


# --- servers ------------------------------------------------------------------------


def cello_venv(package_dir: Path) -> Path:
    """A bare 3.12 venv whose site-packages has a .pth pointing at ``package_dir``."""
    root = venvs_dir() / "graphql-cello"
    python = root / "bin" / "python"
    if not python.exists():
        subprocess.run([PEER_PYTHON, "-m", "venv", str(root)], check=True)
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "cello-bench-package.pth").write_text(f"{package_dir.resolve()}\n")
    return python


def describe_cello(python: Path | str) -> dict[str, Any]:
    code = (
        "import json, sys, cello, cello.graphql\n"
        "print(json.dumps({'file': cello.__file__, 'features': sorted(cello.features()),"
        " 'version': getattr(cello, '__version__', '?'), 'python': sys.version.split()[0]}))"
    )
    done = subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{python} cannot import cello and cello.graphql:\n{done.stderr[-1500:]}")
    info: dict[str, Any] = json.loads(done.stdout)
    if "graphql" not in info["features"]:
        raise SystemExit(f"Cello at {info['file']} was built without the graphql feature")
    return info


def command(server: str, python: Path | str, port: int, workers: int) -> list[str]:
    if server == "strawberry":
        return [
            str(python), "-m", "granian", "--interface", "asgi", "--workers", str(workers),
            "--loop", "uvloop", "--http", "1", "--host", "127.0.0.1", "--port", str(port),
            "--no-access-log", "--log-level", "warning", "graphql_strawberry:app",
        ]  # fmt: skip
    app = "graphql_cello.py" if server == "cello" else "graphql_original.py"
    return [str(python), app, "--port", str(port), "--workers", str(workers)]


def post(port: int, query: str) -> tuple[int, bytes]:
    body = json.dumps({"query": query}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=body,
        headers={"content-type": "application/json", "accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def batch_calls(port: int) -> int:
    status, body = post(port, "{ batchCalls }")
    return int(json.loads(body)["data"]["batchCalls"]) if status == 200 else -1


def check(server: str, port: int, scenarios: list[str]) -> dict[str, str | None]:
    """Per scenario: None when the answer is the expected one, else what is wrong."""
    problems: dict[str, str | None] = {}
    for scenario in scenarios:
        status, body = post(port, QUERIES[scenario])
        try:
            answer = json.loads(body)
        except ValueError:
            answer = None
        if status != 200 or answer != expected(scenario):
            problems[scenario] = f"HTTP {status}: {body[:300].decode(errors='replace')}"
        else:
            problems[scenario] = None
    if problems.get("nested_loader") is None and "nested_loader" in scenarios:
        before = batch_calls(port)
        post(port, QUERIES["nested_loader"])
        calls = batch_calls(port) - before
        wanted = 0 if server == "cello-original" else 1
        if calls != wanted:
            problems["nested_loader"] = f"{calls} batch calls for one request, expected {wanted}"
    bad = {s: p for s, p in problems.items() if p and server not in TOLERATED}
    if bad:
        raise SystemExit(f"{server} answers wrongly: {bad}")
    return problems


# --- load ---------------------------------------------------------------------------


def scripts(directory: Path, scenarios: list[str]) -> dict[str, Path]:
    out = {}
    for name in scenarios:
        scenario = Scenario(
            name=name,
            title=name,
            description=QUERIES[name],
            path="/graphql",
            check=lambda scenario, response: None,
            method="POST",
            body=json.dumps({"query": QUERIES[name]}).encode(),
            headers={"content-type": "application/json", "accept": "application/json"},
        )
        out[name] = write_script(scenario, directory)
    return out


def measure(wrk: str, script: Path, port: int, args: argparse.Namespace) -> dict[str, Any]:
    url = f"http://127.0.0.1:{port}/graphql"
    load = {"connections": args.connections, "threads": args.threads}
    warm = run_wrk(wrk, script, url, duration_s=args.warmup, **load) if args.warmup else None
    result = run_wrk(wrk, script, url, duration_s=args.duration, **load)
    return {
        "requests_per_s": result.requests_per_second,
        "requests": result.requests,
        "warmup_requests": warm.requests if warm else 0,
        "p50_ms": result.p50_ms,
        "p99_ms": result.p99_ms,
        "non_2xx": result.non_2xx,
        "socket_errors": result.socket_errors,
    }


def row_name(server: str, workers: int, all_workers: list[int]) -> str:
    return server if all_workers == [1] else f"{server} ×{workers}"


def report(
    args: argparse.Namespace,
    rows: list[str],
    scenarios: list[str],
    results: dict[str, dict[str, list[dict[str, Any]]]],
    problems: dict[str, dict[str, str | None]],
    meta: dict[str, Any],
) -> tuple[str, dict[str, Any]]:
    date = datetime.date.today().isoformat()
    medians: dict[str, dict[str, dict[str, float | None]]] = {}
    for row, by in results.items():
        medians[row] = {}
        for scenario, runs in by.items():
            if runs:
                p99s = [r["p99_ms"] for r in runs if r["p99_ms"] is not None]
                medians[row][scenario] = {
                    "requests_per_s": statistics.median(r["requests_per_s"] for r in runs),
                    "p99_ms": statistics.median(p99s) if p99s else None,
                }
    base = "strawberry" if args.workers == [1] else "strawberry ×1"

    def cell(row: str, scenario: str) -> tuple[str, str, str]:
        problem = problems.get(row, {}).get(scenario)
        figures = medians.get(row, {}).get(scenario)
        if problem or not figures:
            return ("failed" if problem else "n/a", "", "")
        rate = figures["requests_per_s"] or 0.0
        reference = medians.get(base, {}).get(scenario, {}).get("requests_per_s")
        ratio = f"{rate / reference:.2f}×" if reference else ""
        p99 = figures["p99_ms"]
        mark = " †" if (row.split(" ")[0], scenario) in NOTES else ""
        return (f"{rate:,.0f}{mark}", ratio, f"{p99:.1f}" if p99 is not None else "?")

    command_line = shlex.join(["python3", "benches/graphql_bench.py", *sys.argv[1:]])
    lines = [
        f"# GraphQL: requests/s, Cello against Strawberry and the original ({date})",
        "",
        f"`{command_line}`",
        "",
        *([f"> {args.note}", ""] if args.note else []),
        (
            f"One server process each (workers {','.join(map(str, args.workers))}); wrk, "
            f"{args.connections} connections, {args.threads} threads, POST JSON to /graphql; "
            f"{args.warmup} s warm-up then {args.duration} s measured on each server per "
            f"round; {args.rounds} interleaved rounds, medians. Every answer was checked "
            "against the expected JSON before the load."
        ),
        "",
        "- `list100`: `" + QUERIES["list100"] + "`: 100 objects, 5 plain fields each, from a "
        "root resolver returning a prebuilt list (~7 kB response).",
        "- `nested_loader`: `" + QUERIES["nested_loader"] + "`: 40 authors, 3 posts each; "
        "`posts` is an async resolver calling a per-request DataLoader, whose batch function "
        "returns every author's posts in one call (checked: one call per request).",
        "- `typename`: `{ __typename }`: the fixed cost of a GraphQL request, for reading "
        + "the other two.",
        "",
        "| server | " + " | ".join(f"{s} req/s | vs Strawberry" for s in scenarios) + " |",
        "|---|" + "---:|---:|" * len(scenarios),
    ]
    for row in rows:
        cells = [cell(row, s) for s in scenarios]
        lines.append(f"| {row} | " + " | ".join(f"{c[0]} | {c[1]}" for c in cells) + " |")
    lines += [
        "",
        "p99 latency, ms (median of the rounds):",
        "",
        "| server | " + " | ".join(scenarios) + " |",
        "|---|" + "---:|" * len(scenarios),
    ]
    for row in rows:
        lines.append(f"| {row} | " + " | ".join(cell(row, s)[2] for s in scenarios) + " |")
    errors = sum(
        r["non_2xx"] + r["socket_errors"]
        for by in results.values()
        for runs in by.values()
        for r in runs
    )
    lines += ["", f"Non-2xx responses and socket errors across all measured runs: {errors}."]
    batching = meta.get("batch_calls", {})
    if batching:
        lines.append(
            "Batch-function calls under nested_loader load, counted by the servers, against "
            "the requests wrk completed (warm-ups included; requests still in flight when "
            f"wrk stops, at most {2 * args.connections} a run, are served but not counted): "
            + ", ".join(
                f"{row} {b['calls']:,} calls for {b['requests']:,} requests"
                + ("" if b["within"] else " (**outside that bound**)")
                for row, b in batching.items()
            )
            + "."
        )
    notes = [
        f"- † {row}, {scenario}: {why}"
        for row in rows
        for (server, scenario), why in NOTES.items()
        if row.split(" ")[0] == server and scenario in scenarios
    ]
    notes += [
        f"- {row}, {scenario}: wrong answer, not loaded: {problem}"
        for row, by in problems.items()
        for scenario, problem in by.items()
        if problem
    ]
    if notes:
        lines += ["", "Notes:", "", *notes]
    cello = meta["cello"]
    versions = meta["versions"]
    lines += [
        "",
        "Versions: Cello "
        + f"{cello['version']} from `{cello['file']}` ({args.cello_build or 'build profile not given'}; "
        + f"features {', '.join(cello['features'])}) on Python {cello['python']}; "
        + ", ".join(
            f"{name} {version}"
            for who in ("strawberry", "cello-original")
            for name, version in versions.get(who, {}).items()
            if name != "python"
        )
        + f"; peers on Python {versions.get('strawberry', {}).get('python', '?')}; "
        + f"Strawberry on `granian --interface asgi --loop uvloop --http 1`; {meta['wrk']}.",
        "",
        (
            f"Machine: {meta['machine_line']}. wrk runs on the same machine with "
            f"{args.threads} threads, so the client takes a share of its cores; the ratios "
            "compare like with like."
        ),
    ]
    data = {
        "date": date,
        "command": command_line,
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "medians": medians,
        "runs": results,
        "checks": problems,
        **meta,
    }
    return "\n".join(lines) + "\n", data


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10, help="measured seconds per run")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured seconds before it")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument(
        "--workers", type=lambda s: [int(n) for n in s.split(",")], default=[1],
        help="worker processes per server, comma-separated (one row per count)",
    )  # fmt: skip
    parser.add_argument("--servers", default=",".join(SERVERS))
    parser.add_argument("--scenarios", default=",".join(QUERIES))
    parser.add_argument(
        "--cello-python", help="interpreter with Cello (graphql feature); default: this one"
    )
    parser.add_argument("--cello-path", type=Path, help="a directory holding cello/ (see above)")
    parser.add_argument("--cello-build", default="", help="how Cello was built, for the report")
    parser.add_argument("--output-dir", type=Path, default=HERE / "results")
    parser.add_argument("--note", default="", help="a line quoted at the top of the report")
    parser.add_argument("--check-only", action="store_true", help="check the answers, no load")
    args = parser.parse_args()
    servers = args.servers.split(",")
    scenarios = args.scenarios.split(",")
    wrk = ensure_wrk()
    if wrk is None:
        raise SystemExit("wrk is missing: apt-get install wrk")

    pythons: dict[str, Path | str] = {}
    if args.cello_path:
        pythons["cello"] = args.cello_python or cello_venv(args.cello_path)
    else:
        pythons["cello"] = args.cello_python or sys.executable
    cello_info = describe_cello(pythons["cello"]) if "cello" in servers else {}
    versions: dict[str, dict[str, str]] = {}
    for server, venv, names in (
        (
            "strawberry",
            STRAWBERRY_VENV,
            ("strawberry-graphql", "granian", "uvloop", "graphql-core"),
        ),
        ("cello-original", by_name("cello-original").venv, ("cello-framework",)),
    ):
        if server in servers and venv is not None:
            status = ensure_venv(venv)
            if status.python is None:
                raise SystemExit(f"{server}: {status.error}")
            pythons[server] = status.python
            versions[server] = distribution_versions(status.python, names)

    lua = scripts(Path(tempfile.mkdtemp(prefix="cello-graphql-bench-")), scenarios)
    rows = [row_name(s, w, args.workers) for w in args.workers for s in servers]
    results: dict[str, dict[str, list[dict[str, Any]]]] = {
        r: {s: [] for s in scenarios} for r in rows
    }
    problems: dict[str, dict[str, str | None]] = {}
    batching: dict[str, dict[str, int]] = {}
    started = time.monotonic()
    machine = describe_machine()
    for round_number in range(args.rounds):
        order = servers[round_number % len(servers) :] + servers[: round_number % len(servers)]
        for workers in args.workers:
            for server in order:
                row = row_name(server, workers, args.workers)
                port = free_port()
                process = start(command(server, pythons[server], port, workers), port, APPS)
                try:
                    problems[row] = check(server, port, scenarios)
                    if args.check_only:
                        print(f"{row}: {problems[row]}", flush=True)
                        continue
                    for scenario in scenarios:
                        if problems[row][scenario]:
                            continue
                        before = batch_calls(port) if scenario == "nested_loader" else 0
                        figures = measure(wrk, lua[scenario], port, args)
                        if scenario == "nested_loader" and server != "cello-original":
                            sent = figures["requests"] + figures["warmup_requests"]
                            figures["batch_calls"] = batch_calls(port) - before
                            total = batching.setdefault(row, {"calls": 0, "requests": 0})
                            total["calls"] += figures["batch_calls"]
                            total["requests"] += sent
                        results[row][scenario].append(figures)
                        print(
                            f"round {round_number + 1} {row:16} {scenario:14} "
                            f"{figures['requests_per_s']:>9,.0f} req/s  p99 {figures['p99_ms']} ms  "
                            f"errors {figures['non_2xx'] + figures['socket_errors']}",
                            flush=True,
                        )
                finally:
                    stop(process)
    meta = {
        "cello": cello_info,
        "versions": versions,
        "wrk": wrk_version(wrk).split(" Copyright")[0],
        "machine": machine.as_dict(),
        "machine_line": machine.one_line(),
        "batch_calls": {
            row: {
                **b,
                "within": 0 <= b["calls"] - b["requests"] <= 2 * args.connections * args.rounds,
            }
            for row, b in batching.items()
        },
        "elapsed_s": round(time.monotonic() - started),
    }
    if args.check_only:
        return
    text, data = report(args, rows, scenarios, results, problems, meta)
    date = data["date"]
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / f"{date}-graphql.md").write_text(text)
    (args.output_dir / f"{date}-graphql.json").write_text(json.dumps(data, indent=2) + "\n")
    print(text)


if __name__ == "__main__":
    main()
