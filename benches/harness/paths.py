"""Where things live: the benches tree, the repository root, and the reusable cache."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "APPS_DIR",
    "BENCHES_DIR",
    "REPO_ROOT",
    "RESULTS_DIR",
    "SCENARIOS_DIR",
    "cache_dir",
    "logs_dir",
    "venvs_dir",
]

BENCHES_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = BENCHES_DIR.parent
APPS_DIR = BENCHES_DIR / "apps"
SCENARIOS_DIR = BENCHES_DIR / "scenarios"
RESULTS_DIR = BENCHES_DIR / "results"


def cache_dir() -> Path:
    """The cache reused between runs: ``$CELLO_BENCH_CACHE`` or ``~/.cache/cello-bench``."""
    configured = os.environ.get("CELLO_BENCH_CACHE")
    if configured:
        return Path(configured).expanduser().resolve()
    return Path.home() / ".cache" / "cello-bench"


def venvs_dir() -> Path:
    return cache_dir() / "venvs"


def logs_dir() -> Path:
    """Server logs of past runs; a failing server's message points here."""
    return cache_dir() / "logs"
