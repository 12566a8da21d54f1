"""Blueprints: groups of routes with a shared prefix and guards."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any, NoReturn

from cello._routing import Guard, RouteRecord, RouteRegistrar
from cello.middleware._registrar import MiddlewareRegistrar

__all__ = ["Blueprint"]


def join_paths(prefix: str, path: str) -> str:
    """``"/users" + "/{id}"`` → ``"/users/{id}"``; ``"/users" + "/"`` → ``"/users/"``."""
    if not prefix:
        return path
    return prefix.rstrip("/") + (path if path.startswith("/") else "/" + path)


class Blueprint(MiddlewareRegistrar, RouteRegistrar):
    """Routes grouped under a URL prefix, registered on an app (or another blueprint).

    A blueprint's own built-in middleware (``bp.enable_cors(...)``,
    ``bp.enable_rate_limit(...)``, ``bp.enable_jwt(...)``...) applies to its routes
    (and nested blueprints') only, inside the app's middleware. CORS preflights to its
    routes are answered by it; 404s and 405s, which belong to no route, are not.

    Both forms work: ``Blueprint("/users")`` (the prefix) and
    ``Blueprint("api", url_prefix="/api/v1")`` (a name and a prefix).

    Example:
        >>> from cello import App, Blueprint
        >>> users = Blueprint("/users")
        >>> @users.get("/{id}")
        ... def get_user(request):
        ...     return {"id": request.params["id"]}
        >>> app = App()
        >>> app.register_blueprint(users)  # GET /users/{id}
    """

    def __init__(
        self,
        name_or_prefix: str = "",
        url_prefix: str | None = None,
        *,
        guards: Sequence[Guard] | None = None,
    ) -> None:
        if url_prefix is None and name_or_prefix.startswith("/"):
            self.name = name_or_prefix.strip("/").replace("/", ".") or "root"
            self.url_prefix = name_or_prefix
        else:
            self.name = name_or_prefix
            self.url_prefix = url_prefix or ""
        if self.url_prefix and not self.url_prefix.startswith("/"):
            raise ValueError(f"url_prefix must start with '/', got {self.url_prefix!r}")
        self.guards: list[Guard] = list(guards or [])
        self._records: list[RouteRecord] = []
        self._children: list[Blueprint] = []

    def _register(self, record: RouteRecord) -> None:
        self._refuse_if_registered("routes")
        self._records.append(record)

    def _refuse_if_registered(self, what: str) -> None:
        if self.__dict__.get("_registered"):
            raise RuntimeError(
                f"{self!r} is already registered: add its {what} before "
                "app.register_blueprint(...), which copies them"
            )

    def register_blueprint(self, blueprint: Blueprint) -> None:
        """Nests `blueprint` under this one's prefix."""
        if blueprint is self:
            raise ValueError("a blueprint cannot be registered on itself")
        self._children.append(blueprint)

    def add_guard(self, guard: Guard) -> None:
        """Adds a guard to every route of this blueprint (and nested ones)."""
        self._refuse_if_registered("guards")
        self.guards.append(guard)

    def records(
        self, prefix: str = "", guards: Sequence[Guard] = (), owners: tuple[Any, ...] = ()
    ) -> Iterator[RouteRecord]:
        """Every route with the prefixes, guards and middleware of the enclosing
        blueprints applied."""
        self._registered = True
        full_prefix = join_paths(prefix, self.url_prefix) if self.url_prefix else prefix
        inherited = [*guards, *self.guards]
        if self._middleware_specs_factories():
            owners = (*owners, self)
        for record in self._records:
            yield replace(
                record,
                path=join_paths(full_prefix, record.path),
                guards=[*inherited, *record.guards],
                middleware_owners=owners,
            )
        for child in self._children:
            yield from child.records(full_prefix, inherited, owners)

    def _middleware_specs_factories(self) -> bool:
        return bool(self.__dict__.get("_middleware"))

    def _app_only(self, name: str) -> NoReturn:
        raise TypeError(f"{name}() is app-wide: call it on the App, not on a Blueprint")

    def middleware(self, kind: str = "http") -> NoReturn:
        self._app_only("middleware")

    def before_request(self, hook: Any) -> NoReturn:
        self._app_only("before_request")

    def after_request(self, hook: Any) -> NoReturn:
        self._app_only("after_request")

    def enable_logging(self, level: int = 0) -> NoReturn:
        self._app_only("enable_logging")

    def enable_body_limit(self, max_size: int) -> NoReturn:
        raise TypeError("enable_body_limit() is app-wide; give the blueprint's routes body_limit=")

    def set_store(self, store: Any) -> NoReturn:
        self._app_only("set_store")

    def set_trusted_proxies(self, proxies: Any, trust_x_real_ip: bool = False) -> NoReturn:
        self._app_only("set_trusted_proxies")

    def invalidate_cache(self, tags: Any) -> NoReturn:
        self._app_only("invalidate_cache")

    def enable_caching(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("enable_caching() is app-wide (invalidate_cache reaches the app's cache); "
                        "use @cache on the blueprint's routes")

    def __repr__(self) -> str:
        return f"Blueprint(name={self.name!r}, url_prefix={self.url_prefix!r})"
