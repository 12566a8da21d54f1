"""``securitySchemes`` from the authentication the app (or a blueprint) enabled.

The registrar records what each ``enable_*`` was given under ``_auth_scheme``: a dict
with ``kind`` (``"jwt"``, ``"basic"``, ``"api_key"``), and ``header``, ``prefix``,
``cookie`` and ``skip_paths`` where they apply. An owner that recorded nothing but has
an authentication layer is described from the layer's kind with the defaults. Sessions
(``enable_session``) are an API key in their cookie.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["Security", "auth_scheme"]

_DEFAULT_HEADERS = {"jwt": "Authorization", "basic": "Authorization", "api_key": "X-API-Key"}


def auth_scheme(owner: Any) -> dict[str, Any] | None:
    """What authentication `owner` (an app or blueprint) requires, or ``None``."""
    recorded = owner.__dict__.get("_auth_scheme")
    if recorded is not None:
        return dict(recorded)
    factory = owner.__dict__.get("_middleware", {}).get("authentication")
    if factory is None:
        return None
    # The native spec names its kind in its repr: "<Middleware jwt>", "<Middleware api key>".
    match = re.search(r"<Middleware ([^>]+)>", repr(factory()))
    kind = {"basic auth": "basic", "api key": "api_key"}.get(match.group(1) if match else "", "jwt")
    return {"kind": kind, "header": _DEFAULT_HEADERS.get(kind, "Authorization"), "skip_paths": []}


def _scheme_object(scheme: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    kind = scheme["kind"]
    header = scheme.get("header") or _DEFAULT_HEADERS.get(kind, "Authorization")
    if kind == "basic":
        return "basicAuth", {"type": "http", "scheme": "basic"}
    if kind == "api_key":
        return "apiKeyAuth", {"type": "apiKey", "in": "header", "name": header}
    if header.lower() == "authorization" and (scheme.get("prefix") or "Bearer").lower() == "bearer":
        return "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    if scheme.get("cookie") and not header:
        return "jwtCookie", {"type": "apiKey", "in": "cookie", "name": scheme["cookie"]}
    return "jwtHeader", {"type": "apiKey", "in": "header", "name": header, "description": "a JWT"}


def _skipped(path: str, skip_paths: list[str]) -> bool:
    """The layer's rule: ``/health`` covers ``/health`` and ``/health/...``; a trailing
    ``*`` is a plain prefix."""
    for skip in skip_paths:
        if skip.endswith("*"):
            if path.startswith(skip[:-1]):
                return True
        elif path == skip or path.startswith(skip.rstrip("/") + "/"):
            return True
    return False


class Security:
    """The schemes of one document, and each operation's requirement."""

    def __init__(self, app: Any) -> None:
        self.schemes: dict[str, dict[str, Any]] = {}
        self.global_requirement: list[dict[str, list[str]]] = []
        self._app_scheme = auth_scheme(app)
        if self._app_scheme is not None:
            name = self._add(self._app_scheme)
            self.global_requirement = [{name: []}]
        session = app.__dict__.get("_session_config")
        if session is not None:
            self.schemes["sessionCookie"] = {
                "type": "apiKey", "in": "cookie", "name": session.cookie_name,
            }

    def _add(self, scheme: dict[str, Any]) -> str:
        name, value = _scheme_object(scheme)
        self.schemes[name] = value
        return name

    def operation(self, path: str, owners: tuple[Any, ...]) -> list[dict[str, list[str]]] | None:
        """The ``security`` of an operation on `path` whose blueprints are `owners`:
        ``None`` when the global requirement applies, ``[]`` when nothing is needed."""
        requirement: dict[str, list[str]] = {}
        app_scheme = self._app_scheme
        if app_scheme is not None and not _skipped(path, list(app_scheme.get("skip_paths") or [])):
            requirement.update(self.global_requirement[0])
        for owner in owners:
            scheme = auth_scheme(owner)
            if scheme is not None and not _skipped(path, list(scheme.get("skip_paths") or [])):
                requirement[self._add(scheme)] = []
        if not requirement:
            return [] if app_scheme is not None else None
        if self.global_requirement and requirement == self.global_requirement[0]:
            return None
        return [requirement]

    def requires(self, path: str, owners: tuple[Any, ...]) -> bool:
        """Whether a request to `path` must authenticate."""
        requirement = self.operation(path, owners)
        if requirement is None:
            return bool(self.global_requirement)
        return bool(requirement)
