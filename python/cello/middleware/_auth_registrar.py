"""`App.enable_jwt`, `enable_basic_auth`, `enable_api_key`, `enable_session(s)` and
`enable_csrf`: the part of the middleware registrar that deals with who the client is."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from cello import _cello
from cello.middleware.auth import (
    ApiKeyAuth,
    BasicAuth,
    CsrfConfig,
    JwtAuth,
    JwtConfig,
    SessionConfig,
)
from cello.middleware.stores import MemoryStore, Store

__all__ = ["AuthRegistrar"]


class AuthRegistrar:
    """Authentication, sessions and CSRF for `cello.App` (one scheme of the three
    authentication layers at a time)."""

    # Provided by MiddlewareRegistrar.
    _add_middleware: Callable[..., None]
    _default_store: Callable[[], Store]

    def enable_jwt(self, config: JwtConfig | JwtAuth, skip_paths: Sequence[str] | None = None) -> None:
        """Requires a valid bearer token (``Authorization: Bearer <jwt>``, or the config's
        header or cookie) on every request except `skip_paths` (``/health`` covers
        ``/health/...``; a trailing ``*`` is a plain prefix) and OPTIONS; 401
        problem+json with ``WWW-Authenticate`` otherwise. The claims are
        ``request.user`` and ``request.context["user"]`` (what guards read).

        Example:
            >>> from cello import App, JwtConfig
            >>> app = App()
            >>> app.enable_jwt(JwtConfig(secret="a-secret-of-at-least-thirty-two-bytes!"),
            ...                skip_paths=["/health", "/login"])
        """
        if isinstance(config, JwtAuth):
            skip_paths = [*config.skip_paths, *(skip_paths or [])]
            config = config.config
        if not isinstance(config, JwtConfig):
            raise TypeError(f"enable_jwt() takes a JwtConfig, got {config!r}")
        self._add_middleware("authentication", _cello.jwt_layer(*config._arguments(skip_paths or [])))
        # What OpenAPI documents as the security scheme (cello/openapi/security.py).
        self.__dict__["_auth_scheme"] = {
            "kind": "jwt", "header": config.header_name, "prefix": config.header_prefix,
            "cookie": config.cookie_name, "skip_paths": list(skip_paths or []),
        }

    def enable_basic_auth(
        self, credentials: Mapping[str, str], realm: str = "Restricted", *,
        skip_paths: Sequence[str] | None = None,
    ) -> None:
        """HTTP Basic authentication against `credentials` (user → password), compared
        in constant time; 401 with ``WWW-Authenticate: Basic realm=...`` otherwise.
        ``request.user`` is ``{"sub": user, "auth": "basic"}``. Use it over TLS only."""
        auth = BasicAuth(credentials, realm, skip_paths)
        self._add_middleware(
            "authentication", _cello.basic_auth_layer(auth.credentials, auth.realm, auth.skip_paths)
        )
        self.__dict__["_auth_scheme"] = {
            "kind": "basic", "header": "Authorization", "skip_paths": list(auth.skip_paths),
        }

    def enable_api_key(
        self, keys: Mapping[str, str | Mapping[str, Any]] | Sequence[str], header: str = "X-API-Key",
        *, skip_paths: Sequence[str] | None = None,
    ) -> None:
        """Requires one of `keys` in `header` (constant-time comparison); 401 otherwise.
        A key maps to its holder's name or to a dict of claims: ``request.user``."""
        auth = ApiKeyAuth(keys, header, skip_paths)
        self._add_middleware("authentication", _cello.api_key_layer(*auth._arguments()))
        self.__dict__["_auth_scheme"] = {
            "kind": "api_key", "header": auth.header, "skip_paths": list(auth.skip_paths),
        }

    def enable_session(self, config: SessionConfig | None = None) -> None:
        """Sessions: ``request.session`` (see `SessionConfig`). With the default memory
        store they are per worker: use ``RedisStore`` with several workers."""
        config = config or SessionConfig()
        if not isinstance(config, SessionConfig):
            raise TypeError(f"enable_session() takes a SessionConfig, got {config!r}")
        chosen = config

        def build() -> _cello.Middleware:
            store = self._default_store()
            if isinstance(chosen.store or store, MemoryStore):
                store = MemoryStore(max_entries=chosen.max_sessions)
            return _cello.session_layer(*chosen._arguments(store))

        self._add_middleware("session", build)
        self.__dict__.setdefault("_stateful", {})["session"] = chosen
        self.__dict__["_session_config"] = chosen

    def enable_sessions(self, config: SessionConfig | None = None) -> None:
        """The original docs' spelling of `enable_session`."""
        self.enable_session(config)

    def enable_csrf(
        self,
        cookie_name: str | None = None,
        header_name: str | None = None,
        allowed_origins: Sequence[str] | None = None,
        *,
        config: CsrfConfig | None = None,
        secret: str | bytes | None = None,
        exempt_paths: Sequence[str] | None = None,
    ) -> None:
        """CSRF protection for unsafe methods (see `CsrfConfig`): a matching token in
        ``X-CSRF-Token`` (or the ``_csrf`` form field) and an allowed ``Origin``."""
        if config is None:
            options: dict[str, Any] = {"secret": secret, "exempt_paths": exempt_paths,
                                       "allowed_origins": allowed_origins}
            if cookie_name is not None:
                options["cookie_name"] = cookie_name
            if header_name is not None:
                options["header_name"] = header_name
            config = CsrfConfig(**options)
        self._add_middleware("CSRF", _cello.csrf_layer(*config._arguments()))

    def _session_cookie_names(self) -> list[str]:
        config = self.__dict__.get("_session_config")
        return [config.cookie_name] if config is not None else ["session_id"]

    def _use_auth(self, middleware: object) -> bool:
        if isinstance(middleware, (JwtAuth, JwtConfig)):
            self.enable_jwt(middleware)
        elif isinstance(middleware, BasicAuth):
            self.enable_basic_auth(middleware.credentials, middleware.realm, skip_paths=middleware.skip_paths)
        elif isinstance(middleware, ApiKeyAuth):
            self.enable_api_key(middleware.keys, middleware.header, skip_paths=middleware.skip_paths)
        elif isinstance(middleware, SessionConfig):
            self.enable_session(middleware)
        elif isinstance(middleware, CsrfConfig):
            self.enable_csrf(config=middleware)
        else:
            return False
        return True
