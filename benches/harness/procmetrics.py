"""Memory and CPU of a server's whole process tree, read from /proc.

A server is started in its own session, so its tree is every process of that session plus
anything descended from its first process (in case a worker started a session of its own).
RSS summed over forked workers counts shared pages once per process; PSS (from
smaps_rollup) splits them, so both are kept.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LoadSampler", "TreeSample", "sample_tree", "tree_pids"]

_PAGE = os.sysconf("SC_PAGE_SIZE")
_TICKS = os.sysconf("SC_CLK_TCK")
_PROC = Path("/proc")


@dataclass(frozen=True)
class _Stat:
    pid: int
    ppid: int
    session: int
    cpu_ticks: int
    rss_pages: int


def _read_stat(pid: int) -> _Stat | None:
    try:
        raw = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # comm may contain spaces and parentheses: fields start after the last ')'.
    fields = raw[raw.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state) of proc(5).
    return _Stat(
        pid=pid,
        ppid=int(fields[1]),
        session=int(fields[3]),
        cpu_ticks=int(fields[11]) + int(fields[12]),
        rss_pages=int(fields[21]),
    )


def _all_stats() -> list[_Stat]:
    stats = []
    for entry in os.listdir(_PROC):
        if entry.isdigit():
            stat = _read_stat(int(entry))
            if stat is not None:
                stats.append(stat)
    return stats


def _tree(root: int) -> list[_Stat]:
    stats = _all_stats()
    children: dict[int, list[_Stat]] = {}
    for stat in stats:
        children.setdefault(stat.ppid, []).append(stat)
    chosen = {s.pid: s for s in stats if s.session == root}
    pending = [root]
    while pending:
        for child in children.get(pending.pop(), []):
            if child.pid not in chosen:
                chosen[child.pid] = child
                pending.append(child.pid)
    root_stat = next((s for s in stats if s.pid == root), None)
    if root_stat is not None:
        chosen[root] = root_stat
    return sorted(chosen.values(), key=lambda s: s.pid)


def tree_pids(root: int) -> list[int]:
    """The server's processes: its session (root is the session leader) and descendants."""
    return [s.pid for s in _tree(root)]


def _pss_bytes(pid: int) -> int:
    try:
        with open(_PROC / str(pid) / "smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@dataclass(frozen=True)
class TreeSample:
    processes: int
    rss_bytes: int
    pss_bytes: int
    cpu_seconds: float
    rss_by_process: tuple[int, ...]


def sample_tree(root: int, with_pss: bool = True) -> TreeSample:
    stats = _tree(root)
    rss = [s.rss_pages * _PAGE for s in stats]
    return TreeSample(
        processes=len(stats),
        rss_bytes=sum(rss),
        pss_bytes=sum(_pss_bytes(s.pid) for s in stats) if with_pss else 0,
        cpu_seconds=sum(s.cpu_ticks for s in stats) / _TICKS,
        rss_by_process=tuple(rss),
    )


class LoadSampler:
    """Samples the tree in a background thread while a load runs; keeps the peaks."""

    def __init__(self, root: int, interval: float = 0.25) -> None:
        self._root = root
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="load-sampler", daemon=True)
        self.peak_rss_bytes = 0
        self.peak_pss_bytes = 0
        self.peak_processes = 0

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            sample = sample_tree(self._root)
            self.peak_rss_bytes = max(self.peak_rss_bytes, sample.rss_bytes)
            self.peak_pss_bytes = max(self.peak_pss_bytes, sample.pss_bytes)
            self.peak_processes = max(self.peak_processes, sample.processes)

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
