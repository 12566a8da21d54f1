"""Authentication, sessions and CSRF: the original's config classes (`JwtConfig`,
`SessionConfig`, `CsrfConfig`) and `app.use()` wrappers (`JwtAuth`, `BasicAuth`,
`ApiKeyAuth`), with the keyword spellings its docs use. The checks run in Rust."""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from cello.middleware.stores import Store

__all__ = ["ApiKeyAuth", "BasicAuth", "CsrfConfig", "JwtAuth", "JwtConfig", "SessionConfig"]

logger = logging.getLogger("cello")

_DEFAULT_AUTH_KEYS = [
    "user_id", "userid", "uid", "user", "username", "account_id", "email", "auth",
    "authenticated", "is_authenticated", "logged_in", "role", "roles",
]


def _secret(value: str | bytes | None, what: str) -> bytes:
    if value is None:
        logger.warning(
            "%s has no secret: using a random one, so its cookies stop working when the "
            "server restarts; pass secret= (python -c \"import secrets; "
            "print(secrets.token_urlsafe(48))\")", what,
        )
        return secrets.token_bytes(48)
    return value.encode() if isinstance(value, str) else bytes(value)


def _list(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _take(aliases: dict[str, Any], value: Any, *names: str) -> Any:
    for name in names:
        if name in aliases:
            return aliases.pop(name)
    return value


def _reject(cls: str, aliases: dict[str, Any]) -> None:
    if aliases:
        raise TypeError(f"{cls} got unexpected arguments: {', '.join(sorted(aliases))}")


class JwtConfig:
    """How bearer tokens are verified. The algorithm is pinned (``none`` and tokens of
    another algorithm are refused); ``exp`` is required, ``nbf``/``iss``/``aud``
    checked with `leeway` seconds. HMAC secrets need 32 bytes at least; for RS*/PS*/ES*/
    EdDSA give `public_key` (PEM text or a file) or `jwks` (a JWKS file, keys by ``kid``).

    ``expiration``/``expiry``/``refresh_expiry`` (the original docs' token lifetimes)
    are accepted and kept, but verification does not use them: the token's ``exp`` does.
    """

    def __init__(
        self,
        secret: str | bytes | None = None,
        algorithm: str = "HS256",
        header_name: str = "Authorization",
        cookie_name: str | None = None,
        leeway: int = 0,
        issuer: str | Sequence[str] | None = None,
        audience: str | Sequence[str] | None = None,
        *,
        public_key: str | os.PathLike[str] | None = None,
        jwks: str | os.PathLike[str] | None = None,
        header_prefix: str = "Bearer",
        **aliases: Any,
    ) -> None:
        self.expiration = _take(aliases, None, "expiration", "expiry")
        self.refresh_expiry = aliases.pop("refresh_expiry", None)
        header_prefix = _take(aliases, header_prefix, "prefix")
        _reject("JwtConfig", aliases)
        if leeway < 0:
            raise ValueError(f"leeway must be 0 or more seconds, got {leeway}")
        self.secret = None if secret is None else (secret.encode() if isinstance(secret, str) else bytes(secret))
        self.algorithm = algorithm
        self.header_name = header_name
        self.cookie_name = cookie_name
        self.leeway = leeway
        self.issuer = _list(issuer)
        self.audience = _list(audience)
        self.public_key = None if public_key is None else os.fspath(public_key)
        self.jwks = None if jwks is None else os.fspath(jwks)
        self.header_prefix = header_prefix

    def _arguments(self, skip_paths: Sequence[str]) -> tuple[Any, ...]:
        return (
            self.secret, self.algorithm, self.header_name, self.header_prefix, self.cookie_name,
            int(self.leeway), self.issuer, self.audience, self.public_key, self.jwks, list(skip_paths),
        )

    def __repr__(self) -> str:
        return f"JwtConfig(algorithm={self.algorithm!r}, header_name={self.header_name!r})"


class JwtAuth:
    """``app.use(JwtAuth(config, skip_paths=[...]))``: the same as ``app.enable_jwt``."""

    def __init__(self, config: JwtConfig, skip_paths: Sequence[str] | None = None) -> None:
        self.config = config
        self.skip_paths = list(skip_paths or [])


class BasicAuth:
    """``app.use(BasicAuth({"user": "password"}, realm="Restricted"))``."""

    def __init__(
        self, credentials: Mapping[str, str], realm: str = "Restricted",
        skip_paths: Sequence[str] | None = None,
    ) -> None:
        self.credentials = dict(credentials)
        self.realm = realm
        self.skip_paths = list(skip_paths or [])


class ApiKeyAuth:
    """``app.use(ApiKeyAuth({"key": "holder name" or {claims}}, header="X-API-Key"))``."""

    def __init__(
        self, keys: Mapping[str, str | Mapping[str, Any]] | Sequence[str], header: str = "X-API-Key",
        skip_paths: Sequence[str] | None = None,
    ) -> None:
        if isinstance(keys, Mapping):
            self.keys = dict(keys)
        else:
            self.keys = {key: f"key-{index}" for index, key in enumerate(keys)}
        self.header = header
        self.skip_paths = list(skip_paths or [])

    def _arguments(self) -> tuple[Any, ...]:
        names = {k: v for k, v in self.keys.items() if isinstance(v, str)}
        claims = {k: json.dumps(dict(v)) for k, v in self.keys.items() if not isinstance(v, str)}
        return (names, claims, self.header, self.skip_paths)


class SessionConfig:
    """Server-side sessions behind a signed cookie: ``request.session`` is dict-like,
    saved only when changed, with secure cookie defaults (``Secure``, ``HttpOnly``,
    ``SameSite=Lax``). Changing one of `auth_keys` (``user_id``...) gives the session a
    new id, against fixation; ``request.session.regenerate()`` does it by hand. Use
    `RedisStore` so every worker sees the same sessions."""

    def __init__(
        self,
        cookie_name: str = "session_id",
        cookie_path: str = "/",
        cookie_domain: str | None = None,
        cookie_secure: bool = True,
        cookie_http_only: bool = True,
        cookie_same_site: str = "Lax",
        max_age: int = 86400,
        max_sessions: int = 100000,
        max_session_size: int = 65536,
        auth_keys: Sequence[str] | None = None,
        *,
        secret: str | bytes | None = None,
        store: Store | None = None,
        **aliases: Any,
    ) -> None:
        cookie_secure = _take(aliases, cookie_secure, "secure")
        cookie_http_only = _take(aliases, cookie_http_only, "http_only", "httponly")
        cookie_same_site = _take(aliases, cookie_same_site, "same_site", "samesite")
        _reject("SessionConfig", aliases)
        self.cookie_name = cookie_name
        self.cookie_path = cookie_path
        self.cookie_domain = cookie_domain
        self.cookie_secure = bool(cookie_secure)
        self.cookie_http_only = bool(cookie_http_only)
        self.cookie_same_site = str(cookie_same_site)
        self.max_age = max_age
        self.max_sessions = max_sessions
        self.max_session_size = max_session_size
        self.auth_keys = None if auth_keys is None else list(auth_keys)
        self.secret = _secret(secret, "SessionConfig")
        self.store = store

    @staticmethod
    def default_auth_keys() -> list[str]:
        """The session keys whose change regenerates the session id."""
        return list(_DEFAULT_AUTH_KEYS)

    def _arguments(self, store: Store) -> tuple[Any, ...]:
        return (
            self.cookie_name, self.cookie_path, self.cookie_domain, self.cookie_secure,
            self.cookie_http_only, self.cookie_same_site, int(self.max_age), int(self.max_sessions),
            int(self.max_session_size), self.auth_keys, self.secret, (self.store or store)._spec(),
        )

    def __repr__(self) -> str:
        return f"SessionConfig(cookie_name={self.cookie_name!r}, max_age={self.max_age})"


class CsrfConfig:
    """CSRF protection: a signed double-submit token (cookie + ``X-CSRF-Token`` header
    or a ``_csrf`` form field) and an ``Origin``/``Referer`` check on unsafe methods;
    403 problem+json when one fails. ``request.csrf_token`` is the token for forms."""

    def __init__(
        self,
        cookie_name: str = "__Host-csrf",
        header_name: str = "X-CSRF-Token",
        safe_methods: Sequence[str] | None = None,
        allowed_origins: Sequence[str] | None = None,
        *,
        secret: str | bytes | None = None,
        exempt_paths: Sequence[str] | None = None,
        form_field: str = "_csrf",
        max_form_size: int = 64 * 1024,
        cookie_secure: bool = True,
    ) -> None:
        self.cookie_name = cookie_name
        self.header_name = header_name
        self.safe_methods = None if safe_methods is None else [m.upper() for m in safe_methods]
        self.allowed_origins = None if allowed_origins is None else list(allowed_origins)
        self.secret = _secret(secret, "CsrfConfig")
        self.exempt_paths = list(exempt_paths or [])
        self.form_field = form_field
        self.max_form_size = max_form_size
        self.cookie_secure = cookie_secure

    def _arguments(self) -> tuple[Any, ...]:
        return (
            self.cookie_name, self.header_name, self.safe_methods, self.allowed_origins, self.secret,
            self.exempt_paths, self.form_field, int(self.max_form_size), bool(self.cookie_secure),
        )
