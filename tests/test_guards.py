"""`cello.guards` through the engine: 401 (no user) vs 403 (the wrong user) vs 200 for
Role/Permission/Authenticated, the combinators (sync and async), custom guards, the
order global → blueprint → route, WebSocket handshakes, IpWhitelist over a real socket,
TimeBasedGuard with a fixed clock, users from real JWT middleware, and seed 001's
REST API example run unchanged."""

from __future__ import annotations

import asyncio
import base64
import copy
import datetime as dt
import hashlib
import hmac
import json
import re
import runpy
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from cello import App, Blueprint, HTTPException, JwtConfig, Response
from cello._handlers import is_async
from cello.guards import (
    And,
    Authenticated,
    AuthenticatedGuard,
    ForbiddenError,
    Guard,
    GuardError,
    IPWhitelist,
    IpWhitelist,
    Not,
    Or,
    Permission,
    PermissionGuard,
    Role,
    RoleGuard,
    TimeBasedGuard,
    UnauthorizedError,
    constant_time_compare,
    verify_guards,
    verify_guards_async,
)
from cello.testing import LiveServer, TestClient, WebSocketRejected

SEED_001_REST_API = '''
from cello import App, Response, Blueprint
from cello.guards import RoleGuard
app = App()
api = Blueprint("api", url_prefix="/api/v1")
admin_only = RoleGuard(["admin"])
@api.get("/users")
def list_users(request):
    return {"users": [{"id": 1, "name": "Alice"}]}
@api.post("/users", guards=[admin_only])
def create_user(request):
    data = request.json()
    return Response.json({"created": True, **data}, status=201)
@api.get("/users/{id}")
def get_user(request):
    return {"id": request.params["id"]}
app.register_blueprint(api)
'''


def as_user(user: Any) -> dict[str, str]:
    """Headers that `users_from_header` turns into ``request.context["user"]``."""
    return {"x-test-user": json.dumps(user)}


def users_from_header(app: App) -> None:
    """Stands in for authentication middleware: a before_request hook (it runs before
    the guards) puts the user from a test header in the context."""

    @app.before_request
    def load_user(request):
        raw = request.headers.get("x-test-user")
        if raw is not None:
            request.context["user"] = json.loads(raw)


def guarded_app(*guards: Any) -> App:
    app = App()
    users_from_header(app)

    @app.get("/guarded", guards=list(guards))
    def guarded(request):
        return {"ok": True}

    return app


def status(app: App, user: Any = None, **options: Any) -> int:
    headers = as_user(user) if user is not None else {}
    with TestClient(app) as client:
        return client.get("/guarded", headers=headers, **options).status_code


def test_seed_001_rest_api_example() -> None:
    namespace: dict[str, Any] = {}
    exec(compile(SEED_001_REST_API, "seed-001", "exec"), namespace)  # noqa: S102 - the seed's text
    app: App = namespace["app"]
    users_from_header(app)
    with TestClient(app) as client:
        assert client.get("/api/v1/users").json() == {"users": [{"id": 1, "name": "Alice"}]}
        assert client.get("/api/v1/users/7").json() == {"id": "7"}
        anonymous = client.post("/api/v1/users", json={"name": "Bob"})
        assert anonymous.status_code == 401
        viewer = client.post("/api/v1/users", json={"name": "Bob"}, headers=as_user({"roles": ["viewer"]}))
        assert viewer.status_code == 403
        admin = client.post("/api/v1/users", json={"name": "Bob"}, headers=as_user({"roles": ["admin"]}))
        assert admin.status_code == 201
        assert admin.json() == {"created": True, "name": "Bob"}


def test_aliases_are_the_classes() -> None:
    assert RoleGuard is Role and PermissionGuard is Permission
    assert AuthenticatedGuard is Authenticated and IPWhitelist is IpWhitelist


@pytest.mark.parametrize(
    ("require_all", "user", "expected"),
    [
        (False, None, 401),
        (False, {"roles": ["viewer"]}, 403),
        (False, {"roles": ["editor"]}, 200),
        (False, {"roles": ["viewer", "admin"]}, 200),
        (True, {"roles": ["editor"]}, 403),
        (True, {"roles": ["admin", "editor", "viewer"]}, 200),
        (True, {}, 403),
    ],
)
def test_role_any_or_all(require_all: bool, user: Any, expected: int) -> None:
    assert status(guarded_app(Role(["admin", "editor"], require_all=require_all)), user) == expected


@pytest.mark.parametrize(
    ("require_all", "user", "expected"),
    [
        (True, None, 401),
        (True, {"permissions": ["posts:read"]}, 403),
        (True, {"permissions": ["posts:read", "posts:write"]}, 200),
        (False, {"permissions": ["posts:write"]}, 200),
        (False, {"permissions": ["users:delete"]}, 403),
        (False, {"roles": ["posts:read"]}, 403),
    ],
)
def test_permission_all_by_default_or_any(require_all: bool, user: Any, expected: int) -> None:
    guard = Permission(["posts:read", "posts:write"], require_all=require_all)
    assert status(guarded_app(guard), user) == expected


def test_permission_requires_all_by_default_and_custom_keys() -> None:
    assert Permission(["a", "b"]).require_all is True and Role(["a", "b"]).require_all is False
    guard = Permission("billing", user_key="account", perm_key="scopes")
    app = App()

    @app.before_request
    def load_account(request):
        request.context["account"] = {"scopes": ["billing"]}

    @app.get("/guarded", guards=[guard, Role("ops", user_key="account", role_key="groups")])
    def guarded(request):
        return {"ok": True}

    with TestClient(app) as client:
        refused = client.get("/guarded")
        assert refused.status_code == 403
        assert refused.json()["detail"] == "requires the role 'ops'"


def test_authenticated() -> None:
    app = guarded_app(Authenticated())
    assert status(app) == 401
    assert status(app, {"sub": "alice"}) == 200
    assert status(app, {}) == 200  # a user with no claims is still a user
    assert status(app, "alice") == 200  # an API key holder's name


def test_problem_json_and_www_authenticate() -> None:
    app = guarded_app(Role("admin", scheme="Bearer", realm="api"))
    with TestClient(app) as client:
        missing = client.get("/guarded")
        assert missing.status_code == 401
        assert missing.headers["content-type"] == "application/problem+json"
        assert missing.headers["www-authenticate"] == 'Bearer realm="api"'
        assert missing.json() == {
            "type": "about:blank", "title": "Unauthorized", "status": 401,
            "detail": "authentication required",
        }
        wrong = client.get("/guarded", headers=as_user({"roles": ["viewer"]}))
        assert wrong.status_code == 403 and "www-authenticate" not in wrong.headers
        assert wrong.json() == {
            "type": "about:blank", "title": "Forbidden", "status": 403,
            "detail": "requires the role 'admin'",
        }
    with TestClient(guarded_app(Authenticated())) as client:
        assert "www-authenticate" not in client.get("/guarded").headers  # no scheme, no header


def test_error_classes() -> None:
    assert issubclass(UnauthorizedError, GuardError) and issubclass(ForbiddenError, GuardError)
    assert issubclass(GuardError, HTTPException)
    error = GuardError("quota exhausted", status_code=402)
    assert (error.status_code, error.message, error.detail) == (402, "quota exhausted", "quota exhausted")
    assert ForbiddenError().status_code == 403 and ForbiddenError().detail == "access denied"
    assert UnauthorizedError(scheme="Basic").headers == {"WWW-Authenticate": "Basic"}
    assert UnauthorizedError(scheme="Bearer", realm='say "hi"').headers["WWW-Authenticate"] == (
        'Bearer realm="say \\"hi\\""'
    )
    with pytest.raises(ValueError, match="one token"):
        UnauthorizedError(scheme="Bearer realm")
    with pytest.raises(ValueError, match="control characters"):
        Authenticated(scheme="Bearer", realm="a\r\nSet-Cookie: x=1")


def test_guard_error_can_be_handled_like_the_originals_docs() -> None:
    app = guarded_app(Role("admin"))

    @app.exception_handler(GuardError)
    def handle_guard_error(request, exc):
        return Response.json({"title": "Access Denied", "status": exc.status_code, "detail": exc.message},
                             status=exc.status_code)

    with TestClient(app) as client:
        response = client.get("/guarded")
        assert response.status_code == 401
        assert response.json() == {"title": "Access Denied", "status": 401, "detail": "authentication required"}


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        (None, 403),
        (5, 403),
        ({"admin": True}, 403),
        ([1, None, {"x": 1}], 403),
        ([1, "admin"], 200),
        ("admin", 200),  # a single string is one role
        ("viewer,admin", 403),  # and it is not split
        ("admin viewer", 403),
        (["Admin"], 403),  # names are case-sensitive
    ],
)
def test_malformed_or_unusual_roles_are_403_never_500(roles: Any, expected: int) -> None:
    assert status(guarded_app(Role("admin")), {"roles": roles}) == expected


def test_users_that_are_objects_strings_or_lists() -> None:
    app = App()
    users = {
        "object": SimpleNamespace(roles=("admin",)),
        "object-set": SimpleNamespace(roles={"admin", "ops"}),
        "object-none": SimpleNamespace(roles=None),
        "plain": "alice",
        "list": ["admin"],
        "number": 42,
    }

    @app.before_request
    def load(request):
        request.context["user"] = users[request.headers["x-kind"]]

    @app.get("/guarded", guards=[Role("admin")])
    def guarded(request):
        return {"ok": True}

    with TestClient(app) as client:
        seen = {kind: client.get("/guarded", headers={"x-kind": kind}).status_code for kind in users}
    assert seen == {"object": 200, "object-set": 200, "object-none": 403, "plain": 403,
                    "list": 403, "number": 403}


def test_request_user_is_the_fallback() -> None:
    seen: list[int] = []
    request = SimpleNamespace(context={}, user={"roles": ["admin"]})
    seen.append(Role("admin")(request))
    request = SimpleNamespace(context={"user": {"roles": ["viewer"]}}, user={"roles": ["admin"]})
    with pytest.raises(ForbiddenError):
        Role("admin")(request)  # the context comes first
    with pytest.raises(UnauthorizedError):
        Role("admin")(SimpleNamespace())  # neither attribute
    assert seen == [True]


def test_and_or_not() -> None:
    admin_writer = And(Role("admin"), Permission("write"))
    assert status(guarded_app(admin_writer), {"roles": ["admin"], "permissions": ["write"]}) == 200
    assert status(guarded_app(admin_writer), {"roles": ["admin"]}) == 403
    assert status(guarded_app(admin_writer)) == 401
    listed = And([Role("admin"), Permission("write")])  # the original's list form
    assert status(guarded_app(listed), {"roles": ["admin"], "permissions": ["write"]}) == 200

    admin_or_mod = Or(Role("admin"), Role("moderator"))
    assert status(guarded_app(admin_or_mod), {"roles": ["moderator"]}) == 200
    assert status(guarded_app(admin_or_mod), {"roles": ["viewer"]}) == 403
    assert status(guarded_app(Or([Role("admin"), lambda request: True]))) == 200

    not_banned = Not(Role("banned"))
    assert status(guarded_app(not_banned), {"roles": ["user"]}) == 200
    assert status(guarded_app(not_banned), {"roles": ["banned", "user"]}) == 403
    assert status(guarded_app(not_banned)) == 200  # anonymous is not banned...
    assert status(guarded_app(Authenticated(), not_banned)) == 401  # ...unless a user is required

    nested = And(Or(Role("admin"), Role("editor")), Permission("write"), Not(Role("suspended")))
    assert status(guarded_app(nested), {"roles": ["editor"], "permissions": ["write"]}) == 200
    assert status(guarded_app(nested), {"roles": ["editor", "suspended"], "permissions": ["write"]}) == 403


def test_or_answers_401_when_an_alternative_wanted_a_user() -> None:
    internal = IpWhitelist("10.0.0.0/8")
    app = guarded_app(Or(Role("admin", scheme="Bearer"), internal))
    with TestClient(app) as client:
        anonymous = client.get("/guarded")
        assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
        viewer = client.get("/guarded", headers=as_user({"roles": ["viewer"]}))
        assert viewer.status_code == 403
        assert viewer.json()["detail"] == (
            "no alternative allowed the request: requires the role 'admin'; "
            "the client's address is unknown"
        )


def test_not_and_or_pass_other_errors_through() -> None:
    def busy(request):
        raise HTTPException(429, "slow down")

    assert status(guarded_app(Not(busy))) == 429
    assert status(guarded_app(Or(busy, lambda request: True))) == 429
    assert status(guarded_app(Not(lambda request: False))) == 200
    assert status(guarded_app(Not(lambda request: True, message="go away"))) == 403


def test_async_guards_and_combinators() -> None:
    async def has_ticket(request):
        await asyncio.sleep(0)
        return request.headers.get("x-ticket") == "ok"

    class AsyncRole(Guard):
        async def check(self, request):
            await asyncio.sleep(0)
            user = request.context.get("user") or {}
            return "admin" in user.get("roles", [])

    combined = And(Role("admin"), has_ticket)
    assert isinstance(combined, And) and is_async(combined)
    assert not is_async(And(Role("admin"), Permission("write")))
    assert is_async(Or(Role("admin"), AsyncRole())) and is_async(Not(has_ticket))
    assert is_async(AsyncRole()) and not is_async(Role("admin"))

    app = App()
    users_from_header(app)

    @app.get("/and", guards=[combined])
    def sync_handler(request):
        return {"ok": True}

    @app.get("/or", guards=[Or(AsyncRole(), has_ticket)])
    async def async_handler(request):
        return {"ok": True}

    @app.get("/not", guards=[Not(has_ticket)])
    def not_handler(request):
        return {"ok": True}

    @app.get("/plain", guards=[has_ticket, AsyncRole()])
    def plain(request):
        return {"ok": True}

    admin, ticket = as_user({"roles": ["admin"]}), {"x-ticket": "ok"}
    with TestClient(app) as client:
        assert client.get("/and", headers={**admin, **ticket}).status_code == 200
        assert client.get("/and", headers=admin).status_code == 403
        assert client.get("/and", headers=ticket).status_code == 401
        assert client.get("/or", headers=ticket).status_code == 200
        assert client.get("/or", headers=admin).status_code == 200
        refused = client.get("/or")
        assert refused.status_code == 403
        assert refused.json()["detail"] == (
            "no alternative allowed the request: access denied by AsyncRole(); access denied by has_ticket"
        )
        assert client.get("/not").status_code == 200
        assert client.get("/not", headers=ticket).status_code == 403
        assert client.get("/plain", headers={**admin, **ticket}).status_code == 200
        assert client.get("/plain", headers=ticket).status_code == 403


def test_custom_guard_subclass() -> None:
    class BetaTester(Guard):
        detail = "send X-Beta: 1 to try the beta"

        def check(self, request):
            return request.headers.get("x-beta") == "1"

    class OriginalStyle(Guard):  # the original's docs override __call__ directly
        def __call__(self, request):
            if request.headers.get("x-key") != "k":
                raise ForbiddenError("wrong key")
            return True

    class Unfinished(Guard):
        pass

    with TestClient(guarded_app(BetaTester())) as client:
        refused = client.get("/guarded")
        assert refused.status_code == 403 and refused.json()["detail"] == "send X-Beta: 1 to try the beta"
        assert client.get("/guarded", headers={"x-beta": "1"}).status_code == 200
    with TestClient(guarded_app(OriginalStyle())) as client:
        assert client.get("/guarded").json()["detail"] == "wrong key"
        assert client.get("/guarded", headers={"x-key": "k"}).status_code == 200
    with pytest.raises(NotImplementedError, match="must implement check"):
        Unfinished()(SimpleNamespace())


def test_global_blueprint_and_route_guards_run_in_that_order() -> None:
    order: list[str] = []

    def recorder(name: str, allow: bool = True) -> Callable[[Any], bool]:
        def guard(request):
            order.append(name)
            return allow

        return guard

    app = App()
    app.add_guard(recorder("global"))
    outer = Blueprint("outer", url_prefix="/outer", guards=[recorder("blueprint")])
    inner = Blueprint("/inner")
    inner.add_guard(recorder("nested blueprint"))

    @inner.get("/x", guards=[recorder("route"), Role("admin")])
    def handler(request):
        order.append("handler")
        return {"ok": True}

    @inner.get("/refused", guards=[recorder("route", allow=False), recorder("never")])
    def refused(request):
        order.append("handler")

    outer.register_blueprint(inner)
    app.register_blueprint(outer)

    @app.before_request
    def load_user(request):
        request.context["user"] = {"roles": ["admin"]}

    with TestClient(app) as client:
        assert client.get("/outer/inner/x").status_code == 200
        assert order == ["global", "blueprint", "nested blueprint", "route", "handler"]
        order.clear()
        assert client.get("/outer/inner/refused").status_code == 403
        assert order == ["global", "blueprint", "nested blueprint", "route"]


def test_a_global_guard_can_load_the_user_for_the_others() -> None:
    app = App()

    def load_user(request):
        token = request.headers.get("x-token")
        if token is not None and constant_time_compare(token, "admin-token"):
            request.context["user"] = {"roles": ["admin"]}
        return True

    app.add_guard(load_user)

    @app.get("/admin", guards=[RoleGuard(["admin"])])
    def admin(request):
        return {"admin": True}

    with TestClient(app) as client:
        assert client.get("/admin").status_code == 401
        assert client.get("/admin", headers={"x-token": "nope"}).status_code == 401
        assert client.get("/admin", headers={"x-token": "admin-token"}).json() == {"admin": True}


def test_websocket_guards_refuse_the_handshake() -> None:
    app = App()

    def load_user(request):  # WebSocket handshakes skip before_request: a global guard
        raw = request.headers.get("x-test-user")
        if raw is not None:
            request.context["user"] = json.loads(raw)
        return True

    app.add_guard(load_user)

    @app.websocket("/ws/admin", guards=[And(Authenticated(scheme="Bearer"), Role("admin"))])
    async def admin_socket(ws):
        await ws.send("welcome, admin")

    with TestClient(app) as client:
        with pytest.raises(WebSocketRejected) as viewer:
            client.websocket_connect("/ws/admin", headers=as_user({"roles": ["viewer"]}))
        assert viewer.value.response.status_code == 403
        assert viewer.value.response.headers["content-type"] == "application/problem+json"
        assert viewer.value.response.json()["detail"] == "requires the role 'admin'"
        with pytest.raises(WebSocketRejected) as anonymous:
            client.websocket_connect("/ws/admin")
        assert anonymous.value.response.status_code == 401
        assert anonymous.value.response.headers["www-authenticate"] == "Bearer"
        with client.websocket_connect("/ws/admin", headers=as_user({"roles": ["admin"]})) as ws:
            assert ws.receive_text() == "welcome, admin"


def test_async_combinators_are_refused_on_websocket_routes() -> None:
    async def slow(request):
        return True

    app = App()
    with pytest.raises(TypeError, match="must be plain functions"):

        @app.websocket("/ws", guards=[Or(Role("admin"), slow)])
        async def socket(ws):
            pass


def test_ip_whitelist_over_a_real_socket(live: Callable[..., LiveServer]) -> None:
    app = App()

    @app.get("/loopback", guards=[IpWhitelist(["10.0.0.0/8", "127.0.0.0/8"])])
    def loopback(request):
        return {"client": request.client.host}

    @app.get("/elsewhere", guards=[IPWhitelist("192.168.0.0/16")])
    def elsewhere(request):
        return {"ok": True}

    @app.get("/proxied", guards=[IpWhitelist("203.0.113.0/24", trusted_proxies=["127.0.0.1", "10.0.0.0/8"])])
    def proxied(request):
        return {"ok": True}

    server = live(app)
    assert httpx.get(server.url + "/loopback").json() == {"client": "127.0.0.1"}
    refused = httpx.get(server.url + "/elsewhere")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "client address 127.0.0.1 is not allowed"
    # X-Forwarded-For from an untrusted peer is ignored; from a trusted one, the
    # rightmost entry that is not a trusted proxy is the client.
    assert httpx.get(server.url + "/elsewhere", headers={"x-forwarded-for": "192.168.1.1"}).status_code == 403
    forwarded = {"x-forwarded-for": "203.0.113.9, 10.1.1.1"}
    assert httpx.get(server.url + "/proxied", headers=forwarded).status_code == 200
    spoofed = {"x-forwarded-for": "203.0.113.9, 198.51.100.4"}
    assert httpx.get(server.url + "/proxied", headers=spoofed).status_code == 403
    assert httpx.get(server.url + "/proxied", headers={"x-forwarded-for": "garbage"}).status_code == 403
    assert httpx.get(server.url + "/proxied").status_code == 403  # the proxy itself is not allowed


def test_ip_whitelist_addresses_and_configuration() -> None:
    guard = IpWhitelist(["10.0.0.0/8", "2001:db8::/32", "192.0.2.7"])

    def peer(host: Any) -> Any:
        return SimpleNamespace(client=SimpleNamespace(host=host, port=1), headers={})

    assert guard(peer("10.20.30.40")) and guard(peer("192.0.2.7")) and guard(peer("2001:db8::1"))
    assert guard(peer("::ffff:10.0.0.1"))  # an IPv4-mapped IPv6 peer
    assert guard(SimpleNamespace(client=("10.0.0.2", 5), headers={}))
    for host in ("192.0.2.8", "11.0.0.1", "2001:db9::1", "not-an-ip"):
        with pytest.raises(ForbiddenError):
            guard(peer(host))
    with TestClient(guarded_app(guard)) as client:  # no socket: the address is unknown
        unknown = client.get("/guarded")
        assert unknown.status_code == 403 and unknown.json()["detail"] == "the client's address is unknown"
    with pytest.raises(ValueError, match="not an IP address or CIDR"):
        IpWhitelist(["10.0.0.0/33"])
    with pytest.raises(ValueError, match="at least one"):
        IpWhitelist([])


PARIS = "Europe/Paris"


def at(*fields: int, tz: dt.tzinfo = dt.UTC) -> Callable[[], dt.datetime]:
    return lambda: dt.datetime(*fields, tzinfo=tz)  # type: ignore[misc]


def test_time_based_guard_with_a_fixed_clock() -> None:
    # 2026-06-01 is a Monday; Paris is UTC+2 in June.
    office = {"weekdays": range(5), "timezone": PARIS}
    assert status(guarded_app(TimeBasedGuard(9, 17, clock=at(2026, 6, 1, 8, 30), **office))) == 200  # type: ignore[arg-type]
    assert status(guarded_app(TimeBasedGuard(9, 17, clock=at(2026, 6, 1, 6, 59), **office))) == 403  # type: ignore[arg-type]
    assert status(guarded_app(TimeBasedGuard(9, 17, clock=at(2026, 6, 1, 15, 0), **office))) == 403  # type: ignore[arg-type]
    saturday = TimeBasedGuard(9, 17, clock=at(2026, 6, 6, 10, 0), **office)  # type: ignore[arg-type]
    with TestClient(guarded_app(saturday)) as client:
        refused = client.get("/guarded")
        assert refused.status_code == 403
        assert refused.json()["detail"] == "open 09:00-17:00 Europe/Paris on Mon, Tue, Wed, Thu, Fri only"


def test_time_based_guard_windows() -> None:
    request = SimpleNamespace()

    def allowed(guard: TimeBasedGuard) -> bool:
        try:
            return guard(request)
        except ForbiddenError:
            return False

    naive_paris = lambda: dt.datetime(2026, 1, 5, 9, 0)  # naive: local time in the zone
    assert allowed(TimeBasedGuard(9, 17, timezone=PARIS, clock=naive_paris))
    assert not allowed(TimeBasedGuard(9, 17, clock=at(2026, 1, 5, 17, 0)))  # the end is excluded
    assert allowed(TimeBasedGuard(22, 6, clock=at(2026, 1, 5, 23, 30)))  # across midnight
    assert allowed(TimeBasedGuard(22, 6, clock=at(2026, 1, 5, 5, 59)))
    assert not allowed(TimeBasedGuard(22, 6, clock=at(2026, 1, 5, 12, 0)))
    assert allowed(TimeBasedGuard(dt.time(8, 30), dt.time(8, 45), clock=at(2026, 1, 5, 8, 44, 59)))
    assert allowed(TimeBasedGuard(0, 24, weekdays=["sat", "Sunday"], clock=at(2026, 1, 4, 3, 0)))
    assert not allowed(TimeBasedGuard(0, 24, weekdays=["sat"], clock=at(2026, 1, 5, 3, 0)))
    tokyo = dt.timezone(dt.timedelta(hours=9))
    assert allowed(TimeBasedGuard(9, 10, timezone=tokyo, clock=at(2026, 1, 5, 0, 15)))
    assert TimeBasedGuard()._window() == "09:00-17:00 UTC"
    assert allowed(TimeBasedGuard(0, 24, timezone=PARIS))  # the real clock
    for bad in ({"start": 9, "end": 9}, {"start": 25}, {"end": 30}, {"weekdays": [7]}, {"weekdays": []}):
        with pytest.raises(ValueError):
            TimeBasedGuard(**bad)  # type: ignore[arg-type]


SECRET = b"guards-test-secret-of-at-least-32-bytes"


def hs256(claims: dict[str, Any]) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    now = int(time.time())
    payload = {"sub": "alice", "iat": now, "exp": now + 3600, **claims}
    head = f"{b64(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}.{b64(json.dumps(payload).encode())}"
    return f"{head}.{b64(hmac.new(SECRET, head.encode(), hashlib.sha256).digest())}"


def test_roles_from_a_real_jwt() -> None:
    app = App()
    app.enable_jwt(JwtConfig(secret=SECRET), skip_paths=["/public"])

    @app.get("/admin", guards=[RoleGuard(["admin"])])
    def admin(request):
        return {"sub": request.context["user"]["sub"]}

    @app.get("/write", guards=[PermissionGuard(["posts:write"])])
    def write(request):
        return {"ok": True}

    @app.get("/public/me", guards=[AuthenticatedGuard(scheme="Bearer")])
    def me(request):
        return {"ok": True}

    def bearer(claims: dict[str, Any]) -> dict[str, str]:
        return {"Authorization": f"Bearer {hs256(claims)}"}

    with TestClient(app) as client:
        assert client.get("/admin", headers=bearer({"roles": ["admin"]})).json() == {"sub": "alice"}
        assert client.get("/admin", headers=bearer({"roles": ["viewer"]})).status_code == 403
        assert client.get("/admin", headers=bearer({})).status_code == 403
        assert client.get("/admin").status_code == 401  # the middleware's own 401
        assert client.get("/write", headers=bearer({"permissions": ["posts:write"]})).status_code == 200
        assert client.get("/write", headers=bearer({"roles": ["admin"]})).status_code == 403
        skipped = client.get("/public/me")  # no middleware check here: the guard's 401
        assert skipped.status_code == 401 and skipped.headers["www-authenticate"] == "Bearer"
        # On a skip path a token is optional, and a valid one still names the user.
        assert client.get("/public/me", headers=bearer({})).status_code == 200


def test_roles_from_api_key_claims() -> None:
    app = App()
    app.enable_api_key({"ops-key": {"sub": "ops", "roles": ["admin"]}, "named-key": "reporting"})

    @app.get("/admin", guards=[RoleGuard(["admin"]), Authenticated()])
    def admin(request):
        return {"sub": request.user["sub"]}

    with TestClient(app) as client:
        assert client.get("/admin", headers={"X-API-Key": "ops-key"}).json() == {"sub": "ops"}
        assert client.get("/admin", headers={"X-API-Key": "named-key"}).status_code == 403


def test_verify_guards() -> None:
    admin = SimpleNamespace(context={"user": {"roles": ["admin"], "permissions": ["write"]}})
    assert verify_guards(admin, [Authenticated(), Role("admin")]) is True
    assert verify_guards([Authenticated(), Role("admin")], admin) is True  # the original's order
    with pytest.raises(ForbiddenError, match="requires the permission 'delete'"):
        verify_guards(admin, [Role("admin"), Permission("delete"), Role("never-reached")])
    with pytest.raises(ForbiddenError, match="access denied by"):
        verify_guards(admin, [lambda request: False])

    async def async_guard(request):
        return True

    with pytest.raises(TypeError, match="verify_guards_async"):
        verify_guards(admin, [async_guard])
    assert asyncio.run(verify_guards_async(admin, [Role("admin"), async_guard])) is True
    with pytest.raises(UnauthorizedError):
        asyncio.run(verify_guards_async(SimpleNamespace(context={}), [async_guard, Authenticated()]))


def test_a_sync_guard_returning_a_coroutine_is_an_error_not_a_pass() -> None:
    async def sneaky(request):
        return False

    def wraps(request):
        return sneaky(request)

    with pytest.raises(TypeError, match="returned an awaitable"):
        And(Role("admin"), wraps)(SimpleNamespace(context={"user": {"roles": ["admin"]}}))


def test_constant_time_compare() -> None:
    assert constant_time_compare("token", "token") and constant_time_compare(b"token", "token")
    assert not constant_time_compare("token", "tokem") and not constant_time_compare("a", "ab")
    assert constant_time_compare("héllo", "héllo".encode())
    with pytest.raises(TypeError, match="str or bytes"):
        constant_time_compare(1, "1")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: Role([]), ValueError, "at least one role"),
        (lambda: Permission([""]), TypeError, "non-empty strings"),
        (lambda: Role([1]), TypeError, "non-empty strings"),
        (lambda: And(), ValueError, "at least one guard"),
        (lambda: Or([]), ValueError, "at least one guard"),
        (lambda: And(Role("a"), "admin"), TypeError, "callables"),
        (lambda: Not(None), TypeError, "callable"),
        (lambda: Authenticated(scheme="Bearer realm=x"), ValueError, "one token"),
    ],
)
def test_bad_configuration_fails_at_construction(make: Callable[[], Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        make()


def test_guards_can_be_copied() -> None:
    async def slow(request):
        return True

    for guard in (And(Role("a"), Permission("b")), Or([Role("a"), slow]), Not(slow), IpWhitelist("10.0.0.1"),
                  TimeBasedGuard(9, 17, timezone=PARIS)):
        for duplicate in (copy.copy(guard), copy.deepcopy(guard)):
            assert type(duplicate) is type(guard) and repr(duplicate) == repr(guard)
            assert is_async(duplicate) == is_async(guard)


def test_reprs_name_the_rules() -> None:
    assert repr(Role(["admin"])) == "Role(['admin'])"
    assert repr(Permission(["a"], require_all=False)) == "Permission(['a'], require_all=False)"
    assert repr(Or(Role("a"), Not(Authenticated()))) == "Or(Role(['a']), Not(Authenticated()))"
    assert repr(IpWhitelist("10.0.0.1")) == "IpWhitelist(['10.0.0.1/32'])"


ROOT = Path(__file__).resolve().parent.parent


def test_docs_guards_md_python_blocks_run() -> None:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "guards.md").read_text(), flags=re.DOTALL)
    assert len(blocks) >= 8
    for block in blocks:
        namespace: dict[str, Any] = {"__name__": "guards_md"}
        exec(compile(block, "docs/guards.md", "exec"), namespace)  # noqa: S102 - our docs
        if isinstance(namespace.get("app"), App):
            with TestClient(namespace["app"]) as client:
                assert client.get("/nowhere").status_code == 404


def test_guards_example_in_process() -> None:
    app = runpy.run_path(str(ROOT / "examples" / "guards_app.py"))["app"]

    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    with TestClient(app) as client:
        assert client.get("/").status_code == 200
        anonymous = client.get("/me")
        assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
        assert client.get("/me", headers=bearer("editor-token")).json()["sub"] == "eve"
        assert client.get("/me", headers=bearer("editor-tokenX")).status_code == 401
        assert client.get("/admin", headers=bearer("editor-token")).status_code == 403
        assert client.get("/admin", headers=bearer("admin-token")).json()["admin"] is True
        assert client.get("/internal/metrics").status_code == 403  # no socket, no address
        assert client.get("/beta", headers=bearer("reader-token")).status_code == 403
        assert client.get("/beta", headers={**bearer("reader-token"), "X-Beta": "1"}).json() == {"beta": True}
        post = {"title": "Guards"}
        assert client.post("/posts/", json=post).status_code == 401
        assert client.post("/posts/", json=post, headers=bearer("reader-token")).status_code == 403
        banned = client.post("/posts/", json=post, headers=bearer("banned-token"))
        assert banned.status_code == 403 and banned.json()["detail"] == "banned users cannot post"
        created = client.post("/posts/", json=post, headers=bearer("editor-token"))
        assert created.status_code == 201 and created.json()["author"] == "eve"
        post_id = created.json()["id"]
        assert client.delete(f"/posts/{post_id}", headers=bearer("editor-token")).status_code == 403
        assert client.delete(f"/posts/{post_id}", headers=bearer("admin-token")).status_code == 204
        assert str(post_id) not in client.get("/posts/", headers=bearer("reader-token")).json()["posts"]
