"""Worker recycling by memory: a worker whose RSS stays over ``max_worker_memory`` is
replaced, finishes its in-flight request, and no request fails meanwhile."""

from __future__ import annotations

import json
import re
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from cello import ServerConfig
from cello.config import parse_memory
from cello.server import resolve_options
from support.processes import PROCESS_TIMEOUT, REPO, ServerProcess, get, wait_until

APP = REPO / "tests" / "apps" / "observability_app.py"


def test_sizes_parse_and_bad_ones_are_refused() -> None:
    assert parse_memory("512M", "x") == 512 * 2**20
    assert parse_memory("1.5GiB", "x") == 3 * 2**29
    assert parse_memory(4096, "x") == 4096
    assert ServerConfig(max_worker_memory="2g").max_worker_memory == 2 * 2**30
    with pytest.raises(ValueError, match="such as '512M'"):
        ServerConfig(max_worker_memory="lots")
    with pytest.raises(ValueError, match="positive"):
        ServerConfig(max_worker_memory=0)
    options = resolve_options("127.0.0.1", 0, None, "development", None, False, None, ["--max-worker-memory", "300M"])
    assert options.max_worker_memory == 300 * 2**20


def test_a_worker_over_its_memory_limit_is_replaced_without_a_failed_request(
    spawn: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    server = spawn([sys.executable, str(APP), "--port", "0", "--max-worker-memory", "160M"])
    port, _ = server.wait_ready()
    first = json.loads(get(port, "/pid")[2])["pid"]
    started, gate = tmp_path / "started", tmp_path / "gate"
    held: list[tuple[int, bytes]] = []

    def hold() -> None:
        status, _, body = get(port, f"/hold?started={started}&gate={gate}", timeout=PROCESS_TIMEOUT * 4)
        held.append((status, body))

    holder = threading.Thread(target=hold)
    holder.start()
    wait_until(started.exists, PROCESS_TIMEOUT, "the held request to reach the worker")
    status, _, body = get(port, "/grow?mb=256")
    assert status == 200, body

    answers: list[int] = []

    def replaced() -> bool:
        status, _, body = get(port, "/pid", timeout=PROCESS_TIMEOUT)
        assert status == 200, (status, body, server.output())
        answers.append(json.loads(body)["pid"])
        return answers[-1] != first

    wait_until(replaced, PROCESS_TIMEOUT * 4, "a new worker to replace the one over its memory limit")
    # The old worker is draining, not killed: its in-flight request completes.
    gate.touch()
    holder.join(PROCESS_TIMEOUT)
    assert held and held[0][0] == 200, held
    assert json.loads(held[0][1])["pid"] == first
    server.wait_for_line(
        "stderr",
        rf"\(pid {first}\) uses \d+ MiB, over max_worker_memory \(160 MiB\) 3 checks in a row; "
        "starting its replacement",
    )
    assert not server.stderr_matches(r"was killed|exited with code [1-9]"), server.output()
    metrics = get(port, "/metrics")[2].decode()
    assert re.search(r'^cello_worker_restarts_total\{reason="memory"\} 1$', metrics, re.MULTILINE), metrics
