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

from cello.guards._context import IPWhitelist, IpWhitelist, TimeBasedGuard
from cello.guards._core import (
    And,
    Authenticated,
    AuthenticatedGuard,
    ForbiddenError,
    Guard,
    GuardError,
    Not,
    Or,
    Permission,
    PermissionGuard,
    Role,
    RoleGuard,
    UnauthorizedError,
    constant_time_compare,
    verify_guards,
    verify_guards_async,
)

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
