"""The guard protocol, its errors, the base class, user guards and combinators
(re-exported by `cello.guards`)."""


from __future__ import annotations

import hmac
import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

from cello._handlers import is_async
from cello.exceptions import HTTPException

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


