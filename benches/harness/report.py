"""Writing results: ``<date>-<scenario>.md`` and ``.json`` per scenario, and a console digest."""

from __future__ import annotations

import json
import math
from pathlib import Path

from .frameworks import Framework
from .launchers import Prepared, Skipped
from .machine import Machine
from .results import Cell
from .runner import Run
from .scenario import Scenario

__all__ = ["CAVEAT", "console_digest", "write_reports"]

SUBJECT = "cello"

CAVEAT = (
    "The load generator (wrk) and the server run on the same machine and share its cores, "
    "so absolute numbers are below what a dedicated client machine would show, and a "
    "server that burns more CPU also starves the client. Compare rows of one table; "
    "compare tables from different machines or runs only as ratios."
)


def _fmt_int(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:,.0f}"


def _fmt(value: float, digits: int = 2) -> str:
    return "—" if math.isnan(value) else f"{value:.{digits}f}"


def _ratio(subject: float, other: float) -> str:
    if not subject > 0 or not other > 0:  # also false for NaN
        return "—"
    return f"{subject / other:.2f}×"


def _errors(summary: dict[str, float]) -> str:
    """non-2xx / socket errors, flagged when they exceed 1% of the requests made."""
    text = f"{_fmt_int(summary['non_2xx'])} / {_fmt_int(summary['socket_errors'])}"
    requests = summary["requests_per_second"] * summary["duration_s"]
    if requests and summary["non_2xx"] + summary["socket_errors"] > 0.01 * requests:
        text += " (!)"
    return text


def _label(framework: Framework) -> str:
    return f"**{framework.label}**" if framework.name == SUBJECT else framework.label


def _versions(run: Run) -> dict[str, dict[str, str]]:
    return {
        name: prepared.versions
        for name, prepared in run.prepared.items()
        if isinstance(prepared, Prepared)
    }


def _settings(run: Run, scenario: Scenario) -> dict[str, object]:
    plan = run.plan
    return {
        "workers": list(plan.workers),
        "connections": list(plan.connections) if scenario.client == "wrk" else [],
        "duration_s": plan.duration_s,
        "rounds": plan.rounds,
        "warmup_s": plan.warmup_s,
        "wrk_threads": plan.wrk_threads,
        "wrk_timeout_s": plan.wrk_timeout_s,
        "started_at": run.started_at.isoformat(timespec="seconds"),
        "finished_at": run.finished_at.isoformat(timespec="seconds") if run.finished_at else None,
        "interrupted": run.interrupted,
        "run_id": run.run_id,
    }


def _header(run: Run, scenario: Scenario, machine: Machine, note: str) -> list[str]:
    plan = run.plan
    request = f"`{scenario.method} {scenario.path}`"
    if scenario.body:
        request += f" with a {len(scenario.body):,}-byte body"
    lines = [f"# {scenario.title} — {run.started_at:%Y-%m-%d}", ""]
    if note:
        lines += [f"> {note}", ""]
    if run.interrupted:
        lines += ["> **Interrupted run**: some cells have fewer rounds than planned.", ""]
    lines += [
        f"{scenario.description} Request: {request}"
        + (
            f", pipelined {scenario.pipeline_depth} deep (latency is per batch, as wrk "
            "measures it; where wrk's histogram gives no valid p99 it shows as —)."
            if scenario.pipeline_depth > 1
            else "."
        ),
        "Every app's status and body were checked before it was measured.",
        "",
        f"**Machine**: {machine.one_line()}.",
        "",
        f"**Caveat**: {CAVEAT}",
        "",
    ]
    if scenario.client == "wrk":
        lines += [
            f"**Settings**: wrk with {plan.wrk_threads} thread(s), {plan.duration_s:g} s per "
            f"run after a {plan.warmup_s:g} s warm-up, {plan.rounds} interleaved round(s); "
            "each figure is the median across rounds. A fresh server per scenario.",
            "",
            "Columns: req/s; latency percentiles; errors as non-2xx responses / socket errors "
            "(marked (!) above 1% of requests); "
            "server RSS summed over its process tree, idle and peak under load; server CPU "
            "time (user+system) during the run and per request. **Cello ×** is Cello's "
            "req/s divided by that row's: above 1 Cello is faster.",
            "",
        ]
    return lines


def _load_table(run: Run, cells: list[Cell], scenario: Scenario) -> list[str]:
    frameworks = {f.name: f for f in run.plan.frameworks}
    subject = next((c for c in cells if c.framework == SUBJECT and c.status == "ok"), None)
    subject_rps = subject.median("requests_per_second") if subject else 0.0
    measured = sorted(
        (c for c in cells if c.status == "ok"),
        key=lambda c: c.median("requests_per_second"),
        reverse=True,
    )
    lines = [
        "| Framework | req/s | p50 ms | p99 ms | errors | RSS idle MiB | RSS load MiB "
        "| CPU s | CPU µs/req | Cello × |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for cell in measured:
        m = cell.load_summary()
        lines.append(
            f"| {_label(frameworks[cell.framework])} | {_fmt_int(m['requests_per_second'])} "
            f"| {_fmt(m['p50_ms'])} | {_fmt(m['p99_ms'])} "
            f"| {_errors(m)} "
            f"| {_fmt(m['rss_idle_mib'], 1)} | {_fmt(m['rss_load_mib'], 1)} "
            f"| {_fmt(m['cpu_seconds'])} | {_fmt(m['cpu_us_per_request'], 1)} "
            f"| {_ratio(subject_rps, m['requests_per_second'])} |"
        )
    for cell in cells:
        if cell.status != "ok":
            label = _label(frameworks[cell.framework])
            lines.append(f"| {label} | {cell.status} | | | | | | | | |")
    summary = _ratio_summary(frameworks, subject_rps, measured)
    if summary:
        lines += ["", summary]
    return lines


def _ratio_summary(
    frameworks: dict[str, Framework], subject_rps: float, measured: list[Cell]
) -> str:
    """One sentence: Cello against both ceilings, the original, and the fastest peer."""
    if subject_rps <= 0:
        return ""
    parts = []
    for cell in measured:
        role = frameworks[cell.framework].role
        if role in ("ceiling", "original"):
            rps = cell.median("requests_per_second")
            parts.append(f"{_ratio(subject_rps, rps)} {frameworks[cell.framework].label}")
    peers = [c for c in measured if frameworks[c.framework].role == "peer"]
    if peers:
        best = peers[0]  # measured is sorted fastest first
        rps = best.median("requests_per_second")
        label = frameworks[best.framework].label
        parts.append(f"{_ratio(subject_rps, rps)} the fastest peer ({label})")
    return "Cello's throughput is " + ", ".join(parts) + "." if parts else ""


def _memory_table(run: Run, cells: list[Cell], scenario: Scenario) -> list[str]:
    frameworks = {f.name: f for f in run.plan.frameworks}
    lines = [
        f"| Framework | processes | RSS idle MiB | idle per worker | RSS with "
        f"{scenario.idle_connections:,} conns MiB | per worker | KiB per connection "
        "| open / answered |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    measured = [c for c in cells if c.status == "ok"]
    for cell in sorted(measured, key=lambda c: c.memory_summary()["rss_held_mib"]):
        m = cell.memory_summary()
        lines.append(
            f"| {_label(frameworks[cell.framework])} | {m['processes']:.0f} "
            f"| {_fmt(m['rss_idle_mib'], 1)} | {_fmt(m['rss_idle_per_worker_mib'], 1)} "
            f"| {_fmt(m['rss_held_mib'], 1)} | {_fmt(m['rss_held_per_worker_mib'], 1)} "
            f"| {_fmt(m['kib_per_connection'], 1)} "
            f"| {m['open_at_measure']:,.0f} / {m['answered']:,.0f} |"
        )
    for cell in cells:
        if cell.status != "ok":
            lines.append(f"| {_label(frameworks[cell.framework])} | {cell.status} | | | | | | |")
    return lines


def _scenario_markdown(run: Run, scenario: Scenario, machine: Machine, note: str) -> str:
    cells = run.cells_for(scenario.name)
    lines = _header(run, scenario, machine, note)
    if scenario.client == "idle-connections":
        lines += [
            "RSS is summed over the server's process tree (a supervisor counts too); "
            "'per worker' divides it by the worker count. KiB per connection is the RSS "
            "growth divided by the connections still open when it was read. PSS, which "
            "splits pages shared between forked workers, is in the JSON file.",
            "",
        ]
    for workers in run.plan.workers:
        groups = sorted({c.connections for c in cells if c.workers == workers})
        for connections in groups:
            group = [c for c in cells if c.workers == workers and c.connections == connections]
            worker_word = "worker" if workers == 1 else "workers"
            if scenario.client == "wrk":
                lines += [f"## {workers} {worker_word}, {connections} connections", ""]
                lines += _load_table(run, group, scenario)
            else:
                lines += [f"## {workers} {worker_word}", ""]
                lines += _memory_table(run, group, scenario)
            lines.append("")
    problems = [c for c in cells if c.status not in ("ok", "pending")]
    if problems:
        lines += ["## Not measured", ""]
        seen: set[tuple[str, str, str]] = set()
        for cell in problems:
            key = (cell.framework, cell.status, cell.reason)
            if key in seen:
                continue
            seen.add(key)
            reason = cell.reason.replace("\n", " ")
            if len(reason) > 240:
                reason = reason[:240] + "… (full text in the JSON)"
            lines.append(f"- **{cell.framework}** ({cell.status}): {reason}")
        lines.append("")
    lines += ["## Versions", ""]
    for name, versions in _versions(run).items():
        lines.append(f"- {name}: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    lines.append("")
    return "\n".join(lines)


def _scenario_json(run: Run, scenario: Scenario, machine: Machine, note: str) -> str:
    frameworks = {}
    for framework in run.plan.frameworks:
        prepared = run.prepared.get(framework.name)
        frameworks[framework.name] = {
            "label": framework.label,
            "role": framework.role,
            "versions": prepared.versions if isinstance(prepared, Prepared) else {},
            "skipped": prepared.reason if isinstance(prepared, Skipped) else None,
        }
    document = {
        "scenario": {
            "name": scenario.name,
            "title": scenario.title,
            "description": scenario.description,
            "method": scenario.method,
            "path": scenario.path,
            "body_bytes": len(scenario.body),
            "pipeline_depth": scenario.pipeline_depth,
            "client": scenario.client,
            "idle_connections": scenario.idle_connections,
        },
        "note": note,
        "machine": machine.as_dict(),
        "caveat": CAVEAT,
        "settings": _settings(run, scenario),
        "frameworks": frameworks,
        "cells": [cell.as_dict() for cell in run.cells_for(scenario.name)],
    }
    return json.dumps(document, indent=2, default=str) + "\n"


def write_reports(
    run: Run, machine: Machine, output_dir: Path, tag: str = "", note: str = ""
) -> list[Path]:
    """Write one .md and one .json per scenario; returns the paths written."""
    output_dir.mkdir(parents=True, exist_ok=True)
    prefix = f"{run.started_at:%Y-%m-%d}" + (f"-{tag}" if tag else "")
    written = []
    for scenario in run.plan.scenarios:
        if not run.cells_for(scenario.name):
            continue
        base = output_dir / f"{prefix}-{scenario.name}"
        md_path, json_path = base.with_suffix(".md"), base.with_suffix(".json")
        md_path.write_text(_scenario_markdown(run, scenario, machine, note))
        json_path.write_text(_scenario_json(run, scenario, machine, note))
        written += [md_path, json_path]
    return written


def console_digest(run: Run) -> str:
    """A compact summary for the terminal: Cello's ratio to each peer per cell group."""
    lines = []
    for scenario in run.plan.scenarios:
        cells = run.cells_for(scenario.name)
        if scenario.client != "wrk":
            continue
        for workers in run.plan.workers:
            for connections in run.plan.connections:
                group = [c for c in cells if c.workers == workers and c.connections == connections]
                subject = next(
                    (c for c in group if c.framework == SUBJECT and c.status == "ok"), None
                )
                parts = []
                for cell in group:
                    if cell.status == "ok":
                        rps = cell.median("requests_per_second")
                        ratio = (
                            f" ({_ratio(subject.median('requests_per_second'), rps)})"
                            if subject and cell is not subject
                            else ""
                        )
                        parts.append(f"{cell.framework} {rps:,.0f}{ratio}")
                    else:
                        parts.append(f"{cell.framework} {cell.status}")
                lines.append(f"{scenario.name} w={workers} c={connections}: " + "; ".join(parts))
    return "\n".join(lines)
