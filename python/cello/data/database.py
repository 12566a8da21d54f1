"""`Database`: a worker's connection pool, with async statements.

Placeholders are each backend's own: ``$1, $2`` on PostgreSQL, ``?`` on SQLite and
MySQL. Rows are `cello.Row` objects (``row["name"]``, ``row[0]``, ``dict(row)``) that a
handler can return as they are: they are encoded to JSON in Rust.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

from cello import _cello
from cello.data._native import driver, new_future
from cello.data.config import DatabaseConfig
from cello.data.transaction import Transaction

__all__ = ["Database"]


class Database:
    """A connection pool of one worker (``app.database``, ``request.db``).

    Example:
        >>> from cello import App
        >>> app = App()
        >>> app.enable_database()  # sqlite://cello.db
        >>> @app.get("/users/{id}")
        ... async def user(request):
        ...     return await request.db.fetchrow("SELECT id, name FROM users WHERE id = ?", request.params["id"])
    """

    def __init__(self, native: _cello.Database, config: DatabaseConfig) -> None:
        self._native = native
        self.config = config

    @classmethod
    async def connect(cls, config: DatabaseConfig) -> Database:
        """Opens a pool on the running Cello loop; fails (`cello.ConnectError`, naming the
        host and port) when the database cannot be reached."""
        future = new_future()
        _cello.Database.connect(driver(), future, **config._native_args())
        native: _cello.Database = await future
        return cls(native, config)

    @property
    def backend(self) -> str:
        """``"sqlite"``, ``"postgres"`` or ``"mysql"``."""
        return self._native.backend

    @property
    def dsn(self) -> str:
        """The URL, with the password hidden."""
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(self.config.url)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
            return urlunsplit(parts._replace(netloc=netloc))
        return self.config.url

    async def _run(self, sql: str, args: Sequence[Any], mode: str) -> Any:
        future = new_future()
        self._native.run(future, sql, args, mode)
        return await future

    async def fetch(self, sql: str, *args: Any) -> list[_cello.Row]:
        """Every row of the result."""
        rows: list[_cello.Row] = await self._run(sql, args, "all")
        return rows

    async def fetchrow(self, sql: str, *args: Any) -> _cello.Row | None:
        """The first row, or None."""
        row: _cello.Row | None = await self._run(sql, args, "one")
        return row

    async def fetchval(self, sql: str, *args: Any) -> Any:
        """The first column of the first row, or None."""
        return await self._run(sql, args, "value")

    async def execute(self, sql: str, *args: Any) -> int:
        """Runs a statement; the number of rows it affected."""
        affected: int = await self._run(sql, args, "execute")
        return affected

    async def executemany(self, sql: str, args: Iterable[Sequence[Any]]) -> int:
        """Runs `sql` once per parameter tuple, in one transaction (all or nothing); the
        rows affected in total."""
        future = new_future()
        self._native.run_many(future, sql, list(args))
        affected: int = await future
        return affected

    async def fetch_one(self, sql: str, *args: Any) -> _cello.Row | None:
        """`fetchrow` under the name seed 004 uses."""
        return await self.fetchrow(sql, *args)

    async def fetch_all(self, sql: str, *args: Any) -> list[_cello.Row]:
        """`fetch` under the name seed 004 uses."""
        return await self.fetch(sql, *args)

    async def iterate(self, sql: str, *args: Any, batch_size: int = 500) -> AsyncIterator[_cello.Row]:
        """The rows of a large result without holding all of them: ``async for row in
        db.iterate("SELECT ...")``. Rows arrive in batches of `batch_size`; leaving the
        loop early ends the query and frees its connection."""
        stream = self._native.stream(sql, args, batch_size)
        try:
            while True:
                future = new_future()
                stream.next_batch(future)
                batch: list[_cello.Row] | None = await future
                if batch is None:
                    return
                for row in batch:
                    yield row
        finally:
            stream.close()

    def transaction(self, *, isolation: str | None = None, read_only: bool = False) -> Transaction:
        """A transaction on a connection of its own: ``async with db.transaction() as tx``
        commits at the end of the block, or rolls back if it raises. ``tx.transaction()``
        inside it is a savepoint.

        Args:
            isolation: ``"read_committed"``, ``"repeatable_read"``, ``"serializable"`` or
                ``"read_uncommitted"`` (PostgreSQL, MySQL; SQLite is always serializable).
            read_only: a read-only transaction (SQLite: ``BEGIN DEFERRED``; writes begin
                with ``BEGIN IMMEDIATE`` otherwise).
        """
        return Transaction(self._native, isolation=isolation, read_only=read_only)

    async def ping(self) -> bool:
        """True once a pooled connection answered (for health checks)."""
        future = new_future()
        self._native.ping(future)
        result: bool = await future
        return result

    def stats(self) -> dict[str, Any]:
        """``{"backend", "size", "idle", "in_use", "max_size", "queries", "errors", "timeouts"}``
        for this worker's pool."""
        return self._native.stats()

    async def close(self) -> None:
        """Closes the pool's connections (the app does this at shutdown)."""
        future = new_future()
        self._native.close(future)
        await future

    def __repr__(self) -> str:
        return f"<Database {self.backend} {self.dsn}>"
