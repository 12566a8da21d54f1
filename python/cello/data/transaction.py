"""Transactions: ``async with db.transaction() as tx``, savepoints, `transactional`."""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import Awaitable, Callable, Iterable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

from cello import _cello
from cello.data._native import new_future
from cello.data.errors import DatabaseError, TransactionAborted

if TYPE_CHECKING:
    from cello.data.database import Database

__all__ = ["Transaction", "current_transaction", "transactional"]

_current: contextvars.ContextVar[Transaction | None] = contextvars.ContextVar(
    "cello_current_transaction", default=None
)


def current_transaction() -> Transaction | None:
    """The innermost transaction block the current task is in, or None."""
    return _current.get()


class Transaction:
    """A transaction, or a savepoint inside one (`transaction()` on a transaction).

    Use it as ``async with``: the block commits (a savepoint: is released) when it ends,
    and rolls back (to the savepoint) when it raises, also when the request is
    cancelled. It has the statement methods of `cello.Database`.

    Example:
        >>> async def transfer(db, source, target, amount):
        ...     async with db.transaction() as tx:
        ...         await tx.execute("UPDATE accounts SET balance = balance - ? WHERE id = ?", amount, source)
        ...         async with tx.transaction():  # a savepoint
        ...             await tx.execute("INSERT INTO audit (note) VALUES (?)", "transfer")
        ...         await tx.execute("UPDATE accounts SET balance = balance + ? WHERE id = ?", amount, target)
    """

    def __init__(
        self,
        pool: _cello.Database | None,
        *,
        isolation: str | None = None,
        read_only: bool = False,
        parent: Transaction | None = None,
    ) -> None:
        self._pool = pool
        self._isolation = isolation
        self._read_only = read_only
        self._parent = parent
        self._native: _cello.Transaction | None = parent._native if parent else None
        self._depth = 0
        self._failed = False
        self._token: contextvars.Token[Transaction | None] | None = None
        self._active = False

    # --- lifecycle ------------------------------------------------------------------

    async def start(self) -> Transaction:
        """Begins (or opens the savepoint); `async with` calls this."""
        if self._active:
            raise RuntimeError("this transaction block is already open")
        future = new_future()
        if self._parent is None:
            assert self._pool is not None
            self._pool.begin(future, self._isolation, self._read_only)
            self._native = await future
        else:
            native = self._require_native()
            native.savepoint(future)
            self._depth = await future
        self._active = True
        return self

    async def commit(self) -> None:
        """Commits (a savepoint: releases it)."""
        native = self._require_native()
        self._active = False
        future = new_future()
        if self._parent is None:
            native.commit(future)
        else:
            native.release_savepoint(future, self._depth)
        await future

    async def rollback(self) -> None:
        """Rolls back (a savepoint: to where it was opened; the outer transaction goes on)."""
        native = self._require_native()
        self._active = False
        future = new_future()
        if self._parent is None:
            native.rollback(future)
        else:
            native.rollback_to_savepoint(future, self._depth)
        await future

    def transaction(self) -> Transaction:
        """A savepoint inside this transaction: ``async with tx.transaction():``."""
        return Transaction(None, parent=self)

    async def __aenter__(self) -> Self:
        await self.start()
        self._token = _current.set(self)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._token is not None:
            _current.reset(self._token)
            self._token = None
        if not self._active:
            return  # committed or rolled back inside the block
        if exc_type is not None:
            await self.rollback()
            return
        if self._failed:
            await self.rollback()
            raise TransactionAborted(
                "a statement failed in this transaction block and the error was caught; "
                "the transaction was rolled back. Wrap the statement that may fail in "
                "`async with tx.transaction():` (a savepoint) to go on after it"
            )
        await self.commit()

    def _mark_failed(self) -> None:
        # The failure belongs to the innermost open block on this connection (a
        # savepoint block undoes it when it rolls back), whichever object ran it.
        scope = _current.get()
        target = scope if scope is not None and scope._native is self._native else self
        target._failed = True

    def _require_native(self) -> _cello.Transaction:
        if self._native is None:
            raise RuntimeError("the transaction has not begun: use `async with db.transaction() as tx:`")
        return self._native

    # --- statements -----------------------------------------------------------------

    async def _run(self, sql: str, args: Sequence[Any], mode: str) -> Any:
        native = self._require_native()
        future = new_future()
        native.run(future, sql, args, mode)
        try:
            return await future
        except DatabaseError:
            self._mark_failed()
            raise

    async def fetch(self, sql: str, *args: Any) -> list[_cello.Row]:
        rows: list[_cello.Row] = await self._run(sql, args, "all")
        return rows

    async def fetchrow(self, sql: str, *args: Any) -> _cello.Row | None:
        row: _cello.Row | None = await self._run(sql, args, "one")
        return row

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._run(sql, args, "value")

    async def execute(self, sql: str, *args: Any) -> int:
        affected: int = await self._run(sql, args, "execute")
        return affected

    async def executemany(self, sql: str, args: Iterable[Sequence[Any]]) -> int:
        native = self._require_native()
        future = new_future()
        native.run_many(future, sql, list(args))
        try:
            affected: int = await future
        except DatabaseError:
            self._mark_failed()
            raise
        return affected

    async def fetch_one(self, sql: str, *args: Any) -> _cello.Row | None:
        return await self.fetchrow(sql, *args)

    async def fetch_all(self, sql: str, *args: Any) -> list[_cello.Row]:
        return await self.fetch(sql, *args)


Handler = TypeVar("Handler", bound=Callable[..., Awaitable[Any]])

_databases: list[Database] = []


def _set_default_database(database: Database | None) -> None:
    """The database `transactional` uses when none is named (the app's, per worker)."""
    _databases[:] = [database] if database is not None else []


def transactional(
    handler: Handler | None = None,
    *,
    database: Database | None = None,
    isolation: str | None = None,
    read_only: bool = False,
) -> Any:
    """Runs an async handler inside a transaction: committed when it returns, rolled back
    when it raises. A handler with a ``tx`` parameter receives the transaction.

    Example:
        >>> from cello import App, transactional
        >>> app = App()
        >>> app.enable_database()
        >>> @app.post("/orders")
        ... @transactional
        ... async def create_order(request, tx):
        ...     await tx.execute("INSERT INTO orders (item) VALUES (?)", request.json()["item"])
        ...     return {"ok": True}
    """

    def decorate(function: Handler) -> Handler:
        if not inspect.iscoroutinefunction(function):
            raise TypeError(f"@transactional needs an async def handler, got {function!r}")
        signature = inspect.signature(function)
        wants_tx = "tx" in signature.parameters

        @functools.wraps(function)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            db = database or (_databases[0] if _databases else None)
            if db is None:
                raise RuntimeError("@transactional needs app.enable_database() (or database=...)")
            async with db.transaction(isolation=isolation, read_only=read_only) as tx:
                if wants_tx:
                    kwargs["tx"] = tx
                return await function(*args, **kwargs)

        if wants_tx:
            parameters = [p for name, p in signature.parameters.items() if name != "tx"]
            wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    if handler is not None:
        return decorate(handler)
    return decorate
