"""Where middleware keeps state that outlives a request: `MemoryStore` (each worker its
own) or `RedisStore` (one Redis shared by every worker). Set one per config
(``RateLimitConfig(..., store=RedisStore(...))``) or once for the app
(``app.set_store(RedisStore(...))``)."""

from __future__ import annotations

from dataclasses import dataclass

from cello._features import require_feature

__all__ = ["MemoryStore", "RedisStore", "Store"]


@dataclass(frozen=True)
class MemoryStore:
    """State in each worker's memory: fast, but **per worker**. With ``workers=4`` a
    rate limit of 100 lets up to 400 through, and a session made on one worker is
    unknown to the others. Bounded: past `max_entries` the oldest entries go."""

    max_entries: int = 100_000

    def __post_init__(self) -> None:
        if not isinstance(self.max_entries, int) or self.max_entries < 1:
            raise ValueError(f"MemoryStore max_entries must be at least 1, got {self.max_entries!r}")

    def _spec(self) -> tuple[str, int]:
        return ("memory", self.max_entries)


@dataclass(frozen=True)
class RedisStore:
    """State in Redis, shared by every worker (and every server using the same Redis and
    `key_prefix`). Each worker connects on its first request (never before fork),
    reconnects by itself, and waits at most `timeout` seconds per command.

    Example:
        >>> from cello import App, RateLimitConfig, RedisStore
        >>> app = App()
        >>> app.enable_rate_limit(RateLimitConfig.token_bucket(
        ...     capacity=100, refill_rate=10, store=RedisStore("redis://127.0.0.1:6379/0")))
    """

    url: str = "redis://127.0.0.1:6379/0"
    key_prefix: str = "cello:"
    timeout: float = 0.5

    def __post_init__(self) -> None:
        require_feature("redis", "RedisStore")
        if not self.url.startswith(("redis://", "rediss://", "redis+unix://", "unix://")):
            raise ValueError(
                f"RedisStore url must look like redis://host:6379/0 (or rediss://, "
                f"redis+unix://), got {self.url!r}"
            )
        if not self.timeout > 0:
            raise ValueError(f"RedisStore timeout must be positive seconds, got {self.timeout!r}")

    def _spec(self) -> tuple[str, str, str, float]:
        return ("redis", self.url, self.key_prefix, float(self.timeout))


Store = MemoryStore | RedisStore
