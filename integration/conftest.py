"""Tests against real services (Redis, PostgreSQL, MariaDB; brokers as their subsystems
land). Services installed but not running are started (scripts/services.sh, which
`make test` also runs); a test whose service cannot be had fails loudly, it is not
skipped. The process helpers are shared with tests/."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support.processes import ServerProcess

REDIS_URL = os.environ.get("CELLO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The local Redis, started if it is installed and not running."""
    if "CELLO_TEST_REDIS_URL" not in os.environ:
        subprocess.run([str(ROOT / "scripts" / "services.sh"), "redis"], check=True, timeout=300)
    return REDIS_URL


@pytest.fixture
def key_prefix() -> str:
    """A Redis key prefix of this test's own, so runs never see each other's keys."""
    return f"cello-test:{uuid.uuid4().hex[:12]}:"


@pytest.fixture
def spawn() -> Iterator[Callable[..., ServerProcess]]:
    """Starts servers in subprocesses; kills their process groups after the test."""
    started: list[ServerProcess] = []

    def start(args: list[str], **options: Any) -> ServerProcess:
        process = ServerProcess(args, **options)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()
