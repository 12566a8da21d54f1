"""Fixtures of the patterns tests: a store on SQLite (a file in the test's directory) or
on the local PostgreSQL (tables under a prefix of the test's own).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import cello
import pytest
from support.loop import run

POSTGRES_URL = os.environ.get("CELLO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """``{"url", "prefix"}`` of a database for one test."""
    if request.param == "postgres" and "postgres" not in cello.features():
        pytest.fail("this build lacks the postgres feature (make test builds it)")
    prefix = f"t{uuid.uuid4().hex[:10]}_"
    url = f"sqlite://{tmp_path / 'events.db'}" if request.param == "sqlite" else POSTGRES_URL
    yield {"url": url, "prefix": prefix, "kind": request.param}
    if request.param == "postgres":
        run(_drop(url, prefix))


async def _drop(url: str, prefix: str) -> None:
    from cello.data import Database, DatabaseConfig

    database = await Database.connect(DatabaseConfig(url))
    for table in ("events", "event_position", "snapshots", "projections", "saga_instances", "saga_steps", "outbox", "inbox"):
        await database.execute(f"DROP TABLE IF EXISTS {prefix}{table}")
    await database.execute(f"DROP TABLE IF EXISTS {prefix}totals")
    await database.close()

