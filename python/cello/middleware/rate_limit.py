"""`RateLimitConfig`: the original's class, its three constructors, and the keyword
spellings the seeds and the original's docs use."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cello.middleware.stores import MemoryStore, RedisStore, Store

__all__ = ["AdaptiveRateLimitConfig", "RateLimitConfig"]

_ALGORITHMS = ("token_bucket", "sliding_window", "adaptive")
_UNSUPPORTED = ("cpu_threshold", "memory_threshold", "latency_threshold")


def _pick(value: Any, aliases: dict[str, Any], *names: str) -> Any:
    for name in names:
        if aliases.get(name) is not None:
            return aliases.pop(name)
        aliases.pop(name, None)
    return value


class RateLimitConfig:
    """How requests are limited. Build one with `token_bucket`, `sliding_window` or
    `adaptive`, then ``app.enable_rate_limit(config)``.

    Over the limit a request gets 429 problem+json with ``Retry-After``; every counted
    response carries ``RateLimit``/``RateLimit-Policy`` (IETF draft) and
    ``X-RateLimit-Limit/-Remaining/-Reset`` (seconds). ``/metrics`` and ``/health``
    are not counted (`exempt_paths` replaces that list).

    Args:
        algorithm: ``"token_bucket"``, ``"sliding_window"`` or ``"adaptive"``.
        capacity: the burst (token bucket), or the requests per window (sliding window).
        refill_rate: tokens per second.
        window_secs: the sliding window's length.
        key_by: ``"ip"`` (the client address; see ``app.set_trusted_proxies``),
            ``"route"`` (one limit per path for all clients) or ``"header:X-Api-Key"``.
        min_capacity, error_threshold: the adaptive limit's floor, and the share of 5xx
            responses above which it tightens.
        store: `MemoryStore` (per worker) or `RedisStore` (shared); default: the app's
            store (``app.set_store``), else memory.
        exempt_paths: paths (and the paths under them) never counted.
        fail_closed: answer 503 when the store is unreachable instead of letting
            requests through (the default).

    Example:
        >>> from cello import RateLimitConfig
        >>> config = RateLimitConfig.token_bucket(max_requests=100, window_secs=60)
        >>> config = RateLimitConfig.token_bucket(requests=100, window=60)   # same
        >>> config = RateLimitConfig.token_bucket(capacity=100, refill_rate=100 / 60)
    """

    def __init__(
        self,
        algorithm: str = "token_bucket",
        capacity: int = 100,
        refill_rate: float = 10,
        window_secs: int = 60,
        key_by: str = "ip",
        min_capacity: int | None = None,
        error_threshold: float | None = None,
        *,
        store: Store | None = None,
        exempt_paths: Sequence[str] | None = None,
        fail_closed: bool = False,
        **aliases: Any,
    ) -> None:
        algorithm = _pick(algorithm, aliases, "strategy")
        unsupported = [name for name in _UNSUPPORTED if aliases.pop(name, None) is not None]
        if unsupported:
            raise ValueError(
                f"{', '.join(unsupported)} are not supported: the adaptive limit follows the "
                "share of 5xx responses (error_threshold), not CPU, memory or latency"
            )
        exempt_paths = _pick(exempt_paths, aliases, "exempt")
        if aliases:
            raise TypeError(f"RateLimitConfig got unexpected arguments: {', '.join(sorted(aliases))}")
        if algorithm not in _ALGORITHMS:
            raise ValueError(f"algorithm must be one of {', '.join(_ALGORITHMS)}, got {algorithm!r}")
        if store is not None and not isinstance(store, (MemoryStore, RedisStore)):
            raise TypeError(f"store must be a MemoryStore or RedisStore, got {store!r}")
        if callable(key_by):
            raise TypeError(
                "key_by takes 'ip', 'route' or 'header:<name>'; a Python callable would run on "
                "every request in the Rust hot path and is not supported"
            )
        self.algorithm = algorithm
        self.capacity = capacity
        self.refill_rate = refill_rate
        self.window_secs = window_secs
        self.key_by = key_by
        self.min_capacity = min_capacity
        self.error_threshold = error_threshold
        self.store = store
        self.exempt_paths = None if exempt_paths is None else list(exempt_paths)
        self.fail_closed = fail_closed

    @staticmethod
    def token_bucket(
        capacity: int | None = None,
        refill_rate: float | None = None,
        **options: Any,
    ) -> RateLimitConfig:
        """A bucket of `capacity` requests refilled at `refill_rate` per second.

        Also accepts ``max_requests=``/``window_secs=`` (seed 003) and
        ``requests=``/``window=`` (seed 004): `capacity` requests, refilled over the
        window (``refill_rate = max_requests / window_secs``).
        """
        requests = _pick(None, options, "max_requests", "requests")
        window = _pick(None, options, "window_secs", "window", "window_seconds")
        if requests is not None:
            capacity = requests if capacity is None else capacity
        if window is not None:
            base = capacity if capacity is not None else 100
            refill_rate = base / window if refill_rate is None else refill_rate
        return RateLimitConfig(
            "token_bucket",
            100 if capacity is None else capacity,
            10 if refill_rate is None else refill_rate,
            **options,
        )

    @staticmethod
    def sliding_window(
        max_requests: int | None = None, window_secs: int | None = None, **options: Any
    ) -> RateLimitConfig:
        """At most `max_requests` in any `window_secs` seconds (``requests=``/``window=``
        also accepted)."""
        max_requests = _pick(max_requests, options, "requests", "capacity")
        window_secs = _pick(window_secs, options, "window", "window_seconds")
        return RateLimitConfig(
            "sliding_window",
            100 if max_requests is None else max_requests,
            window_secs=60 if window_secs is None else window_secs,
            **options,
        )

    @staticmethod
    def adaptive(
        capacity: int | None = None,
        refill_rate: float | None = None,
        min_capacity: int | None = None,
        error_threshold: float | None = None,
        **options: Any,
    ) -> RateLimitConfig:
        """A token bucket that tightens toward `min_capacity` while more than
        `error_threshold` of recent responses (per worker) are 5xx."""
        requests = _pick(None, options, "base_requests", "requests")
        window = _pick(None, options, "window", "window_secs")
        min_capacity = _pick(min_capacity, options, "min_requests")
        capacity = requests if capacity is None and requests is not None else capacity
        capacity = 100 if capacity is None else capacity
        if refill_rate is None:
            refill_rate = capacity / window if window else 10
        return RateLimitConfig(
            "adaptive",
            capacity,
            refill_rate,
            min_capacity=max(1, capacity // 10) if min_capacity is None else min_capacity,
            error_threshold=0.1 if error_threshold is None else error_threshold,
            **options,
        )

    def _arguments(self, store: Store, trusted_proxies: list[str], real_ip: bool) -> tuple[Any, ...]:
        key_by, header = self.key_by, None
        if isinstance(key_by, str) and key_by.lower().startswith("header:"):
            key_by, header = "header", key_by.split(":", 1)[1].strip()
        exempt = ["/metrics", "/health"] if self.exempt_paths is None else self.exempt_paths
        return (
            self.algorithm, int(self.capacity), float(self.refill_rate), int(self.window_secs),
            int(self.min_capacity or 1), float(self.error_threshold or 0.1), key_by, header,
            trusted_proxies, real_ip, exempt, (self.store or store)._spec(), self.fail_closed,
        )

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if v is not None)
        return f"RateLimitConfig({fields})"


class AdaptiveRateLimitConfig(RateLimitConfig):
    """The original's ``cello.middleware.AdaptiveRateLimitConfig``: the same as
    ``RateLimitConfig.adaptive(...)``."""

    def __init__(
        self,
        capacity: int = 100,
        refill_rate: float = 10,
        min_capacity: int | None = None,
        error_threshold: float = 0.1,
        **options: Any,
    ) -> None:
        made = RateLimitConfig.adaptive(capacity, refill_rate, min_capacity, error_threshold, **options)
        self.__dict__.update(vars(made))
