"""What a run produces: one cell per (scenario, framework, workers, connections).

A cell collects one record per round; the report shows medians across rounds. A cell is
"failed" as soon as its check fails or its server does not start, and is not measured
again in later rounds: a fast 404 is not a result.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Literal

from .idle_connections import IdleResult
from .wrk import WrkResult

__all__ = ["Cell", "CellKey", "LoadRecord", "MemoryRecord", "Status"]

Status = Literal["pending", "ok", "failed", "skipped", "n/a"]
CellKey = tuple[str, str, int, int]
"""(scenario, framework, workers, connections); connections is 0 for memory scenarios."""


@dataclass(frozen=True)
class LoadRecord:
    round: int
    wrk: WrkResult
    processes: int
    rss_idle_bytes: int
    pss_idle_bytes: int
    rss_load_peak_bytes: int
    pss_load_peak_bytes: int
    cpu_seconds: float
    """Server process tree utime+stime during the measured run."""

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu_seconds / self.wrk.requests * 1e6 if self.wrk.requests else 0.0


@dataclass(frozen=True)
class MemoryRecord:
    round: int
    workers: int
    result: IdleResult


def _median(values: list[float | None]) -> float:
    """Median of the values that exist; NaN when none do (shown as a dash)."""
    present = [value for value in values if value is not None]
    return float(statistics.median(present)) if present else math.nan


@dataclass
class Cell:
    scenario: str
    framework: str
    workers: int
    connections: int
    status: Status = "pending"
    reason: str = ""
    loads: list[LoadRecord] = field(default_factory=list)
    memories: list[MemoryRecord] = field(default_factory=list)

    @property
    def key(self) -> CellKey:
        return (self.scenario, self.framework, self.workers, self.connections)

    @property
    def measurable(self) -> bool:
        return self.status in ("pending", "ok")

    def fail(self, reason: str) -> None:
        self.status = "failed"
        self.reason = reason

    def skip(self, reason: str, status: Status = "skipped") -> None:
        self.status = status
        self.reason = reason

    def median(self, metric: str) -> float:
        """Median across rounds of one load metric (see ``load_summary`` for the names)."""
        return _median([_load_metric(record, metric) for record in self.loads])

    def load_summary(self) -> dict[str, float]:
        return {metric: self.median(metric) for metric in _LOAD_METRICS}

    def memory_summary(self) -> dict[str, float]:
        if not self.memories:
            return {}
        return {
            name: _median([getter(record) for record in self.memories])
            for name, getter in _MEMORY_METRICS.items()
        }

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = {
            "scenario": self.scenario,
            "framework": self.framework,
            "workers": self.workers,
            "connections": self.connections,
            "status": self.status,
            "reason": self.reason,
        }
        if self.loads:
            data["median"] = {
                name: None if math.isnan(value) else value
                for name, value in self.load_summary().items()
            }
            data["rounds"] = [asdict(record) for record in self.loads]
        if self.memories:
            data["median"] = self.memory_summary()
            data["rounds"] = [asdict(record) for record in self.memories]
        return data


_LOAD_METRICS = (
    "requests_per_second",
    "duration_s",
    "p50_ms",
    "p99_ms",
    "non_2xx",
    "socket_errors",
    "rss_idle_mib",
    "rss_load_mib",
    "pss_idle_mib",
    "pss_load_mib",
    "cpu_seconds",
    "cpu_us_per_request",
)

_MIB = 1024 * 1024


def _load_metric(record: LoadRecord, metric: str) -> float | None:
    values: dict[str, float | None] = {
        "requests_per_second": record.wrk.requests_per_second,
        "duration_s": record.wrk.duration_s,
        "p50_ms": record.wrk.p50_ms,
        "p99_ms": record.wrk.p99_ms,
        "non_2xx": record.wrk.non_2xx,
        "socket_errors": record.wrk.socket_errors,
        "rss_idle_mib": record.rss_idle_bytes / _MIB,
        "rss_load_mib": record.rss_load_peak_bytes / _MIB,
        "pss_idle_mib": record.pss_idle_bytes / _MIB,
        "pss_load_mib": record.pss_load_peak_bytes / _MIB,
        "cpu_seconds": record.cpu_seconds,
        "cpu_us_per_request": record.cpu_us_per_request,
    }
    return values[metric]


def _held_kib_per_connection(record: MemoryRecord) -> float:
    grown = record.result.held.rss_bytes - record.result.idle.rss_bytes
    open_connections = record.result.open_at_measure
    return grown / 1024 / open_connections if open_connections else 0.0


_MEMORY_METRICS: dict[str, Callable[[MemoryRecord], float]] = {
    "processes": lambda r: float(r.result.idle.processes),
    "rss_idle_mib": lambda r: r.result.idle.rss_bytes / _MIB,
    "rss_idle_per_worker_mib": lambda r: r.result.idle.rss_bytes / _MIB / r.workers,
    "pss_idle_mib": lambda r: r.result.idle.pss_bytes / _MIB,
    "rss_held_mib": lambda r: r.result.held.rss_bytes / _MIB,
    "rss_held_per_worker_mib": lambda r: r.result.held.rss_bytes / _MIB / r.workers,
    "pss_held_mib": lambda r: r.result.held.pss_bytes / _MIB,
    "kib_per_connection": _held_kib_per_connection,
    "answered": lambda r: float(r.result.answered),
    "open_at_measure": lambda r: float(r.result.open_at_measure),
    "seconds_to_open": lambda r: r.result.seconds_to_open,
}
