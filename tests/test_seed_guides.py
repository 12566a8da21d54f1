"""Seed 000 (quick start, migration) and seed 004 (sync/async guide) examples, unchanged."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
from cello import App
from cello.testing import LiveServer, TestClient


def test_release_notes_quick_start(live: Callable[..., LiveServer]) -> None:
    app = App()

    @app.get("/")
    def hello(request):
        return {"message": "Hello from Cello v1.0.1!"}

    @app.get("/users/{id}")
    def get_user(request):
        user_id = request.params["id"]
        return {"id": user_id, "name": "Alice"}

    server = live(app)
    assert httpx.get(server.url + "/").json() == {"message": "Hello from Cello v1.0.1!"}
    assert httpx.get(server.url + "/users/5").json() == {"id": "5", "name": "Alice"}


def test_version_check_from_migration_guide() -> None:
    import cello

    assert isinstance(cello.__version__, str) and cello.__version__


class _Objects:
    def get(self, pk: str) -> Any:
        class Obj:
            id = int(pk)
            name = f"item {pk}"

        return Obj()


class MyModel:
    objects = _Objects()


def test_django_migration_example() -> None:
    app = App()

    @app.get("/items/{pk}")
    def my_view(request):
        pk = request.params["pk"]
        obj = MyModel.objects.get(pk=pk)
        return {"id": obj.id, "name": obj.name}

    with TestClient(app) as client:
        assert client.get("/items/9").json() == {"id": 9, "name": "item 9"}


class _FakeDatabase:
    async def fetch_one(self, query: str, *args: Any) -> dict[str, Any]:
        await asyncio.sleep(0)
        return {"query": query, "args": list(args)}

    async def fetch_all(self, query: str) -> list[dict[str, int]]:
        await asyncio.sleep(0.01)
        return [{"id": 1}, {"id": 2}]


database = _FakeDatabase()
db = database


async def notify_external_service(data: Any) -> None:
    await asyncio.sleep(0)


def test_sync_and_async_handlers_from_guide() -> None:
    app = App()

    @app.get("/hello")
    def hello(request):
        return {"message": "Hello, World!"}

    @app.get("/compute")
    def compute(request):
        result = sum(range(1000))
        return {"result": result}

    @app.get("/user/{id}")
    async def get_user(request):
        user_id = request.params["id"]
        user = await database.fetch_one("SELECT * FROM users WHERE id = $1", user_id)
        return {"user": user}

    with TestClient(app) as client:
        assert client.get("/hello").json() == {"message": "Hello, World!"}
        assert client.get("/compute").json() == {"result": 499500}
        assert client.get("/user/4").json() == {
            "user": {"query": "SELECT * FROM users WHERE id = $1", "args": ["4"]}
        }


def test_async_lifecycle_hooks_from_guide() -> None:
    app = App()
    events: list[str] = []

    async def create_database_pool(url: str) -> list[str]:
        await asyncio.sleep(0)
        return events

    @app.on_event("startup")
    async def on_startup():
        # Initialize database connection pool
        app.db = await create_database_pool(
            "postgresql://user:pass@localhost/mydb"
        )
        print("Database pool initialized")

    @app.on_event("shutdown")
    async def on_shutdown():
        events.append("closed")

    @app.on_event("startup")
    def on_startup_sync():
        events.append("sync startup")

    with TestClient(app):
        assert app.db is events
        assert events == ["sync startup"]
    assert events == ["sync startup", "closed"]


def test_mixing_sync_and_async(live: Callable[..., LiveServer]) -> None:
    app = App()

    # Sync -- simple computation, no I/O
    @app.get("/health")
    def health(request):
        return {"status": "ok"}

    # Async -- database query
    @app.get("/users")
    async def list_users(request):
        users = await db.fetch_all("SELECT * FROM users")
        return {"users": users}

    # Sync -- returns static data
    @app.get("/version")
    def version(request):
        return {"version": "1.0.1"}

    # Async -- calls external API
    @app.post("/webhooks")
    async def webhook(request):
        data = request.json()
        await notify_external_service(data)
        return {"received": True}

    server = live(app)
    with httpx.Client(base_url=server.url) as client:
        assert client.get("/health").json() == {"status": "ok"}
        assert client.get("/users").json() == {"users": [{"id": 1}, {"id": 2}]}
        assert client.get("/version").json() == {"version": "1.0.1"}
        assert client.post("/webhooks", json={"a": 1}).json() == {"received": True}
