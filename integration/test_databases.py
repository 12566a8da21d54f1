"""The data layer against real databases: SQLite (a temporary file), the local
PostgreSQL (5432, database ``test``) and MariaDB (3306), each test run on all three.

Statements are written with ``?`` and turned into ``$1, $2`` for PostgreSQL. Tests run
coroutines on a Cello event loop (`run`) or serve an app through the TestClient."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import json
import os
import subprocess
import uuid
from collections.abc import Coroutine, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import cello
import pytest
from cello import App, DatabaseConfig
from cello._loop import CelloEventLoop
from cello.data import Database
from cello.testing import TestClient

ROOT = Path(__file__).resolve().parent.parent
URLS = {
    "postgres": os.environ.get("CELLO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    "mysql": os.environ.get("CELLO_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"),
}


@pytest.fixture(scope="session")
def services() -> None:
    if not {"CELLO_TEST_POSTGRES_URL", "CELLO_TEST_MYSQL_URL"} <= os.environ.keys():
        subprocess.run([str(ROOT / "scripts" / "services.sh"), "postgres", "mysql"], check=True, timeout=600)


class Backend:
    """One database under test: its URL, placeholder style and a table suffix."""

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.url = url
        self.table = f"t_{uuid.uuid4().hex[:10]}"

    def sql(self, sql: str) -> str:
        sql = sql.replace("{t}", self.table)
        if self.name != "postgres":
            return sql
        parts = sql.split("?")
        return "".join(part + (f"${index}" if index < len(parts) else "") for index, part in enumerate(parts, 1))

    def config(self, **options: Any) -> DatabaseConfig:
        return DatabaseConfig(self.url, **options)


@pytest.fixture(params=["sqlite", "postgres", "mysql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    name = request.param
    if name not in cello.features():
        pytest.fail(f"this build lacks the {name} feature (make build adds postgres and mysql)")
    if name == "sqlite":
        yield Backend(name, f"sqlite://{tmp_path / 'test.db'}")
        return
    request.getfixturevalue("services")
    target = Backend(name, URLS[name])
    yield target
    run(drop_table(target))


async def drop_table(backend: Backend) -> None:
    db = await Database.connect(backend.config(pool_size=1))
    await db.execute(backend.sql("DROP TABLE IF EXISTS {t}"))
    await db.close()


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Runs `coroutine` on a new Cello event loop."""
    with asyncio.Runner(loop_factory=CelloEventLoop) as runner:
        return runner.run(coroutine)


async def open_db(backend: Backend, **options: Any) -> Database:
    db = await Database.connect(backend.config(**options))
    await db.execute(backend.sql("DROP TABLE IF EXISTS {t}"))
    await db.execute(backend.sql("CREATE TABLE {t} (id INTEGER PRIMARY KEY, name VARCHAR(40) NOT NULL UNIQUE, score INTEGER)"))
    return db


def test_crud_and_rows(backend: Backend) -> None:
    async def main() -> None:
        db = await open_db(backend)
        insert = backend.sql("INSERT INTO {t} (id, name, score) VALUES (?, ?, ?)")
        assert await db.execute(insert, 1, "ada", 3) == 1
        assert await db.executemany(insert, [(2, "grace", None), (3, "linus", 9)]) == 2
        assert await db.execute(backend.sql("UPDATE {t} SET score = ? WHERE score IS NULL"), 5) == 1
        rows = await db.fetch(backend.sql("SELECT id, name, score FROM {t} ORDER BY id"))
        assert [dict(row) for row in rows] == [
            {"id": 1, "name": "ada", "score": 3},
            {"id": 2, "name": "grace", "score": 5},
            {"id": 3, "name": "linus", "score": 9},
        ]
        row = rows[1]
        assert row["name"] == "grace" and row[1] == "grace" and row[-1] == 5
        assert list(row.keys()) == ["id", "name", "score"] and list(row) == ["id", "name", "score"]
        assert row.values() == [2, "grace", 5] and row.get("missing", "x") == "x"
        assert "name" in row and len(row) == 3
        assert row == {"id": 2, "name": "grace", "score": 5}
        assert isinstance(row, cello.Row)
        with pytest.raises(KeyError):
            row["missing"]
        with pytest.raises(IndexError):
            row[3]
        one = await db.fetchrow(backend.sql("SELECT name FROM {t} WHERE id = ?"), 3)
        assert one is not None and one["name"] == "linus"
        assert await db.fetchrow(backend.sql("SELECT name FROM {t} WHERE id = ?"), 99) is None
        assert await db.fetchval(backend.sql("SELECT COUNT(*) FROM {t}")) == 3
        assert await db.fetchval(backend.sql("SELECT name FROM {t} WHERE id = ?"), 99) is None
        assert (await db.fetch_one(backend.sql("SELECT id FROM {t} WHERE id = ?"), 1)) == {"id": 1}
        assert len(await db.fetch_all(backend.sql("SELECT id FROM {t}"))) == 3
        stats = db.stats()
        assert stats["backend"] == backend.name and stats["queries"] >= 9 and stats["max_size"] == 10
        assert await db.ping() is True
        await db.close()

    run(main())


def test_errors_carry_their_class_and_code(backend: Backend) -> None:
    async def main() -> None:
        db = await open_db(backend)
        insert = backend.sql("INSERT INTO {t} (id, name) VALUES (?, ?)")
        await db.execute(insert, 1, "ada")
        with pytest.raises(cello.UniqueViolation) as caught:
            await db.execute(insert, 2, "ada")
        error = caught.value
        assert isinstance(error, cello.IntegrityError) and isinstance(error, cello.DatabaseError)
        assert isinstance(error, cello.CelloError) and error.code
        with pytest.raises(cello.NotNullViolation):
            await db.execute(backend.sql("INSERT INTO {t} (id, name) VALUES (?, ?)"), 3, None)
        with pytest.raises(cello.ProgrammingError):
            await db.execute("SELEC 1")
        with pytest.raises(cello.ProgrammingError):
            await db.fetch(backend.sql("SELECT nope FROM {t}"))
        # executemany is all or nothing
        with pytest.raises(cello.UniqueViolation):
            await db.executemany(insert, [(5, "x"), (6, "x")])
        assert await db.fetchval(backend.sql("SELECT COUNT(*) FROM {t}")) == 1
        await db.close()

    run(main())


def test_transactions_commit_roll_back_and_nest(backend: Backend) -> None:
    async def main() -> None:
        db = await open_db(backend)
        insert = backend.sql("INSERT INTO {t} (id, name) VALUES (?, ?)")
        async with db.transaction() as tx:
            await tx.execute(insert, 1, "kept")
            async with tx.transaction():
                await tx.execute(insert, 2, "inner-kept")
            with pytest.raises(RuntimeError):
                async with tx.transaction() as savepoint:
                    await savepoint.execute(insert, 3, "inner-undone")
                    raise RuntimeError("undo the savepoint only")
            assert cello.data.current_transaction() is tx
        assert cello.data.current_transaction() is None
        with pytest.raises(ZeroDivisionError):
            async with db.transaction() as tx:
                await tx.execute(insert, 4, "undone")
                1 / 0  # noqa: B018
        # A failed statement caught inside the block: the block rolls back instead of
        # committing half of it.
        with pytest.raises(cello.TransactionAborted):
            async with db.transaction() as tx:
                await tx.execute(insert, 5, "aborted")
                with pytest.raises(cello.UniqueViolation):
                    await tx.execute(insert, 6, "kept")
        # The same failure inside a savepoint block is undone there; the outer goes on.
        async with db.transaction() as tx:
            with pytest.raises(cello.UniqueViolation):
                async with tx.transaction():
                    await tx.execute(insert, 7, "kept")
            await tx.execute(insert, 8, "after")
        async with db.transaction(read_only=True, isolation="serializable") as tx:
            names = [row["name"] for row in await tx.fetch(backend.sql("SELECT name FROM {t} ORDER BY id"))]
        assert names == ["kept", "inner-kept", "after"]
        tx = db.transaction()
        await tx.start()
        await tx.execute(insert, 9, "explicit")
        await tx.commit()
        with pytest.raises(cello.data.TransactionClosed):
            await tx.commit()
        assert await db.fetchval(backend.sql("SELECT name FROM {t} WHERE id = ?"), 9) == "explicit"
        await db.close()

    run(main())


def test_cancelled_transaction_rolls_back_and_frees_its_connection(backend: Backend) -> None:
    async def main() -> None:
        db = await open_db(backend, pool_size=1, min_idle=0, connection_timeout_secs=10)
        inserted = asyncio.Event()

        async def stuck() -> None:
            async with db.transaction() as tx:
                await tx.execute(backend.sql("INSERT INTO {t} (id, name) VALUES (?, ?)"), 1, "cancelled")
                inserted.set()
                await asyncio.Event().wait()

        task = asyncio.create_task(stuck())
        await asyncio.wait_for(inserted.wait(), 30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The only connection is free again and the insert is gone.
        assert await db.fetchval(backend.sql("SELECT COUNT(*) FROM {t}")) == 0
        # A transaction object dropped without its block ending (garbage collected) too.
        tx = db.transaction()
        await tx.start()
        await tx.execute(backend.sql("INSERT INTO {t} (id, name) VALUES (?, ?)"), 2, "dropped")
        del tx
        gc.collect()
        assert await db.fetchval(backend.sql("SELECT COUNT(*) FROM {t}")) == 0
        await db.close()

    run(main())


def test_pool_exhaustion_is_a_clear_timeout_and_a_503(backend: Backend) -> None:
    async def main() -> None:
        db = await open_db(backend, pool_size=1, min_idle=0, connection_timeout_secs=0.5)
        async with db.transaction():
            with pytest.raises(cello.PoolTimeout) as caught:
                await db.fetch("SELECT 1")
        assert "pool_size" in str(caught.value) and isinstance(caught.value, cello.OperationalError)
        assert db.stats()["timeouts"] == 1
        await db.close()

    run(main())
    app = App()
    app.enable_database(backend.config(pool_size=1, min_idle=0, connection_timeout_secs=0.5))

    @app.get("/busy")
    async def busy(request: Any) -> Any:
        async with request.db.transaction():
            return await request.db.fetch("SELECT 1")

    with TestClient(app) as client:
        response = client.get("/busy")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "1"
    assert "no database connection became free" in response.json()["detail"]


def test_iterate_streams_large_results(backend: Backend) -> None:
    async def main() -> None:
        db = await open_db(backend, pool_size=1, min_idle=0)
        await db.executemany(
            backend.sql("INSERT INTO {t} (id, name) VALUES (?, ?)"), [(i, f"n{i}") for i in range(1, 1201)]
        )
        seen = [row["id"] async for row in db.iterate(backend.sql("SELECT id FROM {t} ORDER BY id"), batch_size=100)]
        assert seen == list(range(1, 1201))
        async for row in db.iterate(backend.sql("SELECT id FROM {t} ORDER BY id")):
            assert row["id"] == 1
            break
        # Leaving early gave the one connection back.
        assert await db.fetchval(backend.sql("SELECT COUNT(*) FROM {t}")) == 1200
        await db.close()

    run(main())


def test_handlers_return_rows_as_json(backend: Backend) -> None:
    app = App()
    app.enable_database(backend.config())

    @app.on_event("startup")
    async def schema() -> None:
        await app.database.execute(backend.sql("DROP TABLE IF EXISTS {t}"))
        await app.database.execute(backend.sql("CREATE TABLE {t} (id INTEGER PRIMARY KEY, name VARCHAR(40))"))
        await app.database.executemany(backend.sql("INSERT INTO {t} VALUES (?, ?)"), [(1, "ada"), (2, "grace")])

    @app.get("/users")
    async def users(request: Any) -> Any:
        assert request.db is app.database and request.database is app.database
        return await request.db.fetch(backend.sql("SELECT id, name FROM {t} ORDER BY id"))

    @app.get("/users/{id:int}")
    async def user(request: Any) -> Any:
        return await request.db.fetchrow(backend.sql("SELECT id, name FROM {t} WHERE id = ?"), request.params["id"])

    @app.get("/wrapped")
    async def wrapped(request: Any) -> Any:
        return {"users": await app.database.fetch_all(backend.sql("SELECT name FROM {t} ORDER BY id"))}

    with TestClient(app) as client:
        assert client.get("/users").json() == [{"id": 1, "name": "ada"}, {"id": 2, "name": "grace"}]
        assert client.get("/users/2").json() == {"id": 2, "name": "grace"}
        assert client.get("/users/9").content in (b"", b"null")  # None: Cello's empty answer
        assert client.get("/wrapped").json() == {"users": [{"name": "ada"}, {"name": "grace"}]}


def test_transactional_decorator(backend: Backend) -> None:
    app = App()
    app.enable_database(backend.config())

    @app.on_event("startup")
    async def schema() -> None:
        await app.database.execute(backend.sql("DROP TABLE IF EXISTS {t}"))
        await app.database.execute(backend.sql("CREATE TABLE {t} (id INTEGER PRIMARY KEY, name VARCHAR(40))"))

    @app.post("/items/{id:int}")
    @cello.transactional
    async def create(request: Any, tx: Any) -> Any:
        await tx.execute(backend.sql("INSERT INTO {t} VALUES (?, ?)"), request.params["id"], "x")
        if request.query.get("fail"):
            raise cello.HTTPException(409, "undo")
        return {"created": request.params["id"]}

    @app.get("/count")
    async def count(request: Any) -> Any:
        return {"n": await app.database.fetchval(backend.sql("SELECT COUNT(*) FROM {t}"))}

    with TestClient(app) as client:
        assert client.post("/items/1").json() == {"created": 1}
        assert client.post("/items/2?fail=1").status_code == 409
        assert client.get("/count").json() == {"n": 1}


def test_request_cancelled_by_a_timeout_rolls_back(backend: Backend) -> None:
    app = App()
    app.enable_database(backend.config(pool_size=1, min_idle=0, connection_timeout_secs=10))

    @app.on_event("startup")
    async def schema() -> None:
        await app.database.execute(backend.sql("DROP TABLE IF EXISTS {t}"))
        await app.database.execute(backend.sql("CREATE TABLE {t} (id INTEGER PRIMARY KEY)"))

    @app.post("/slow")
    async def slow(request: Any) -> Any:
        async def work() -> None:
            async with request.db.transaction() as tx:
                await tx.execute(backend.sql("INSERT INTO {t} VALUES (?)"), 1)
                await asyncio.Event().wait()  # never finishes: the timeout cancels it

        try:
            await asyncio.wait_for(work(), 0.2)
        except TimeoutError:
            return cello.Response.json({"timed_out": True}, status=504)
        return {"timed_out": False}

    @app.get("/count")
    async def count(request: Any) -> Any:
        return {"n": await request.db.fetchval(backend.sql("SELECT COUNT(*) FROM {t}"))}

    with TestClient(app) as client:
        assert client.post("/slow").status_code == 504
        assert client.get("/count").json() == {"n": 0}


def test_unreachable_database_fails_at_startup_naming_host_and_port(backend: Backend) -> None:
    if backend.name == "sqlite":
        url = "sqlite:///nonexistent-dir/cello/x.db"
        expected = "/nonexistent-dir/cello/x.db"
    else:
        url = backend.url.replace("3306", "1").replace("5432", "1")
        expected = "127.0.0.1:1"
    app = App()
    app.enable_database(DatabaseConfig(url, connection_timeout_secs=2))
    with pytest.raises(cello.data.ConnectError, match=expected), TestClient(app):
        pass


def test_types_round_trip(backend: Backend) -> None:
    """Every Python type the issue lists goes in as a parameter and comes back equal
    (as far as each backend has the type), and encodes to JSON from Rust."""
    aware = dt.datetime(2024, 2, 29, 13, 5, 9, 250, tzinfo=dt.UTC)
    naive = dt.datetime(2024, 2, 29, 13, 5, 9, 250)
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")

    async def main() -> None:
        db = await Database.connect(backend.config())
        if backend.name == "postgres":
            values: list[tuple[str, Any]] = [
                ("int8", 2**63 - 1), ("numeric", Decimal("123456789012345678901234567890.5")),
                ("numeric", 2**80), ("float8", 0.25), ("text", "héllo"), ("bytea", b"\x00\xff"),
                ("bool", True), ("timestamptz", aware), ("timestamp", naive), ("date", naive.date()),
                ("time", naive.time()), ("interval", dt.timedelta(days=1, seconds=5, microseconds=7)),
                ("uuid", ident), ("jsonb", {"a": [1, 2, None]}), ("json", {"b": "c"}),
                ("int4[]", [1, None, 3]), ("text[]", ["x", "y"]),
            ]
            for type_name, value in values:
                back = await db.fetchval(f"SELECT $1::{type_name}", value)
                assert back == value, (type_name, value, back)
            assert await db.fetchval("SELECT $1::int4 + 1", 41) == 42
            assert await db.fetchval("SELECT $1::int4", None) is None
            assert await db.fetchval("SELECT $1::date", "2024-02-29") == dt.date(2024, 2, 29)
            assert await db.fetchval("SELECT $1::int4", "7") == 7  # path parameters are text
            with pytest.raises(cello.data.ParameterValueError, match="expects int4"):
                await db.fetchval("SELECT $1::int4", [1])
            with pytest.raises(cello.data.ParameterValueError, match="not a valid integer"):
                await db.fetchval("SELECT $1::int4", "x")
            with pytest.raises(cello.DataError):
                await db.fetchval("SELECT 1/0")
        elif backend.name == "mysql":
            await db.execute(backend.sql("DROP TABLE IF EXISTS {t}"))
            await db.execute(backend.sql(
                "CREATE TABLE {t} (i BIGINT, u BIGINT UNSIGNED, d DECIMAL(40,6), f DOUBLE, s VARCHAR(20), "
                "b VARBINARY(8), t BOOLEAN, ts DATETIME(6), tz TIMESTAMP(6) NULL, dt DATE, tm TIME(6), n INT)"
            ))
            row = (-(2**63), 2**64 - 1, Decimal("1234567890123456789012345678.500000"), 0.25, "héllo",
                   b"\x00\xff", True, naive, aware, naive.date(), naive.time(), None)
            await db.execute(backend.sql("INSERT INTO {t} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"), *row)
            back = await db.fetchrow(backend.sql("SELECT * FROM {t}"))
            assert back is not None and tuple(back.values()) == row
        else:
            await db.execute(backend.sql("CREATE TABLE {t} (i INTEGER, f REAL, s TEXT, b BLOB, t BOOLEAN, n)"))
            row = (2**63 - 1, 0.25, "héllo", b"\x00\xff", True, None)
            await db.execute(backend.sql("INSERT INTO {t} VALUES (?, ?, ?, ?, ?, ?)"), *row)
            back = await db.fetchrow(backend.sql("SELECT * FROM {t}"))
            assert back is not None and tuple(back.values()) == row
            # Types SQLite has no storage class for are stored as text.
            assert await db.fetchval("SELECT ?", ident) == str(ident)
            assert await db.fetchval("SELECT ?", Decimal("1.50")) == "1.50"
            assert json.loads(await db.fetchval("SELECT ?", {"a": 1})) == {"a": 1}
        await db.close()

    run(main())


def test_rows_encode_every_type_to_json(backend: Backend) -> None:
    if backend.name != "postgres":
        pytest.skip("the JSON forms of all types need PostgreSQL's types; SQLite and MySQL are covered above")
    app = App()
    app.enable_database(backend.config())

    @app.get("/types")
    async def types(request: Any) -> Any:
        return await request.db.fetchrow(
            "SELECT 1::int8 AS i, 1.5::numeric AS d, 'x'::text AS s, true AS b, NULL::int4 AS n, "
            "'2024-02-29 13:05:09+00'::timestamptz AS tz, '2024-02-29'::date AS dt, "
            "'12345678-1234-5678-1234-567812345678'::uuid AS u, '{\"a\": [1]}'::jsonb AS j, "
            "ARRAY[1, 2] AS a, '\\x00ff'::bytea AS by, '1 day 5 seconds'::interval AS iv"
        )

    with TestClient(app) as client:
        response = client.get("/types")
    assert response.content.startswith(b'{"i":1,"d":1.5,')
    assert response.json() == {
        "i": 1, "d": 1.5, "s": "x", "b": True, "n": None, "tz": "2024-02-29T13:05:09+00:00",
        "dt": "2024-02-29", "u": "12345678-1234-5678-1234-567812345678", "j": {"a": [1]},
        "a": [1, 2], "by": "AP8=", "iv": "P1DT5S",
    }


def test_each_worker_opens_its_own_pool_after_the_fork(spawn: Any, tmp_path: Path) -> None:
    """examples/data.py with 2 workers on one SQLite file: both workers answer from pools
    of their own, and concurrent writes from the two processes all land (WAL, BEGIN
    IMMEDIATE, the busy timeout)."""
    import sys

    import httpx
    from support.processes import wait_until

    database = tmp_path / "notes.db"
    server = spawn(
        [sys.executable, str(ROOT / "examples" / "data.py"), "--host", "127.0.0.1", "--port", "0",
         "--workers", "2", "--no-logs"],
        env={"CELLO_DATA_URL": f"sqlite://{database}"},
    )
    port, info = server.wait_ready()
    assert "2 workers" in info
    url = f"http://127.0.0.1:{port}"
    workers: dict[int, dict[str, Any]] = {}

    def both_answered() -> bool:
        stats = httpx.get(url + "/stats", headers={"Connection": "close"}).json()
        workers[stats["worker"]] = stats["pool"]
        return len(workers) == 2

    wait_until(both_answered, 60, "both workers answering")
    assert all(pool["backend"] == "sqlite" and pool["size"] >= 1 for pool in workers.values())

    async def write_many() -> list[int]:
        async with httpx.AsyncClient(base_url=url, limits=httpx.Limits(max_keepalive_connections=0)) as client:
            responses = await asyncio.gather(
                *(client.post("/notes", json={"title": f"note {n}"}, timeout=60) for n in range(40))
            )
        return [response.status_code for response in responses]

    assert asyncio.run(write_many()) == [201] * 40
    assert httpx.get(url + "/stats").json()["notes"] == 40
