"""`App.enable_database` and ``app.database``: the data layer's half of `cello.App`.

The config is collected at registration; each worker opens its pool in a startup hook
(after the fork, on its own loop) and closes it at shutdown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cello._features import require_feature
from cello.data.config import DatabaseConfig

if TYPE_CHECKING:
    from cello.data.database import Database

__all__ = ["DataMixin"]


class DataMixin:
    """``enable_database`` / ``database`` for `cello.App`."""

    _hooks: dict[str, list[Any]]

    def enable_database(self, config: DatabaseConfig | None = None) -> None:
        """Gives every worker a connection pool, opened when the worker starts.

        Without a config, an SQLite database in ``cello.db`` in the working directory.
        Handlers reach it as ``app.database`` or ``request.db`` (``request.database``);
        a bad URL or an unreachable server stops the worker at start-up with a message
        naming the host and port.

        Example:
            >>> from cello import App, DatabaseConfig
            >>> app = App()
            >>> app.enable_database(DatabaseConfig(
            ...     url="postgresql://user:pass@localhost/mydb",
            ...     pool_size=20,
            ...     max_lifetime_secs=1800
            ... ))
        """
        if config is None:
            config = DatabaseConfig()
        if not isinstance(config, DatabaseConfig):
            raise TypeError(f"enable_database() takes a DatabaseConfig, got {config!r}")
        if "_database_config" in self.__dict__:
            raise ValueError("enable_database() was called already: call it once, with the config to use")
        require_feature(config.backend, f"the {config.backend} database ({config.url.split(':', 1)[0]}:// URLs)")
        self.__dict__["_database_config"] = config
        self._hooks["startup"].insert(0, self._open_database)
        self._hooks["shutdown"].append(self._close_database)

    async def _open_database(self) -> None:
        from cello.data.database import Database
        from cello.data.transaction import _set_default_database

        database = await Database.connect(self.__dict__["_database_config"])
        self.__dict__["_database"] = database
        _set_default_database(database)

    async def _close_database(self) -> None:
        from cello.data.transaction import _set_default_database

        database = self.__dict__.pop("_database", None)
        if database is not None:
            _set_default_database(None)
            await database.close()

    @property
    def database(self) -> Database:
        """This worker's pool (`cello.Database`), open from the worker's start on."""
        database: Database | None = self.__dict__.get("_database")
        if database is not None:
            return database
        if "_database_config" not in self.__dict__:
            raise RuntimeError("no database: call app.enable_database(DatabaseConfig(...)) first")
        raise RuntimeError(
            "the database opens when a worker starts (app.run(), cello run, or a TestClient); "
            "use it in handlers and startup hooks"
        )
