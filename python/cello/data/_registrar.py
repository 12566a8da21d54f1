"""`App.enable_database` and ``app.database``: the data layer's half of `cello.App`.

The config is collected at registration; each worker opens its pool in a startup hook
(after the fork, on its own loop) and closes it at shutdown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cello._features import require_feature
from cello.data.channels import Channels
from cello.data.config import DatabaseConfig
from cello.data.redis import RedisConfig
from cello.observability.health import HealthCheck

if TYPE_CHECKING:
    from collections.abc import Callable

    from cello.data.database import Database
    from cello.data.redis import Redis

__all__ = ["DataMixin"]


class DataMixin:
    """``enable_database`` / ``database`` for `cello.App`."""

    _hooks: dict[str, list[Any]]
    # cello.observability's half of the App: registers a health check
    _add_check: Callable[[HealthCheck], None]

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
        self._add_check(HealthCheck("database", self._database_check, automatic=True))

    async def _open_database(self) -> None:
        from cello.data.database import Database
        from cello.data.transaction import _set_default_database

        database = await Database.connect(self.__dict__["_database_config"])
        self.__dict__["_database"] = database
        _set_default_database(database)

    async def _database_check(self) -> dict[str, Any]:
        """The readiness probe's check of this worker's pool (with health checks on):
        a query on a pooled connection, and the pool's figures as details."""
        database: Database | None = self.__dict__.get("_database")
        if database is None:
            return {"status": "DOWN", "reason": "the pool is not open"}
        up = await database.ping()
        return {"status": "UP" if up else "DOWN", **database.stats()}

    async def _redis_check(self) -> dict[str, Any]:
        """The readiness probe's check of this worker's Redis connection: a PING."""
        redis: Redis | None = self.__dict__.get("_redis")
        if redis is None:
            return {"status": "DOWN", "reason": "not connected"}
        up = await redis.ping()
        return {"status": "UP" if up else "DOWN", "address": redis.address}

    async def _close_database(self) -> None:
        from cello.data.transaction import _set_default_database

        database = self.__dict__.pop("_database", None)
        if database is not None:
            _set_default_database(None)
            await database.close()

    def enable_redis(self, config: RedisConfig | None = None) -> None:
        """Gives every worker a Redis connection (``app.redis``, ``request.redis``),
        opened when the worker starts, and makes `channels` cross workers through it.

        Example:
            >>> from cello import App, RedisConfig
            >>> app = App()
            >>> app.enable_redis(RedisConfig(
            ...     url="redis://localhost:6379",
            ...     pool_size=10,
            ...     cluster_mode=False
            ... ))
        """
        if config is None:
            config = RedisConfig()
        if not isinstance(config, RedisConfig):
            raise TypeError(f"enable_redis() takes a RedisConfig, got {config!r}")
        if "_redis_config" in self.__dict__:
            raise ValueError("enable_redis() was called already: call it once, with the config to use")
        require_feature("redis", "the Redis client (app.enable_redis)")
        self.__dict__["_redis_config"] = config
        self._hooks["startup"].insert(0, self._open_redis)
        self._hooks["shutdown"].append(self._close_redis)
        self._add_check(HealthCheck("redis", self._redis_check, automatic=True))

    async def _open_redis(self) -> None:
        from cello.data.redis import Redis

        self.__dict__["_redis"] = await Redis.connect(self.__dict__["_redis_config"])

    async def _close_redis(self) -> None:
        redis = self.__dict__.pop("_redis", None)
        if redis is not None:
            await redis.close()

    @property
    def redis(self) -> Redis:
        """This worker's Redis connection (`cello.data.Redis`)."""
        redis: Redis | None = self.__dict__.get("_redis")
        if redis is not None:
            return redis
        if "_redis_config" not in self.__dict__:
            raise RuntimeError("no Redis: call app.enable_redis(RedisConfig(...)) first")
        raise RuntimeError("Redis connects when a worker starts; use it in handlers and startup hooks")

    @property
    def channels(self) -> Channels:
        """Named broadcast channels: over Redis when `enable_redis` was called (every
        worker), in memory otherwise (this worker)."""
        channels: Channels | None = self.__dict__.get("_channels")
        if channels is None:
            channels = Channels(lambda: self.__dict__.get("_redis"))
            self.__dict__["_channels"] = channels
        return channels

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
