"""Guards: access rules checked before a handler runs (docs/guards.md).

A guard is any callable ``guard(request)``, sync or async: a falsy result answers 403,
raising `cello.HTTPException` answers its status. The classes here keep that protocol:
they return True or raise `UnauthorizedError` (401: no user) or `ForbiddenError` (403:
a user, but not one allowed here), which render as ``application/problem+json``.

Example:
    >>> from cello import App
    >>> from cello.guards import Authenticated, Or, Role
    >>> app = App()
    >>> @app.get("/admin", guards=[Authenticated(), Or(Role("admin"), Role("ops"))])
    ... def admin(request):
    ...     return {"admin": True}
"""

from __future__ import annotations

import datetime as dt
import hmac
import inspect
import ipaddress
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from cello._handlers import is_async
from cello.exceptions import HTTPException

__all__ = [
    "And",
    "Authenticated",
    "AuthenticatedGuard",
    "ForbiddenError",
    "Guard",
    "GuardError",
    "IPWhitelist",
    "IpWhitelist",
    "Not",
    "Or",
    "Permission",
    "PermissionGuard",
    "Role",
    "RoleGuard",
    "TimeBasedGuard",
    "UnauthorizedError",
    "constant_time_compare",
    "verify_guards",
    "verify_guards_async",
]

GuardLike = Callable[[Any], Any]

# Statuses that mean "this guard refused": Or and Not treat them as a failed check; any
# other exception (a 429, a bug) is not a verdict and propagates.
_REFUSALS = (401, 403)


# --- errors ---------------------------------------------------------------------------


class GuardError(HTTPException):
    """A guard refused the request: an `HTTPException` with the original's argument
    order, ``GuardError(message, status_code=403)``; `message` is the problem's detail."""

    def __init__(
        self,
        message: str | None = None,
        status_code: int = 403,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status_code, message, headers)

    @property
    def message(self) -> str:
        return self.detail

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.detail!r}, status_code={self.status_code})"


class UnauthorizedError(GuardError):
    """401: the request carries no user. With a `scheme` (``"Bearer"``, ``"Basic"``) the
    response has ``WWW-Authenticate: <scheme>`` (with ``realm="..."`` when given), which
    tells the client how to authenticate."""

    def __init__(
        self,
        message: str = "authentication required",
        *,
        scheme: str | None = None,
        realm: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        merged: dict[str, str] = {}
        if scheme:
            merged["WWW-Authenticate"] = _challenge(scheme, realm)
        merged.update(headers or {})
        super().__init__(message, 401, merged)


class ForbiddenError(GuardError):
    """403: the request has a user (or needs none), but this one is not allowed."""

    def __init__(self, message: str = "access denied", headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message, 403, headers)


def _challenge(scheme: str, realm: str | None) -> str:
    if not scheme.isascii() or not scheme.replace("-", "").isalnum():
        raise ValueError(f"an authentication scheme is one token such as 'Bearer', got {scheme!r}")
    if realm is None:
        return scheme
    if any(ord(c) < 0x20 or c == "\x7f" for c in realm):
        raise ValueError(f"a realm cannot contain control characters, got {realm!r}")
    quoted = realm.replace("\\", "\\\\").replace('"', '\\"')
    return f'{scheme} realm="{quoted}"'


# --- running guards -------------------------------------------------------------------


def _name(guard: GuardLike) -> str:
    if isinstance(guard, Guard):
        return repr(guard)
    return getattr(guard, "__name__", None) or type(guard).__name__


def _passes(guard: GuardLike, verdict: Any) -> bool:
    if inspect.isawaitable(verdict):
        close = getattr(verdict, "close", None)
        if close is not None:
            close()  # never awaited: close it, so no "was never awaited" warning
        raise TypeError(
            f"guard {_name(guard)} returned an awaitable where a sync guard was expected; "
            "define it with `async def` so Cello awaits it (and use it on HTTP routes only)"
        )
    if not verdict:
        raise ForbiddenError(f"access denied by {_name(guard)}")
    return True


def _run(guard: GuardLike, request: Any) -> bool:
    """Runs a sync guard: True, or raises its refusal (a falsy result is a 403)."""
    return _passes(guard, guard(request))


async def _run_async(guard: GuardLike, request: Any) -> bool:
    verdict = guard(request)
    if inspect.isawaitable(verdict):
        verdict = await verdict
    return _passes(guard, verdict)


def _is_refusal(error: HTTPException) -> bool:
    return error.status_code in _REFUSALS


def _arguments(request: Any, guards: Any) -> tuple[Any, list[GuardLike]]:
    # The original documents verify_guards(guards, request): take both orders.
    if isinstance(request, (list, tuple)) and not isinstance(guards, (list, tuple)):
        request, guards = guards, request
    return request, list(guards)


def verify_guards(request: Any, guards: Sequence[GuardLike]) -> bool:
    """Runs sync `guards` in order, like a route does: True, or the first refusal raised
    (a falsy result is a `ForbiddenError`). An async guard is a `TypeError`: use
    `verify_guards_async`. ``verify_guards(guards, request)`` works too.

    Example:
        >>> from cello.guards import Role, verify_guards
        >>> class Request:
        ...     context = {"user": {"roles": ["admin"]}}
        >>> verify_guards(Request(), [Role("admin")])
        True
    """
    request, checks = _arguments(request, guards)
    for guard in checks:
        if is_async(guard):
            raise TypeError(f"{_name(guard)} is async: use `await verify_guards_async(request, guards)`")
        _run(guard, request)
    return True


async def verify_guards_async(request: Any, guards: Sequence[GuardLike]) -> bool:
    """`verify_guards` for a mix of sync and async guards (async ones are awaited)."""
    request, checks = _arguments(request, guards)
    for guard in checks:
        await _run_async(guard, request)
    return True


def constant_time_compare(a: str | bytes, b: str | bytes) -> bool:
    """Whether `a` equals `b`, in time that does not depend on where they differ (for
    tokens and keys; ``==`` leaks the length of the matching prefix). A str is compared
    as its UTF-8 bytes.

    Example:
        >>> from cello.guards import constant_time_compare
        >>> constant_time_compare("s3cret", b"s3cret"), constant_time_compare("a", "b")
        (True, False)
    """
    return hmac.compare_digest(_as_bytes(a), _as_bytes(b))


def _as_bytes(value: str | bytes) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"constant_time_compare compares str or bytes, got {type(value).__name__}")


# --- the base class -------------------------------------------------------------------


class Guard:
    """Base class for guards: implement ``check(request) -> bool`` (``def`` or
    ``async def``). Calling the guard runs `check`; False raises `ForbiddenError` with
    `detail` (or a message naming the guard). `check` may also raise `GuardError` or
    `HTTPException` itself. A subclass with ``async def check`` is an async guard (HTTP
    routes only: WebSocket handshakes need sync guards).

    Example:
        >>> from cello.guards import Guard
        >>> class HeaderGuard(Guard):
        ...     detail = "send X-Beta: 1 to try the beta"
        ...     def check(self, request):
        ...         return request.headers.get("x-beta") == "1"
    """

    #: The 403 detail when `check` returns False.
    detail: str | None = None

    def check(self, request: Any) -> bool | Awaitable[bool]:
        raise NotImplementedError(f"{type(self).__name__} must implement check(request) -> bool")

    def __call__(self, request: Any) -> Any:
        return self._verdict(self.check(request))

    async def _call_async(self, request: Any) -> bool:
        result = self.check(request)
        if inspect.isawaitable(result):
            result = await result
        return self._verdict(result)

    def _verdict(self, result: Any) -> bool:
        if inspect.isawaitable(result):
            return _passes(self, result)  # raises the TypeError that explains
        if not result:
            raise ForbiddenError(self.detail or f"access denied by {self!r}")
        return True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Cello decides once, at registration, whether a guard is awaited: from whether
        # its type's __call__ is a coroutine function. So an `async def check` gets the
        # async __call__, unless the subclass wrote its own __call__.
        if cls.__call__ in (Guard.__call__, Guard._call_async):
            chosen = Guard._call_async if inspect.iscoroutinefunction(cls.check) else Guard.__call__
            setattr(cls, "__call__", chosen)  # noqa: B010 - mypy refuses assigning a method

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


# --- who the user is ------------------------------------------------------------------


def _user_of(request: Any, user_key: str) -> Any:
    """``request.context[user_key]``, else ``request.user``; None when neither is set."""
    context = getattr(request, "context", None)
    if isinstance(context, Mapping):
        user = context.get(user_key)
        if user is not None:
            return user
    return getattr(request, "user", None)


def _held(user: Any, key: str) -> frozenset[str]:
    """The user's roles or permissions: a list, tuple, set or frozenset of strings, or
    one string (one name: it is not split). Anything else holds nothing."""
    value = user.get(key) if isinstance(user, Mapping) else getattr(user, key, None)
    if isinstance(value, str):
        return frozenset((value,))
    if isinstance(value, (list, tuple, set, frozenset)):
        return frozenset(item for item in value if isinstance(item, str))
    return frozenset()


def _names(value: str | Iterable[str], what: str, owner: str) -> tuple[str, ...]:
    names = (value,) if isinstance(value, str) else tuple(value)
    if not names:
        raise ValueError(f"{owner}() needs at least one {what}")
    for name in names:
        if not isinstance(name, str) or not name:
            raise TypeError(f"{owner}() takes {what} names as non-empty strings, got {name!r}")
    return names


class _UserGuard(Guard):
    def __init__(self, user_key: str, scheme: str | None, realm: str | None) -> None:
        self.user_key = user_key
        self.scheme = scheme
        self.realm = realm
        if scheme:
            _challenge(scheme, realm)  # a bad scheme fails here, not on the first request

    def _user(self, request: Any) -> Any:
        user = _user_of(request, self.user_key)
        if user is None:
            raise UnauthorizedError(scheme=self.scheme, realm=self.realm)
        return user


class Authenticated(_UserGuard):
    """Allows any request that has a user (see docs/guards.md for where it is looked
    up); 401 `UnauthorizedError` otherwise. `scheme`/`realm` fill ``WWW-Authenticate``."""

    def __init__(self, user_key: str = "user", *, scheme: str | None = None, realm: str | None = None) -> None:
        super().__init__(user_key, scheme, realm)

    def check(self, request: Any) -> bool:
        self._user(request)
        return True


class _Holds(_UserGuard):
    """Role and Permission: the user must hold any (or all) of `required` under `key`."""

    what = "name"
    all_by_default = False

    def __init__(
        self, required: str | Iterable[str], require_all: bool, user_key: str, key: str,
        scheme: str | None, realm: str | None,
    ) -> None:
        super().__init__(user_key, scheme, realm)
        self.required = _names(required, self.what, type(self).__name__)
        self.require_all = require_all
        self.key = key

    def check(self, request: Any) -> bool:
        held = _held(self._user(request), self.key)
        missing = [name for name in self.required if name not in held]
        if self.require_all and missing:
            raise ForbiddenError(f"requires the {self._listed(missing)}")
        if not self.require_all and len(missing) == len(self.required):
            one_of = "" if len(self.required) == 1 else "one of "
            raise ForbiddenError(f"requires {one_of}the {self._listed(self.required)}")
        return True

    def _listed(self, names: Sequence[str]) -> str:
        plural = "s" if len(names) > 1 else ""
        return f"{self.what}{plural} " + ", ".join(repr(name) for name in names)

    def __repr__(self) -> str:
        option = "" if self.require_all == self.all_by_default else f", require_all={self.require_all}"
        return f"{type(self).__name__}({list(self.required)!r}{option})"


class Role(_Holds):
    """Allows users holding any of `roles` (all of them with ``require_all=True``).

    Roles are ``user[role_key]`` for a dict user, ``user.<role_key>`` otherwise: a list,
    tuple or set of strings, or a single string (one role, not split). No user is a 401;
    a user without the roles (or with malformed roles) is a 403.

    Example:
        >>> from cello.guards import Role
        >>> admin_only = Role(["admin"])
        >>> editors = Role(["editor", "reviewer"], require_all=True)
    """

    what = "role"

    def __init__(
        self, roles: str | Iterable[str], require_all: bool = False, user_key: str = "user",
        role_key: str = "roles", *, scheme: str | None = None, realm: str | None = None,
    ) -> None:
        super().__init__(roles, require_all, user_key, role_key, scheme, realm)

    @property
    def roles(self) -> tuple[str, ...]:
        return self.required


class Permission(_Holds):
    """Allows users holding all of `permissions` (any of them with
    ``require_all=False``), read from ``user[perm_key]`` like `Role` reads roles.

    Example:
        >>> from cello.guards import Permission
        >>> can_publish = Permission(["articles:write", "articles:publish"])
    """

    what = "permission"
    all_by_default = True

    def __init__(
        self, permissions: str | Iterable[str], require_all: bool = True, user_key: str = "user",
        perm_key: str = "permissions", *, scheme: str | None = None, realm: str | None = None,
    ) -> None:
        super().__init__(permissions, require_all, user_key, perm_key, scheme, realm)

    @property
    def permissions(self) -> tuple[str, ...]:
        return self.required


RoleGuard = Role
PermissionGuard = Permission
AuthenticatedGuard = Authenticated


# --- combinators ----------------------------------------------------------------------


def _members(guards: tuple[Any, ...], owner: str) -> list[GuardLike]:
    # And(a, b) and the original's And([a, b]) alike.
    if len(guards) == 1 and isinstance(guards[0], (list, tuple)):
        guards = tuple(guards[0])
    if not guards:
        raise ValueError(f"{owner}() needs at least one guard")
    for guard in guards:
        if not callable(guard):
            raise TypeError(f"{owner}() takes guards (callables), got {guard!r}")
    return list(guards)


class _Combinator(Guard):
    """And/Or: the async variant is picked at construction when a member is async,
    because Cello reads async-ness from the guard's type."""

    #: How messages name the combinator (the async variants are still "And"/"Or").
    label = "Combinator"

    # Not Self: And(...) may return the async subclass (still an And). Validation is
    # left to __init__, so copy.copy (which calls __new__ with no arguments) works.
    def __new__(cls, *guards: Any) -> _Combinator:  # noqa: PYI034
        members = guards[0] if len(guards) == 1 and isinstance(guards[0], (list, tuple)) else guards
        variant = _ASYNC_VARIANTS.get(cls)  # And and Or themselves, not user subclasses
        if variant is not None and any(callable(g) and is_async(g) for g in members):
            return object.__new__(variant)
        return object.__new__(cls)

    def __init__(self, *guards: GuardLike | Sequence[GuardLike]) -> None:
        self.guards = _members(guards, self.label)

    def __repr__(self) -> str:
        return f"{self.label}({', '.join(_name(g) for g in self.guards)})"


class And(_Combinator):
    """Allows the request when every guard does; the first refusal is the answer.
    ``And(a, b)`` and ``And([a, b])`` are the same. Async when a member is."""

    label = "And"

    def __call__(self, request: Any) -> bool:
        for guard in self.guards:
            _run(guard, request)
        return True


class _AsyncAnd(And):
    async def __call__(self, request: Any) -> bool:  # type: ignore[override]
        for guard in self.guards:
            await _run_async(guard, request)
        return True


def _none_passed(refusals: list[HTTPException]) -> HTTPException:
    # Authenticating could satisfy an alternative that wanted a user: say so (401).
    for refusal in refusals:
        if refusal.status_code == 401:
            return refusal
    return ForbiddenError("no alternative allowed the request: " + "; ".join(r.detail for r in refusals))


class Or(_Combinator):
    """Allows the request when any guard does (tried in order, stopping at the first
    that passes). When none does: 401 if one of them wanted a user, else 403 listing
    the refusals. Exceptions other than 401/403 propagate. Async when a member is."""

    label = "Or"

    def __call__(self, request: Any) -> bool:
        refusals: list[HTTPException] = []
        for guard in self.guards:
            try:
                return _run(guard, request)
            except HTTPException as refusal:
                if not _is_refusal(refusal):
                    raise
                refusals.append(refusal)
        raise _none_passed(refusals)


class _AsyncOr(Or):
    async def __call__(self, request: Any) -> bool:  # type: ignore[override]
        refusals: list[HTTPException] = []
        for guard in self.guards:
            try:
                return await _run_async(guard, request)
            except HTTPException as refusal:
                if not _is_refusal(refusal):
                    raise
                refusals.append(refusal)
        raise _none_passed(refusals)


_ASYNC_VARIANTS: dict[type[_Combinator], type[_Combinator]] = {And: _AsyncAnd, Or: _AsyncOr}


class Not(Guard):
    """Allows the request when `guard` refuses it (a falsy result, a 401 or a 403), and
    answers 403 with `message` when it allows it. ``Not(Role("banned"))`` lets anonymous
    requests through: pair it with `Authenticated` to require a user. Async when
    `guard` is."""

    def __new__(cls, guard: GuardLike | None = None, message: str | None = None) -> Not:  # noqa: PYI034
        async_inner = cls is Not and callable(guard) and is_async(guard)
        return object.__new__(_AsyncNot if async_inner else cls)

    def __init__(self, guard: GuardLike, message: str | None = None) -> None:
        if not callable(guard):
            raise TypeError(f"Not() takes a guard (a callable), got {guard!r}")
        self.guard = guard
        self.message = message

    def _allowed(self) -> ForbiddenError:
        return ForbiddenError(self.message or f"access denied by {self!r}")

    def __call__(self, request: Any) -> bool:
        try:
            _run(self.guard, request)
        except HTTPException as refusal:
            if _is_refusal(refusal):
                return True
            raise
        raise self._allowed()

    def __repr__(self) -> str:
        return f"Not({_name(self.guard)})"


class _AsyncNot(Not):
    async def __call__(self, request: Any) -> bool:  # type: ignore[override]
        try:
            await _run_async(self.guard, request)
        except HTTPException as refusal:
            if _is_refusal(refusal):
                return True
            raise
        raise self._allowed()


# --- network and time -----------------------------------------------------------------

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _network(text: str, owner: str) -> _Network:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except (ValueError, TypeError, AttributeError):
        raise ValueError(f"{owner}: {text!r} is not an IP address or CIDR network (10.0.0.0/8)") from None


def _address(text: Any) -> _Address | None:
    try:
        address = ipaddress.ip_address(str(text).strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1
    return address


class IpWhitelist(Guard):
    """Allows only clients whose address is in `allowed` (addresses or CIDR networks,
    IPv4 or IPv6); 403 otherwise, and when the address is unknown (the in-process
    `TestClient` has none).

    The address is the socket's peer (``request.client.host``). Behind a reverse proxy,
    list the proxy in `trusted_proxies`: from a trusted peer, the client is the
    rightmost ``X-Forwarded-For`` entry that is not itself a trusted proxy. From anyone
    else the header is ignored, as a client could write anything there.

    Example:
        >>> from cello.guards import IpWhitelist
        >>> internal = IpWhitelist(["10.0.0.0/8", "192.168.1.7"], trusted_proxies=["127.0.0.1"])
    """

    def __init__(
        self, allowed: str | Iterable[str], *, trusted_proxies: Iterable[str] = (),
        message: str | None = None,
    ) -> None:
        entries = [allowed] if isinstance(allowed, str) else list(allowed)
        if not entries:
            raise ValueError("IpWhitelist() needs at least one address or network")
        self.networks = tuple(_network(entry, "IpWhitelist") for entry in entries)
        proxies = [trusted_proxies] if isinstance(trusted_proxies, str) else list(trusted_proxies)
        self.trusted_proxies = tuple(_network(entry, "IpWhitelist") for entry in proxies)
        self.message = message

    def client_address(self, request: Any) -> _Address | None:
        """The client's address as this guard sees it, or None when unknown."""
        client = getattr(request, "client", None)
        if client is None:
            return None
        host = getattr(client, "host", None)
        if host is None and isinstance(client, (tuple, list)) and client:
            host = client[0]
        address = _address(host) if host is not None else None
        if address is None or not self._trusted(address):
            return address
        headers = getattr(request, "headers", None)
        getlist = getattr(headers, "getlist", None)
        values = getlist("x-forwarded-for") if getlist else [headers.get("x-forwarded-for")] if headers else []
        hops = [hop for value in values if value for hop in value.split(",")]
        for hop in reversed(hops):
            forwarded = _address(hop)
            if forwarded is None:
                return None  # a garbled chain names nobody we can trust
            if not self._trusted(forwarded):
                return forwarded
            address = forwarded
        return address

    def _trusted(self, address: _Address) -> bool:
        return any(address in network for network in self.trusted_proxies)

    def check(self, request: Any) -> bool:
        address = self.client_address(request)
        if address is None:
            raise ForbiddenError(self.message or "the client's address is unknown")
        if not any(address in network for network in self.networks):
            raise ForbiddenError(self.message or f"client address {address} is not allowed")
        return True

    def __repr__(self) -> str:
        return f"IpWhitelist({[str(n) for n in self.networks]!r})"


IPWhitelist = IpWhitelist

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _seconds(value: int | dt.time, name: str, top: int) -> int:
    if isinstance(value, dt.time):
        return value.hour * 3600 + value.minute * 60 + value.second
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
        raise ValueError(f"TimeBasedGuard {name} is an hour (0-{top}) or a datetime.time, got {value!r}")
    return value * 3600


def _weekday(day: int | str) -> int:
    if isinstance(day, str) and day[:3].lower() in _DAYS:
        return _DAYS.index(day[:3].lower())
    if isinstance(day, int) and not isinstance(day, bool) and 0 <= day <= 6:
        return day
    raise ValueError(f"TimeBasedGuard weekdays are 0 (Monday) to 6 (Sunday) or names ('mon'), got {day!r}")


def _clock_text(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


class TimeBasedGuard(Guard):
    """Allows requests only from `start` to `end` (hours, or `datetime.time`; the end
    is excluded; ``start=22, end=6`` spans midnight), on `weekdays` (0 = Monday, or
    ``"mon"``...; every day by default), in `timezone` (an IANA name or a tzinfo; UTC by
    default); 403 otherwise. `clock` returns the current time (for tests; a naive value
    is taken as local time in `timezone`).

    Example:
        >>> from cello.guards import TimeBasedGuard
        >>> office_hours = TimeBasedGuard(9, 17, weekdays=range(5), timezone="Europe/Paris")
    """

    def __init__(
        self, start: int | dt.time = 9, end: int | dt.time = 17, *,
        weekdays: Iterable[int | str] | None = None, timezone: str | dt.tzinfo | None = None,
        clock: Callable[[], dt.datetime] | None = None, message: str | None = None,
    ) -> None:
        self.start = _seconds(start, "start", 23)
        self.end = _seconds(end, "end", 24)
        if self.start == self.end:
            raise ValueError("TimeBasedGuard start and end are equal: the window would be empty")
        self.weekdays = None if weekdays is None else frozenset(_weekday(day) for day in weekdays)
        if self.weekdays is not None and not self.weekdays:
            raise ValueError("TimeBasedGuard weekdays is empty: no day would be allowed")
        self.timezone: dt.tzinfo = ZoneInfo(timezone) if isinstance(timezone, str) else timezone or dt.UTC
        self.clock = clock
        self.message = message

    def _now(self) -> dt.datetime:
        if self.clock is None:
            return dt.datetime.now(self.timezone)
        now = self.clock()
        return now.replace(tzinfo=self.timezone) if now.tzinfo is None else now.astimezone(self.timezone)

    def check(self, request: Any) -> bool:
        now = self._now()
        moment = now.hour * 3600 + now.minute * 60 + now.second
        if self.start < self.end:
            inside = self.start <= moment < self.end
        else:
            inside = moment >= self.start or moment < self.end
        if inside and (self.weekdays is None or now.weekday() in self.weekdays):
            return True
        raise ForbiddenError(self.message or f"open {self._window()} only")

    def _window(self) -> str:
        text = f"{_clock_text(self.start)}-{_clock_text(self.end)} {self.timezone}"
        if self.weekdays is not None:
            text += " on " + ", ".join(_DAYS[day].capitalize() for day in sorted(self.weekdays))
        return text

    def __repr__(self) -> str:
        return f"TimeBasedGuard({self._window()!r})"
