"""`App.enable_*` for the built-in middleware: each validates its arguments, asks the
native module for a checked `Middleware` spec, and keeps it. Every worker builds its
chain from the specs when it starts (after fork); the order of the chain is fixed
(docs/middleware.md), whatever order these are called in."""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cello import _cello
from cello.middleware._auth_registrar import AuthRegistrar
from cello.middleware.rate_limit import RateLimitConfig
from cello.middleware.security import SecurityHeadersConfig
from cello.middleware.static import StaticFilesConfig
from cello.middleware.stores import MemoryStore, RedisStore, Store
from cello.middleware.user import AfterHook, BeforeHook, HttpMiddleware, wrap_handler

__all__ = ["MiddlewareRegistrar"]

_DEFAULT_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def _names(value: str | Sequence[str] | None, what: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    items = list(value)
    if not all(isinstance(item, str) for item in items):
        raise TypeError(f"{what} must be a list of strings, got {value!r}")
    return items


@dataclass(frozen=True)
class _StoreHolder:
    """A layer's own store choice, for the per-worker warning."""

    store: Store | None


class MiddlewareRegistrar(AuthRegistrar):
    """The middleware half of `cello.App`."""

    def _add_middleware(
        self, kind: str, spec: _cello.Middleware | Callable[[], _cello.Middleware]
    ) -> None:
        """Registers a layer. `spec` may be a function that makes it, for layers that
        read app-wide settings (the store, trusted proxies) when the server starts; it
        is called once now, so a bad option fails here."""
        registry = self.__dict__.setdefault("_middleware", {})
        if kind in registry:
            raise ValueError(
                f"{kind} middleware is already enabled: call its enable_* method once, "
                "with all of its options"
            )
        factory = spec if callable(spec) else (lambda: spec)
        factory()
        registry[kind] = factory

    def _middleware_specs(self) -> list[_cello.Middleware]:
        return [factory() for factory in self.__dict__.get("_middleware", {}).values()]

    def _default_store(self) -> Store:
        store: Store = self.__dict__.get("_store") or MemoryStore()
        return store

    def set_store(self, store: Store) -> None:
        """The store of every middleware whose config names none: `MemoryStore` (per
        worker, the default) or `RedisStore` (shared by all workers)."""
        if not isinstance(store, (MemoryStore, RedisStore)):
            raise TypeError(f"set_store() takes a MemoryStore or RedisStore, got {store!r}")
        self.__dict__["_store"] = store

    def set_trusted_proxies(self, proxies: Sequence[str], trust_x_real_ip: bool = False) -> None:
        """The proxies (addresses or CIDR networks) whose ``X-Forwarded-For`` — and,
        with `trust_x_real_ip`, ``X-Real-IP`` — names the client for rate limits. From
        anyone else those headers are ignored: a client could write anything there."""
        items = _names(list(proxies), "proxies") or []
        self.__dict__["_trusted_proxies"] = (items, bool(trust_x_real_ip))

    def _per_worker_warnings(self) -> list[str]:
        """What is kept per worker although users may expect it shared (logged at start
        with workers > 1)."""
        warnings = []
        for kind, config in self.__dict__.get("_stateful", {}).items():  # has .store
            if isinstance(config.store or self._default_store(), MemoryStore):
                warnings.append(
                    f"{kind} state is in memory, per worker: each worker counts on its own; "
                    "use RedisStore (app.set_store or store=) to share it"
                )
        return warnings

    def enable_rate_limit(self, config: RateLimitConfig | None = None, **options: Any) -> None:
        """Limits requests per client (or route, or header value) in Rust: 429
        problem+json with ``Retry-After`` over the limit, ``RateLimit`` headers on every
        counted response. ``enable_rate_limit(requests=100, window=60)`` is
        ``RateLimitConfig.token_bucket(requests=100, window=60)``.

        Example:
            >>> from cello import App, RateLimitConfig
            >>> app = App()
            >>> app.enable_rate_limit(RateLimitConfig.sliding_window(max_requests=100, window_secs=60))
        """
        if config is None:
            config = RateLimitConfig.token_bucket(**options)
        elif options:
            raise TypeError("enable_rate_limit() takes a RateLimitConfig or keyword options, not both")
        if not isinstance(config, RateLimitConfig):
            raise TypeError(f"enable_rate_limit() takes a RateLimitConfig, got {config!r}")
        chosen = config

        def build() -> _cello.Middleware:
            proxies, real_ip = self.__dict__.get("_trusted_proxies", ([], False))
            return _cello.rate_limit_layer(*chosen._arguments(self._default_store(), proxies, real_ip))

        self._add_middleware("rate limit", build)
        self.__dict__.setdefault("_stateful", {})["rate limit"] = chosen

    def enable_cors(
        self,
        origins: Sequence[str] | None = None,
        *,
        methods: Sequence[str] | None = None,
        headers: Sequence[str] | None = None,
        expose_headers: Sequence[str] | None = None,
        allow_credentials: bool = False,
        max_age: int | None = 600,
        **aliases: Any,
    ) -> None:
        """Answers CORS preflights and adds CORS headers to every response (errors too).

        Args:
            origins: allowed origins (``"https://app.example.com"``); ``None`` or
                ``["*"]`` allows any origin (then without credentials).
            methods: methods a preflight may ask for (default: the common seven).
            headers: request headers a preflight may ask for; ``None`` allows what the
                preflight asks for.
            expose_headers: response headers scripts may read.
            allow_credentials: allow cookies and ``Authorization``; needs listed origins.
            max_age: seconds a browser may cache a preflight answer.
            **aliases: Starlette's spellings ``allow_origins``, ``allow_methods``,
                ``allow_headers`` and ``expose``.

        Example:
            >>> from cello import App
            >>> app = App()
            >>> app.enable_cors(origins=["https://app.example.com"], allow_credentials=True)
        """
        spelled = {"allow_origins": "origins", "allow_methods": "methods",
                   "allow_headers": "headers", "expose": "expose_headers"}
        unknown = set(aliases) - set(spelled)
        if unknown:
            raise TypeError(f"enable_cors() got unexpected arguments: {', '.join(sorted(unknown))}")
        origins = aliases.get("allow_origins", origins)
        methods = aliases.get("allow_methods", methods)
        headers = aliases.get("allow_headers", headers)
        expose_headers = aliases.get("expose", expose_headers)
        if max_age is not None and max_age < 0:
            raise ValueError(f"max_age must be 0 or more seconds, got {max_age}")
        spec = _cello.cors_layer(
            _names(origins, "origins") or ["*"],
            _names(methods, "methods") or list(_DEFAULT_METHODS),
            _names(headers, "headers"),
            _names(expose_headers, "expose_headers") or [],
            bool(allow_credentials),
            max_age,
        )
        self._add_middleware("CORS", spec)

    def enable_security_headers(
        self, config: SecurityHeadersConfig | bool | None = None, *, strict: bool = False
    ) -> None:
        """Adds security headers (``X-Frame-Options``, ``X-Content-Type-Options``,
        ``Referrer-Policy``, CSP, HSTS over TLS...) to every response, errors included.

        Args:
            config: a `SecurityHeadersConfig`; ``True`` (or ``strict=True``) is the
                strict preset (`SecurityHeadersConfig.secure`); default: the class defaults.
        """
        if isinstance(config, bool):
            strict, config = config, None
        if config is None:
            config = SecurityHeadersConfig.secure() if strict else SecurityHeadersConfig()
        if not isinstance(config, SecurityHeadersConfig):
            raise TypeError(f"enable_security_headers() takes a SecurityHeadersConfig, got {config!r}")
        self._add_middleware("security headers", _cello.security_headers_layer(*config._arguments()))

    def enable_request_id(self, header: str = "X-Request-ID", *, trust_incoming: bool = True) -> None:
        """Gives every request an id: the client's `header` when it is a sane token
        (1–128 of letters, digits, ``-_.:/+=@``), else a new UUID. Handlers read it as
        ``request.request_id``; it is sent back in `header` and added to every
        problem+json error body as ``request_id``."""
        self._add_middleware("request id", _cello.request_id_layer(header, trust_incoming))

    def enable_compression(
        self,
        min_size: int | None = None,
        *,
        gzip: bool = True,
        brotli: bool = True,
        zstd: bool = True,
        gzip_level: int = 6,
        brotli_level: int = 4,
        zstd_level: int = 3,
    ) -> None:
        """Compresses responses with gzip, brotli or zstd, as the client's
        ``Accept-Encoding`` prefers (ties: br, zstd, gzip).

        Bodies under `min_size` bytes (default 1024), already encoded or incompressible
        types (images, audio, video, archives, octet-stream, problem+json), HEAD, 204,
        206, 304 and ``Cache-Control: no-transform`` responses are sent as they are.
        Streamed bodies, Server-Sent Events included, are compressed chunk by chunk with
        a flush after each, so events still arrive one by one. Compressed responses get
        ``Vary: Accept-Encoding`` and a weak ``ETag``. Don't compress a page that mixes a
        secret with attacker-controlled input (BREACH): send it with
        ``Cache-Control: no-transform``.

        Example:
            >>> from cello import App
            >>> app = App()
            >>> app.enable_compression(min_size=512)
        """
        if min_size is None:
            min_size = 1024
        if not isinstance(min_size, int) or min_size < 0:
            raise ValueError(f"min_size must be a number of bytes (0 or more), got {min_size!r}")
        spec = _cello.compression_layer(
            min_size, gzip, brotli, zstd, gzip_level, brotli_level, zstd_level
        )
        self._add_middleware("compression", spec)

    def enable_caching(
        self,
        ttl: float = 300,
        methods: Sequence[str] | None = None,
        exclude_paths: Sequence[str] | None = None,
        compress: bool = True,
        cache_authenticated: bool = False,
        max_entries: int = 10000,
        *,
        store: Store | None = None,
        session_cookies: Sequence[str] | None = None,
        max_entry_size: int = 1024 * 1024,
        max_size: int = 64 * 1024 * 1024,
    ) -> None:
        """Caches 200 answers to GET (and HEAD) in Rust: keyed by method, host, path,
        query and the request headers the answer's ``Vary`` names; ``X-Cache: HIT`` (with
        ``Age``) or ``MISS``. Never stored: answers with ``Set-Cookie``, ``no-store`` or
        ``private``, streamed bodies, ``Vary: *``; requests with ``Authorization`` or a
        session cookie bypass the cache unless `cache_authenticated` (then entries are
        kept per credential). ``@cache(ttl=..., tags=[...])`` sets a route's TTL and tags;
        ``app.invalidate_cache(tags)`` drops them. With `MemoryStore` (the default) the
        entries and invalidations are per worker; with `RedisStore` every worker shares
        them. `compress` is accepted for compatibility: compression is its own layer and
        entries are kept per encoding.
        """
        del compress
        chosen_store = store

        def build() -> _cello.Middleware:
            return _cello.cache_layer(
                float(ttl), [m.upper() for m in (_names(methods, "methods") or ["GET", "HEAD"])],
                _names(exclude_paths, "exclude_paths") or [], bool(cache_authenticated),
                _names(session_cookies, "session_cookies") or self._session_cookie_names(),
                max_entries, max_entry_size, max_size,
                (chosen_store or self._default_store())._spec(),
            )

        self._add_middleware("cache", build)
        self.__dict__.setdefault("_stateful", {})["response cache"] = _StoreHolder(store)
        self.__dict__["_caching"] = True

    def invalidate_cache(self, tags: str | Sequence[str]) -> None:
        """Drops the cached responses tagged with any of `tags` (``@cache(tags=[...])``).
        With `RedisStore` it reaches every worker (the deletion runs on this worker's loop
        and completes on its next turn); with the memory store, this worker only."""
        names = [tags] if isinstance(tags, str) else _names(tags, "tags") or []
        if not self.__dict__.get("_caching"):
            raise RuntimeError("invalidate_cache() needs app.enable_caching() first")
        for reference in list(self.__dict__.get("_engines", [])):
            engine = reference()
            if engine is None:
                self.__dict__["_engines"].remove(reference)
            else:
                engine.invalidate_cache(names)

    def _track_engine(self, engine: _cello.Engine) -> None:
        self.__dict__.setdefault("_engines", []).append(weakref.ref(engine))

    def enable_circuit_breaker(
        self,
        failure_threshold: int = 5,
        reset_timeout: float = 30,
        half_open_target: int = 3,
        failure_codes: Sequence[int] | None = None,
        *,
        max_routes: int = 10000,
    ) -> None:
        """Opens a route's circuit after `failure_threshold` failures in a row (answers
        whose status is in `failure_codes`, default 500/502/503/504): for `reset_timeout`
        seconds it answers 503 problem+json with ``Retry-After`` without calling the
        handler, then lets trial requests through; `half_open_target` successes close
        it, a failure opens it again. State is per worker."""
        codes = list(failure_codes) if failure_codes is not None else [500, 502, 503, 504]
        for name, value in (("failure_threshold", failure_threshold), ("half_open_target", half_open_target)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a whole number of at least 1, got {value!r}")
        spec = _cello.circuit_breaker_layer(
            failure_threshold, float(reset_timeout), half_open_target, codes, max_routes
        )
        self._add_middleware("circuit breaker", spec)

    def enable_static_files(self, config: StaticFilesConfig | None = None, **options: Any) -> None:
        """Serves a directory in Rust (see `StaticFilesConfig`);
        ``enable_static_files(directory="public")`` builds the config from keywords."""
        if config is None:
            config = StaticFilesConfig(**options)
        elif options:
            raise TypeError("enable_static_files() takes a StaticFilesConfig or keyword options, not both")
        if not isinstance(config, StaticFilesConfig):
            raise TypeError(f"enable_static_files() takes a StaticFilesConfig, got {config!r}")
        self._add_middleware("static files", _cello.static_files_layer(*config._arguments()))

    def enable_etag(self, weak: bool = False) -> None:
        """ETags for in-memory 200 answers to GET/HEAD (a hash of the body) and their
        conditional requests: ``If-None-Match``/``If-Modified-Since`` → 304,
        ``If-Match``/``If-Unmodified-Since`` that fail → 412. Streamed bodies get none.
        Unsafe methods are not judged here: the handler knows the current state."""
        self._add_middleware("ETag", _cello.etag_layer(bool(weak)))

    def enable_body_limit(self, max_size: int) -> None:
        """Caps request bodies at `max_size` bytes for every route that sets no
        ``body_limit=`` of its own: 413 problem+json above it (before reading, when
        the length is declared). The server's ``ServerConfig.max_body_size`` (10 MiB
        by default) still applies first, so this can only lower it."""
        if not isinstance(max_size, int) or max_size < 0:
            raise ValueError(f"max_size must be a number of bytes (0 or more), got {max_size!r}")
        self.__dict__["_default_body_limit"] = max_size

    def _body_limit(self) -> int | None:
        limit: int | None = self.__dict__.get("_default_body_limit")
        return limit

    # --- Python middleware ---------------------------------------------------------

    def middleware(self, kind: str = "http") -> Callable[[HttpMiddleware], HttpMiddleware]:
        """Registers Starlette-style middleware: ``async def mw(request, call_next)``.

        ``await call_next(request)`` runs the rest (inner middleware, hooks, guards,
        the handler) and returns a `Response` whatever the handler returned; the
        middleware returns it, changed or not, or answers by itself. The one
        registered last runs outermost. It wraps routed requests only (a 404 or 405 is
        answered in Rust); see docs/middleware.md.

        Example:
            >>> import time
            >>> from cello import App
            >>> app = App()
            >>> @app.middleware("http")
            ... async def timing(request, call_next):
            ...     started = time.perf_counter()
            ...     response = await call_next(request)
            ...     response.headers["X-Elapsed"] = f"{time.perf_counter() - started:.4f}"
            ...     return response
        """
        if kind != "http":
            raise ValueError(f"middleware kind must be 'http', got {kind!r}")

        def decorator(function: HttpMiddleware) -> HttpMiddleware:
            if not inspect.iscoroutinefunction(function):
                raise TypeError(
                    f"{getattr(function, '__qualname__', function)!s} must be an async def "
                    "taking (request, call_next): call_next is awaited"
                )
            self.__dict__.setdefault("_user_middleware", []).append(function)
            return function

        return decorator

    def before_request(self, hook: BeforeHook) -> BeforeHook:
        """Registers ``hook(request)`` (sync or async) to run before every routed
        handler; returning anything but ``None`` answers with it instead."""
        self.__dict__.setdefault("_before_hooks", []).append(hook)
        return hook

    def after_request(self, hook: AfterHook) -> AfterHook:
        """Registers ``hook(response)`` or ``hook(request, response)`` (sync or async)
        to run after every routed handler, in order; it may change the `Response` in
        place or return a replacement."""
        self.__dict__.setdefault("_after_hooks", []).append(hook)
        return hook

    def _wrap_user_middleware(
        self, handler: Callable[..., Any], kind: str, wants_request: bool
    ) -> tuple[Callable[..., Any], str, bool]:
        middlewares = self.__dict__.get("_user_middleware", [])
        before = self.__dict__.get("_before_hooks", [])
        after = self.__dict__.get("_after_hooks", [])
        if not (middlewares or before or after):
            return handler, kind, wants_request
        if kind == "blocking":
            raise TypeError(
                "blocking=True handlers cannot run inside Python middleware or "
                "before/after hooks (those run on the event loop)"
            )
        return wrap_handler(handler, wants_request, middlewares, before, after), "async", True

    def use(self, middleware: object) -> None:
        """Enables a middleware given as a config object (the original's ``app.use``):
        `SecurityHeadersConfig` for now."""
        if isinstance(middleware, SecurityHeadersConfig):
            self.enable_security_headers(middleware)
            return
        if isinstance(middleware, RateLimitConfig):
            self.enable_rate_limit(middleware)
            return
        if isinstance(middleware, StaticFilesConfig):
            self.enable_static_files(middleware)
            return
        if self._use_auth(middleware):
            return
        raise TypeError(
            f"app.use() does not know {type(middleware).__name__}; it takes a "
            "SecurityHeadersConfig, RateLimitConfig, StaticFilesConfig, JwtAuth, BasicAuth, "
            "ApiKeyAuth, SessionConfig or CsrfConfig (the other middleware have enable_* methods)"
        )
