"""The seeds' database snippets, run unchanged: seed 003's `enable_database` example and
seed 004's handlers that call ``database.fetch_one(...)`` / ``db.fetch_all(...)``."""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import cello
import pytest
from cello import App, DatabaseConfig
from cello.testing import TestClient

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_URL = os.environ.get("CELLO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")

SEED_003_ENABLE_DATABASE = """
from cello import App, DatabaseConfig

app = App()
app.enable_database(DatabaseConfig(
    url="postgresql://user:pass@localhost/mydb",
    pool_size=20,
    max_lifetime_secs=1800
))
"""

# Seed 004, "Async Handlers" and "Mixing Sync and Async", verbatim but for the
# `database`/`db` globals they assume, which the test binds at startup.
SEED_004_HANDLERS = """
@app.get("/user/{id}")
async def get_user(request):
    user_id = request.params["id"]
    user = await database.fetch_one("SELECT * FROM users WHERE id = $1", user_id)
    return {"user": user}

# Async -- database query
@app.get("/users")
async def list_users(request):
    users = await db.fetch_all("SELECT * FROM users")
    return {"users": users}
"""


def test_seed_003_enable_database_registers_and_names_the_server_when_it_fails() -> None:
    namespace: dict[str, Any] = {}
    exec(SEED_003_ENABLE_DATABASE, namespace)  # noqa: S102 - the seed's own snippet
    app = namespace["app"]
    config = app.__dict__["_database_config"]
    assert (config.url, config.pool_size, config.max_lifetime_secs) == (
        "postgresql://user:pass@localhost/mydb", 20, 1800,
    )
    if "postgres" not in cello.features():
        pytest.fail("this build lacks the postgres feature")
    # The pool opens when a worker starts; user/pass/mydb do not exist here, so the start
    # fails with a message naming the server.
    with pytest.raises(cello.data.ConnectError, match="PostgreSQL at localhost:5432"), TestClient(app):
        pass


def test_enable_database_without_a_config_opens_sqlite_cello_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = App()
    app.enable_database()

    @app.get("/")
    async def index(request: Any) -> Any:
        await request.db.execute("CREATE TABLE IF NOT EXISTS t (x)")
        return {"backend": request.db.backend, "journal": await request.db.fetchval("PRAGMA journal_mode")}

    with TestClient(app) as client:
        assert client.get("/").json() == {"backend": "sqlite", "journal": "wal"}
    assert (tmp_path / "cello.db").exists()


def test_seed_004_handlers_run_against_postgres() -> None:
    if "postgres" not in cello.features():
        pytest.fail("this build lacks the postgres feature")
    if "CELLO_TEST_POSTGRES_URL" not in os.environ:
        subprocess.run([str(ROOT / "scripts" / "services.sh"), "postgres"], check=True, timeout=600)
    app = App()
    app.enable_database(DatabaseConfig(POSTGRES_URL))
    namespace: dict[str, Any] = {"app": app}

    @app.on_event("startup")
    async def bind_globals() -> None:
        namespace["database"] = namespace["db"] = app.database
        await app.database.execute("DROP TABLE IF EXISTS users")
        await app.database.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT)")
        await app.database.executemany(
            "INSERT INTO users VALUES ($1, $2, $3)", [(1, "Ada", "ada@example.com"), (2, "Grace", "g@example.com")]
        )

    exec(textwrap.dedent(SEED_004_HANDLERS), namespace)  # noqa: S102 - the seed's own handlers
    with TestClient(app) as client:
        assert client.get("/user/2").json() == {"user": {"id": 2, "name": "Grace", "email": "g@example.com"}}
        assert client.get("/user/9").json() == {"user": None}
        assert [user["name"] for user in client.get("/users").json()["users"]] == ["Ada", "Grace"]
        app.database  # noqa: B018 - open while the client runs

    async def cleanup() -> None:
        from cello.data import Database

        db = await Database.connect(DatabaseConfig(POSTGRES_URL, pool_size=1))
        await db.execute("DROP TABLE IF EXISTS users")
        await db.close()

    import asyncio

    from cello._loop import CelloEventLoop

    with asyncio.Runner(loop_factory=CelloEventLoop) as runner:
        runner.run(cleanup())
