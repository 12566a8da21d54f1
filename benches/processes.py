"""Starting and stopping benchmark servers (shared by ws_bench.py and transport_bench.py)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

__all__ = ["free_port", "start", "stop"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(command: list[str], port: int, cwd: Path) -> subprocess.Popen[bytes]:
    """Starts `command` in its own process group and waits until `port` accepts."""
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            time.sleep(0.5)  # let every worker finish booting
            return process
        except OSError:
            time.sleep(0.1)
    stop(process)
    raise RuntimeError(f"{command[0]} did not listen on {port}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the group, SIGKILL if it lingers."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
