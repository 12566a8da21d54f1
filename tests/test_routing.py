"""Routing as users see it: parameters, converters, methods, blueprints, guards."""

from __future__ import annotations

import uuid

import pytest
from cello import App, Blueprint, HTTPException, RouteConflictError
from cello.testing import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st


def make_app() -> App:
    app = App()

    @app.get("/items/{id:int}")
    def item(request):
        return {"id": request.params["id"], "type": type(request.params["id"]).__name__}

    @app.get("/prices/{value:float}")
    def price(request):
        return {"value": request.params["value"]}

    @app.get("/objects/{key:uuid}")
    def obj(request):
        return {"is_uuid": isinstance(request.params["key"], uuid.UUID), "key": str(request.params["key"])}

    @app.get("/files/{*rest}")
    def files(request):
        return {"rest": request.params["rest"]}

    @app.get("/docs/{p:path}")
    def docs(request):
        return {"p": request.params["p"]}

    @app.get("/names/{name}")
    def name(request):
        return {"name": request.params["name"]}

    @app.get("/slash/")
    def slash(request):
        return {"slash": True}

    return app


@pytest.fixture
def routed() -> TestClient:
    with TestClient(make_app()) as client:
        yield client


def test_int_converter(routed: TestClient) -> None:
    assert routed.get("/items/42").json() == {"id": 42, "type": "int"}
    assert routed.get("/items/-3").json() == {"id": -3, "type": "int"}
    assert routed.get("/items/abc").status_code == 404


def test_float_and_uuid_converters(routed: TestClient) -> None:
    assert routed.get("/prices/2.5").json() == {"value": 2.5}
    assert routed.get("/prices/nan").status_code == 404
    key = uuid.uuid4()
    assert routed.get(f"/objects/{str(key).upper()}").json() == {"is_uuid": True, "key": str(key)}
    assert routed.get("/objects/not-a-uuid").status_code == 404


def test_catch_all_and_path(routed: TestClient) -> None:
    assert routed.get("/files/a/b/c.txt").json() == {"rest": "a/b/c.txt"}
    assert routed.get("/docs/x/y").json() == {"p": "x/y"}


def test_percent_decoding(routed: TestClient) -> None:
    assert routed.get("/names/J%C3%BCrgen%20K").json() == {"name": "Jürgen K"}
    assert routed.get("/names/a%2Fb").json() == {"name": "a/b"}


def test_not_found_is_problem_json(routed: TestClient) -> None:
    response = routed.get("/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404


def test_trailing_slash_redirects(routed: TestClient) -> None:
    response = routed.get("/slash?x=1")
    assert response.status_code == 307
    assert response.headers["location"] == "/slash/?x=1"
    response = routed.get("/names/bob/")
    assert response.status_code == 307
    assert response.headers["location"] == "/names/bob"


def test_automatic_head_and_options(routed: TestClient) -> None:
    get = routed.get("/names/x")
    head = routed.head("/names/x")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(get.content))
    assert head.headers["content-type"] == get.headers["content-type"]
    options = routed.options("/names/x")
    assert options.status_code == 204
    assert options.headers["allow"] == "GET, HEAD, OPTIONS"


def test_method_not_allowed_lists_methods(routed: TestClient) -> None:
    response = routed.post("/names/x")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, OPTIONS"
    assert response.headers["content-type"] == "application/problem+json"


def test_conflicting_route_names_both_handlers() -> None:
    app = App()

    @app.get("/users/{id}")
    def get_user(request):
        return {}

    with pytest.raises(RouteConflictError) as raised:

        @app.get("/users/{id}")
        def get_user_again(request):
            return {}

    message = str(raised.value)
    assert "get_user " in message or "get_user (" in message
    assert "get_user_again" in message
    assert "GET" in message and "/users/{id}" in message


def test_invalid_paths_and_converters_are_clear() -> None:
    app = App()
    with pytest.raises(RouteConflictError, match="/"):
        app.get("users")(lambda request: None)
    with pytest.raises(RouteConflictError, match="bogus"):
        app.get("/x/{id:bogus}")(lambda request: None)
    with pytest.raises(TypeError, match="list"):
        app.route("/x", methods="GET")  # type: ignore[arg-type]


def test_blueprint_forms_and_nesting() -> None:
    users_bp = Blueprint("/users")

    @users_bp.get("/")
    def list_users(request):
        return {"users": []}

    @users_bp.get("/{id}")
    def get_user(request):
        return {"id": request.params["id"]}

    api = Blueprint("/api")
    v1 = Blueprint("/v1")
    v1.register_blueprint(users_bp)
    api.register_blueprint(v1)
    named = Blueprint("api", url_prefix="/api/v2")

    @named.get("/ping")
    def ping(request):
        return "pong"

    app = App()
    app.register_blueprint(users_bp)
    app.register_blueprint(api)
    app.register_blueprint(named)
    with TestClient(app) as client:
        assert client.get("/users/").json() == {"users": []}
        assert client.get("/users/7").json() == {"id": "7"}
        assert client.get("/api/v1/users/").json() == {"users": []}
        assert client.get("/api/v1/users/8").json() == {"id": "8"}
        assert client.get("/api/v2/ping").text == "pong"
    assert named.name == "api" and users_bp.url_prefix == "/users"


def test_guards_on_routes_blueprints_and_app() -> None:
    def is_admin(request):
        return request.headers.get("x-role") == "admin"

    def needs_token(request):
        if "authorization" not in request.headers:
            raise HTTPException(401, "missing token")
        return True

    async def async_guard(request):
        return request.query.get("deny") is None

    admin = Blueprint("/admin", guards=[is_admin])

    @admin.get("/panel")
    def panel(request):
        return {"panel": True}

    app = App()
    app.register_blueprint(admin)

    @app.get("/secure", guards=[needs_token, async_guard])
    async def secure(request):
        return {"secure": True}

    with TestClient(app) as client:
        assert client.get("/admin/panel").status_code == 403
        assert client.get("/admin/panel", headers={"x-role": "admin"}).json() == {"panel": True}
        assert client.get("/secure").status_code == 401
        assert client.get("/secure", headers={"authorization": "x"}).json() == {"secure": True}
        denied = client.get("/secure?deny=1", headers={"authorization": "x"})
        assert denied.status_code == 403
        assert "async_guard" in denied.json()["detail"]


def test_app_wide_guard() -> None:
    app = App()
    app.add_guard(lambda request: request.headers.get("x-key") == "k")

    @app.get("/")
    def index():
        return {"ok": True}

    with TestClient(app) as client:
        assert client.get("/").status_code == 403
        assert client.get("/", headers={"x-key": "k"}).json() == {"ok": True}


def test_handler_without_request_parameter() -> None:
    app = App()

    @app.get("/")
    def index():
        return {"ok": True}

    with TestClient(app) as client:
        assert client.get("/").json() == {"ok": True}


def test_a_second_required_parameter_is_a_required_query_parameter() -> None:
    # Before typed parameters this was a registration error; now it reads as FastAPI
    # does: an unannotated parameter the path does not name comes from the query.
    app = App()

    @app.get("/")
    def index(request, other):
        return {"other": other}

    with TestClient(app) as client:
        assert client.get("/?other=x").json() == {"other": "x"}
        missing = client.get("/")
        assert missing.status_code == 422
        assert missing.json()["errors"][0]["loc"] == ["query", "other"]


segment = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=20,
)


@settings(max_examples=60, deadline=None)
@given(value=segment)
def test_any_parameter_value_round_trips(value: str) -> None:
    from urllib.parse import quote

    app = App()

    @app.get("/echo/{value}/end")
    def echo(request):
        return {"value": request.params["value"]}

    with TestClient(app) as client:
        response = client.get(f"/echo/{quote(value, safe='')}/end")
        assert response.status_code == 200, response.text
        assert response.json() == {"value": value}


def test_a_registered_blueprint_refuses_new_routes_and_guards() -> None:
    from cello import Blueprint

    bp = Blueprint("/bp")

    @bp.get("/a")
    def a(request):
        return {}

    app = App()
    app.register_blueprint(bp)
    with pytest.raises(RuntimeError, match="already registered"):
        bp.add_guard(lambda request: False)
    with pytest.raises(RuntimeError, match="already registered"):

        @bp.get("/b")
        def b(request):
            return {}


def test_a_blocking_route_refuses_async_guards() -> None:
    async def guard(request):
        return True

    app = App()

    @app.get("/", blocking=True, guards=[guard])
    def index(request):
        return {}

    with pytest.raises(TypeError, match="blocking=True and its guard"), TestClient(app):
        pass


def test_a_guard_that_returns_an_awaitable_in_a_sync_route_fails_closed() -> None:
    async def check(request):
        return False

    app = App()

    @app.get("/", guards=[lambda request: check(request)])
    def index(request):
        return {"secret": True}

    with TestClient(app) as client:
        response = client.get("/")
        assert response.status_code == 500
        assert "secret" not in response.text
