"""Every code example of seed 003 (App reference) that issue 2 covers, run unchanged.

The handler bodies below are the seed's text; only the surrounding test scaffolding
(building a fresh app, the client calls and assertions) is ours.
"""

from __future__ import annotations

from cello import App, Blueprint, Response
from cello.testing import TestClient


def test_route_decorators() -> None:
    app = App()

    @app.get("/users")
    def list_users(request):
        return {"users": []}

    @app.get("/users/{id}")
    def get_user(request):
        return {"id": request.params["id"]}

    @app.post("/users")
    def create_user(request):
        data = request.json()
        return Response.json({"id": 1, **data}, status=201)

    @app.put("/users/{id}")
    def update_user(request):
        data = request.json()
        return {"id": request.params["id"], **data}

    @app.patch("/users/{id}")
    def patch_user(request):
        data = request.json()
        return {"updated": True}

    @app.delete("/users/{id}")
    def delete_user(request):
        return Response.no_content()

    @app.options("/resource")
    def resource_options(request):
        return Response.json({"methods": ["GET", "POST", "PUT", "DELETE"]})

    @app.head("/health")
    def health_check(request):
        return Response("", status=200)

    with TestClient(app) as client:
        assert client.get("/users").json() == {"users": []}
        assert client.get("/users/3").json() == {"id": "3"}
        created = client.post("/users", json={"name": "Ann"})
        assert created.status_code == 201
        assert created.json() == {"id": 1, "name": "Ann"}
        assert client.put("/users/3", json={"name": "Bo"}).json() == {"id": "3", "name": "Bo"}
        assert client.patch("/users/3", json={"x": 1}).json() == {"updated": True}
        deleted = client.delete("/users/3")
        assert deleted.status_code == 204 and deleted.content == b""
        options = client.options("/resource")
        assert options.json() == {"methods": ["GET", "POST", "PUT", "DELETE"]}
        health = client.head("/health")
        assert health.status_code == 200 and health.content == b""


def test_route_with_several_methods() -> None:
    app = App()

    @app.route("/resource", methods=["GET", "POST"])
    def resource_handler(request):
        if request.method == "GET":
            return {"action": "list"}
        return {"action": "create"}

    with TestClient(app) as client:
        assert client.get("/resource").json() == {"action": "list"}
        assert client.post("/resource").json() == {"action": "create"}
        refused = client.put("/resource")
        assert refused.status_code == 405
        assert refused.headers["allow"] == "GET, HEAD, OPTIONS, POST"


def test_route_options_tags_summary_description_guards() -> None:
    app = App()

    @app.get("/items", tags=["items"], summary="List", description="All items", guards=[])
    def items(request):
        return []

    with TestClient(app) as client:
        assert client.get("/items").json() == []


def test_blueprint_from_reference() -> None:
    app = App()
    api = Blueprint("/api/v1")

    @api.get("/users")
    def list_users(request):
        return {"users": []}

    @api.post("/users")
    def create_user(request):
        return {"created": True}

    app.register_blueprint(api)

    with TestClient(app) as client:
        assert client.get("/api/v1/users").json() == {"users": []}
        assert client.post("/api/v1/users").json() == {"created": True}


class Database:
    """Stands in for the seed's database client."""

    connected = 0

    @classmethod
    async def connect(cls) -> Database:
        cls.connected += 1
        return cls()

    async def disconnect(self) -> None:
        Database.connected -= 1

    def get_users(self) -> list[str]:
        return ["alice"]


class Redis:
    @classmethod
    async def connect(cls) -> Redis:
        return cls()


def test_lifecycle_hooks_and_state() -> None:
    app = App()

    @app.on_event("startup")
    async def on_start():
        print("Starting up...")
        app.state.db = await Database.connect()

    @app.on_event("shutdown")
    async def on_stop():
        print("Shutting down...")
        await app.state.db.disconnect()

    @app.get("/users")
    def list_users(request):
        db = request.app.state.db
        return {"users": db.get_users()}

    with TestClient(app) as client:
        assert Database.connected == 1
        assert client.get("/users").json() == {"users": ["alice"]}
    assert Database.connected == 0


def test_application_state_example() -> None:
    app = App()

    @app.on_event("startup")
    async def startup():
        app.state.db = await Database.connect()
        app.state.cache = await Redis.connect()

    @app.get("/users")
    def list_users(request):
        db = request.app.state.db
        return {"users": db.get_users()}

    with TestClient(app) as client:
        assert client.get("/users").json() == {"users": ["alice"]}
        assert isinstance(app.state.cache, Redis)


def test_exception_handlers() -> None:
    app = App()

    @app.exception_handler(ValueError)
    def handle_value_error(request, exc):
        return Response.json({
            "type": "/errors/validation",
            "title": "Validation Error",
            "status": 400,
            "detail": str(exc)
        }, status=400)

    @app.exception_handler(Exception)
    def handle_all_errors(request, exc):
        return Response.json(
            {"error": "Internal server error"},
            status=500
        )

    @app.get("/value")
    def value(request):
        raise ValueError("bad number")

    @app.get("/other")
    def other(request):
        raise KeyError("x")

    with TestClient(app) as client:
        response = client.get("/value")
        assert response.status_code == 400
        assert response.json()["detail"] == "bad number"
        response = client.get("/other")
        assert response.status_code == 500
        assert response.json() == {"error": "Internal server error"}


def test_app_constructor_takes_no_arguments() -> None:
    app = App()
    assert app.routes() == []
