"""`DatabaseConfig`: the pool settings `App.enable_database` takes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

__all__ = ["DatabaseConfig"]

_SCHEMES = ("sqlite:", "postgres://", "postgresql://", "mysql://", "mariadb://")


@dataclass
class DatabaseConfig:
    """Where the database is and how many connections each worker keeps.

    Placeholders are each backend's own: ``$1, $2`` on PostgreSQL, ``?`` on SQLite and
    MySQL. Each worker opens its own pool after it starts, so a server with 4 workers
    and ``pool_size=10`` holds up to 40 connections.

    Args:
        url: ``sqlite://app.db`` (a file, created if missing), ``sqlite::memory:``,
            ``postgresql://user:password@host:5432/db`` or ``mysql://user@host:3306/db``.
        pool_size: the most connections a worker has open at once.
        min_idle: connections kept open while idle.
        max_lifetime_secs: a connection older than this is closed when returned.
        connection_timeout_secs: how long a statement waits for a free connection
            before it fails with `cello.PoolTimeout` (a 503 when unhandled).
        idle_timeout_secs: an idle connection beyond ``min_idle`` is closed after this.
        application_name: PostgreSQL's ``application_name``.
        sslmode: PostgreSQL's ``sslmode``; only ``disable``, ``allow`` and ``prefer`` work
            in this build (TLS to the database is not built in yet).
        statement_cache_size: prepared statements cached per connection; 0 for poolers
            in transaction mode (PgBouncer).

    Example:
        >>> from cello import App, DatabaseConfig
        >>> app = App()
        >>> app.enable_database(DatabaseConfig("sqlite://app.db", pool_size=5))
    """

    url: str = "sqlite://cello.db"
    pool_size: int = 10
    min_idle: int = 1
    max_lifetime_secs: float | None = 1800
    connection_timeout_secs: float = 5
    idle_timeout_secs: float | None = 300
    application_name: str | None = None
    sslmode: str | None = None
    sslrootcert: str | None = None
    sslcert: str | None = None
    sslkey: str | None = None
    statement_cache_size: int = 100

    def __post_init__(self) -> None:
        if not isinstance(self.url, str) or not self.url.lower().startswith(_SCHEMES):
            raise ValueError(
                f"DatabaseConfig url {self.url!r} is not a database URL: use sqlite://path.db, "
                "sqlite::memory:, postgresql://user@host:5432/db or mysql://user@host:3306/db"
            )
        for name in ("pool_size", "statement_cache_size", "min_idle"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"DatabaseConfig {name} must be a non-negative int, got {value!r}")
        if self.pool_size < 1:
            raise ValueError("DatabaseConfig pool_size must be at least 1")
        if self.min_idle > self.pool_size:
            raise ValueError(f"DatabaseConfig min_idle ({self.min_idle}) cannot exceed pool_size ({self.pool_size})")
        if not self.connection_timeout_secs or self.connection_timeout_secs <= 0:
            raise ValueError("DatabaseConfig connection_timeout_secs must be above 0")
        if self.sslmode not in (None, "disable", "allow", "prefer"):
            raise ValueError(
                f"DatabaseConfig sslmode={self.sslmode!r}: TLS connections to the database are not "
                "built into this version of Cello; use sslmode='disable' or 'prefer', or a TLS proxy"
            )
        if self.sslcert or self.sslkey or self.sslrootcert:
            raise ValueError("DatabaseConfig sslcert/sslkey/sslrootcert: TLS to the database is not built yet")

    @property
    def backend(self) -> str:
        """``"sqlite"``, ``"postgres"`` or ``"mysql"``."""
        scheme = self.url.split(":", 1)[0].lower()
        return {"postgresql": "postgres", "mariadb": "mysql"}.get(scheme, scheme)

    @staticmethod
    def postgres(
        host: str,
        port: int = 5432,
        database: str = "postgres",
        user: str = "postgres",
        password: str | None = None,
        pool_size: int = 10,
        sslmode: str | None = None,
        sslrootcert: str | None = None,
    ) -> DatabaseConfig:
        """A PostgreSQL config from its parts (``application_name`` "cello")."""
        credentials = quote(user, safe="") + (f":{quote(password, safe='')}" if password else "")
        return DatabaseConfig(
            url=f"postgresql://{credentials}@{host}:{port}/{quote(database, safe='')}",
            pool_size=pool_size,
            application_name="cello",
            sslmode=sslmode,
            sslrootcert=sslrootcert,
        )

    def _native_args(self) -> dict[str, Any]:
        url = self.url
        if self.sslmode and self.backend == "postgres" and "sslmode=" not in url:
            url += ("&" if "?" in url else "?") + f"sslmode={self.sslmode}"
        return {
            "url": url,
            "pool_size": self.pool_size,
            "min_idle": self.min_idle,
            "max_lifetime_secs": self.max_lifetime_secs,
            "connection_timeout_secs": float(self.connection_timeout_secs),
            "idle_timeout_secs": self.idle_timeout_secs,
            "application_name": self.application_name,
            "statement_cache_capacity": self.statement_cache_size,
        }
