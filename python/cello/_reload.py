"""``reload=True``: run the app in a child process and restart it when a ``.py``
file under the current directory changes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["run_with_reloader"]

_POLL_SECONDS = 0.5


def _snapshot(root: Path) -> dict[Path, float]:
    found: dict[Path, float] = {}
    for path in root.rglob("*.py"):
        if any(part.startswith(".") or part in ("__pycache__", "node_modules") for part in path.parts):
            continue
        try:
            found[path] = path.stat().st_mtime
        except OSError:
            continue
    return found


def run_with_reloader() -> None:
    """Runs ``sys.argv`` again as a child and restarts it on every change."""
    root = Path.cwd()
    environment = {**os.environ, "CELLO_RELOADER_CHILD": "1"}
    command = [sys.executable, *sys.argv]
    if sys.argv and sys.argv[0].endswith("cello"):
        command = [sys.executable, "-m", "cello", *sys.argv[1:]]
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping:
        child = subprocess.Popen(command, env=environment)
        before = _snapshot(root)
        print(f"cello: watching {root} for changes (reload)", file=sys.stderr, flush=True)
        while not stopping and child.poll() is None:
            time.sleep(_POLL_SECONDS)
            if _snapshot(root) != before:
                print("cello: change detected; restarting", file=sys.stderr, flush=True)
                break
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        elif not stopping:
            # The app exited by itself (crash or end): wait for the next change.
            while not stopping and _snapshot(root) == before:
                time.sleep(_POLL_SECONDS)
