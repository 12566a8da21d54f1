"""Cello's data layer: SQL pools on SQLite (the default), PostgreSQL and MySQL.

Example:
    >>> from cello import App, DatabaseConfig
    >>> app = App()
    >>> app.enable_database(DatabaseConfig("sqlite://app.db"))
    >>> @app.get("/users")
    ... async def users(request):
    ...     return await request.db.fetch("SELECT id, name FROM users")
"""

from __future__ import annotations

from collections.abc import Mapping

from cello import _cello
from cello.data._registrar import DataMixin
from cello.data.channels import Channels, ChannelSubscription
from cello.data.config import DatabaseConfig
from cello.data.database import Database
from cello.data.errors import (
    CheckViolation,
    ConfigurationError,
    ConnectError,
    DatabaseError,
    DataError,
    ForeignKeyViolation,
    IntegrityError,
    NotNullViolation,
    OperationalError,
    ParameterRangeError,
    ParameterTypeError,
    ParameterValueError,
    PoolTimeout,
    ProgrammingError,
    RedisError,
    TransactionAborted,
    TransactionClosed,
    UniqueViolation,
)
from cello.data.redis import Message, Pipeline, Redis, RedisConfig, Subscription
from cello.data.transaction import Transaction, current_transaction, transactional

__all__ = [
    "ChannelSubscription",
    "Channels",
    "CheckViolation",
    "ConfigurationError",
    "ConnectError",
    "DataError",
    "DataMixin",
    "Database",
    "DatabaseConfig",
    "DatabaseError",
    "ForeignKeyViolation",
    "IntegrityError",
    "Message",
    "NotNullViolation",
    "OperationalError",
    "ParameterRangeError",
    "ParameterTypeError",
    "ParameterValueError",
    "Pipeline",
    "PoolTimeout",
    "ProgrammingError",
    "Redis",
    "RedisConfig",
    "RedisError",
    "Row",
    "Subscription",
    "Transaction",
    "TransactionAborted",
    "TransactionClosed",
    "UniqueViolation",
    "current_transaction",
    "event_loop",
    "transactional",
]

if hasattr(_cello, "Row"):
    Row = _cello.Row
    Mapping.register(Row)
else:  # a build without any database driver

    class Row:  # type: ignore[no-redef]
        """A result row (this build has no database driver)."""


def event_loop() -> object:
    """A new Cello event loop, for using a database outside a server:
    ``asyncio.Runner(loop_factory=cello.data.event_loop).run(main())``."""
    from cello._loop import CelloEventLoop

    return CelloEventLoop()
