"""Database exceptions, with the original's names.

Every class carries the backend's ``code`` (SQLSTATE on PostgreSQL and MySQL, the extended
result code on SQLite), the ``message`` and, for integrity errors, the ``constraint`` when
the backend names it. ``cello._cello`` raises them (the mapping is one function in
``cello-py/src/data/errors.rs``).

Example:
    >>> from cello import DatabaseError, IntegrityError, UniqueViolation
    >>> issubclass(UniqueViolation, IntegrityError) and issubclass(IntegrityError, DatabaseError)
    True
"""

from __future__ import annotations

from cello.exceptions import CelloError, HTTPException

__all__ = [
    "CheckViolation",
    "ConfigurationError",
    "ConnectError",
    "DataError",
    "DatabaseError",
    "ForeignKeyViolation",
    "IntegrityError",
    "NotNullViolation",
    "OperationalError",
    "ParameterRangeError",
    "ParameterTypeError",
    "ParameterValueError",
    "PoolTimeout",
    "ProgrammingError",
    "RedisError",
    "TransactionAborted",
    "TransactionClosed",
    "UniqueViolation",
]


class DatabaseError(CelloError, RuntimeError):
    """Base class of every database error."""

    def __init__(self, message: str, code: str | None = None, constraint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.constraint = constraint

    def __str__(self) -> str:
        return self.message


class IntegrityError(DatabaseError):
    """A constraint failed."""


class UniqueViolation(IntegrityError):
    """A unique or primary-key constraint failed (SQLSTATE 23505)."""


class NotNullViolation(IntegrityError):
    """NULL went into a NOT NULL column (SQLSTATE 23502)."""


class ForeignKeyViolation(IntegrityError):
    """A foreign key points at nothing (SQLSTATE 23503)."""


class CheckViolation(IntegrityError):
    """A CHECK constraint failed (SQLSTATE 23514)."""


class DataError(DatabaseError):
    """Bad data: out of range, an invalid text form, division by zero (SQLSTATE 22xxx)."""


class ParameterTypeError(DataError, TypeError):
    """A parameter of a type the database cannot take."""


class ParameterRangeError(DataError, OverflowError):
    """A parameter out of the range of its column's type."""


class ParameterValueError(DataError, ValueError):
    """A parameter that does not fit what the statement expects."""


class OperationalError(DatabaseError):
    """The server or the connection failed: locked, deadlocked, unreachable, shutting down."""


class ConnectError(OperationalError):
    """The database could not be reached at start-up; the message names host and port."""


class PoolTimeout(OperationalError, HTTPException):
    """Every pooled connection stayed busy for ``connection_timeout_secs``.

    Unhandled, it answers ``503 Service Unavailable`` (problem+json, ``Retry-After: 1``)
    instead of keeping the client waiting.
    """

    def __init__(self, message: str, code: str | None = None, constraint: str | None = None) -> None:
        HTTPException.__init__(self, 503, message, {"retry-after": "1"})
        self.message = message
        self.code = code
        self.constraint = constraint

    def __str__(self) -> str:
        return self.message


class RedisError(OperationalError):
    """Redis refused a command or could not be reached; the message names its address."""


class ProgrammingError(DatabaseError):
    """The statement is wrong: syntax, unknown tables or columns, parameter counts."""


class ConfigurationError(ProgrammingError, ValueError):
    """A database configuration that cannot work (bad URL, unknown scheme)."""


class TransactionClosed(ProgrammingError):
    """The transaction was already committed or rolled back."""


class TransactionAborted(DatabaseError):
    """A statement failed inside a transaction block, the error was caught, and the block
    ended cleanly: the transaction was rolled back rather than committed half-done."""
