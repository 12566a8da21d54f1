"""What only separate processes show: two writers appending at once leave a global order
without gaps that a reader following it never skips, and a saga killed with SIGKILL in
the middle resumes in a new process, each step run once except the interrupted one."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from cello.eventsourcing import EventSourcingConfig, EventStore
from support.loop import run
from support.processes import PROCESS_TIMEOUT, REPO

WORKER = REPO / "tests" / "apps" / "patterns_worker.py"


def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    import os

    return subprocess.Popen(
        [sys.executable, str(WORKER), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def test_concurrent_writers_leave_no_gap_for_a_reader(backend: dict[str, str]) -> None:
    url, prefix = backend["url"], backend["prefix"]
    count = 60

    async def main() -> list[int]:
        store = EventStore(EventSourcingConfig(connection_url=url, table_prefix=prefix))
        await store.stream_version("warm-up")  # creates the tables before the writers race
        writers = [start("append", url, prefix, name, str(count)) for name in ("a", "b")]
        seen: list[int] = []

        async def follow() -> None:
            async for event in store.subscribe(poll_interval=0.005):
                assert event.position is not None
                seen.append(event.position)
                if len(seen) == 2 * count:
                    return

        await asyncio.wait_for(follow(), PROCESS_TIMEOUT)
        for writer in writers:
            _, errors = writer.communicate(timeout=PROCESS_TIMEOUT)
            assert writer.returncode == 0, errors
        # Every event of both writers, in position order, each once, no gap.
        everything = await store.read_all(0, 1000)
        assert [event.position for event in everything] == list(range(1, 2 * count + 1))
        by_writer = {"a": 0, "b": 0}
        for event in everything:
            by_writer[event.data["writer"]] += 1
        assert by_writer == {"a": count, "b": count}
        await store.close()
        return seen

    seen = run(main())
    assert seen == list(range(1, 2 * count + 1))


def test_a_saga_killed_mid_step_resumes_and_completes(backend: dict[str, str], tmp_path: Path) -> None:
    url, prefix = backend["url"], backend["prefix"]
    log = tmp_path / "steps.log"
    first = start("saga", url, prefix, str(log))
    first.communicate(timeout=PROCESS_TIMEOUT)
    assert first.returncode == -9  # SIGKILL inside step "charge"
    assert log.read_text().split("\n")[:2] == ["reserve saga-1:reserve", "charge saga-1:charge"]
    second = start("saga", url, prefix, str(log), env={"RESUME": "1"})
    out, errors = second.communicate(timeout=PROCESS_TIMEOUT)
    assert second.returncode == 0, errors
    assert "resumed ['saga-1']" in out
    assert 'status completed {"charge": true, "order": 7, "reserve": true, "ship": true}' in out
    # reserve ran once; charge twice (the interrupted step, with the same idempotency
    # key); ship once.
    assert log.read_text().split() == [
        "reserve", "saga-1:reserve", "charge", "saga-1:charge", "charge", "saga-1:charge", "ship", "saga-1:ship",
    ]
