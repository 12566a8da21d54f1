"""Dependency injection: `Depends` with singletons, functions, generators, classes,
sub-dependencies, caching, overrides and cleanup order, over a real socket."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any

import httpx
import pytest
from cello import App, BackgroundTasks, Depends, HTTPException, Request
from cello.testing import LiveServer, TestClient


def test_seed_003_register_singleton_and_depends_by_name(live: Callable[..., LiveServer]) -> None:
    class DatabaseConnection:
        def query(self, sql: str) -> list[dict[str, Any]]:
            return [{"sql": sql}]

    app = App()
    # Seed 003, unchanged:
    db = DatabaseConnection()
    app.register_singleton("db", db)

    @app.get("/users")
    def get_users(db=Depends("db")):
        return db.query("SELECT * FROM users")

    server = live(app)
    response = httpx.get(server.url + "/users")
    assert response.status_code == 200
    assert response.json() == [{"sql": "SELECT * FROM users"}]


def test_seed_004_async_generator_chain_with_cleanup(live: Callable[..., LiveServer]) -> None:
    events: list[str] = []

    class Conn:
        async def fetch_one(self, sql: str, token: str) -> dict[str, str] | None:
            events.append("query")
            return {"name": "Ada", "email": "ada@example.com"} if token == "good" else None

        async def release(self) -> None:
            events.append("release")

    class Pool:
        async def acquire(self) -> Conn:
            events.append("acquire")
            return Conn()

    app = App()
    app.db = Pool()  # type: ignore[attr-defined]

    # Seed 004, unchanged:
    async def get_db():
        """Provide a database connection from the pool."""
        conn = await app.db.acquire()
        try:
            yield conn
        finally:
            await conn.release()

    async def get_current_user(request, db=Depends(get_db)):
        """Extract and validate the current user."""
        token = request.headers.get("authorization", "").replace("Bearer ", "")
        user = await db.fetch_one("SELECT * FROM users WHERE token = $1", token)
        if not user:
            raise ValueError("Invalid token")
        return user

    @app.get("/profile")
    async def profile(request, user=Depends(get_current_user)):
        return {"name": user["name"], "email": user["email"]}

    server = live(app)
    ok = httpx.get(server.url + "/profile", headers={"authorization": "Bearer good"})
    assert ok.status_code == 200
    assert ok.json() == {"name": "Ada", "email": "ada@example.com"}
    assert events == ["acquire", "query", "release"]

    events.clear()
    bad = httpx.get(server.url + "/profile", headers={"authorization": "Bearer nope"})
    # The seed's dependency raises ValueError: a server error, and the connection is
    # still released (cleanup runs when a later dependency raises).
    assert bad.status_code == 500
    assert events == ["acquire", "query", "release"]


def test_fastapi_migration_example_from_seed_000(live: Callable[..., LiveServer]) -> None:
    class Item:
        id = 0

    class Query:
        def __init__(self, items: list[dict[str, int]]) -> None:
            self.items = items

        def filter(self, match: bool) -> Query:
            return self

        def first(self) -> dict[str, int]:
            return self.items[0]

    class Session:
        def query(self, model: type) -> Query:
            return Query([{"id": 7}])

    def get_db():
        yield Session()

    app = App()

    # Seed 000's "Cello (nearly identical)", unchanged except Item.id comparisons:
    @app.get("/items/{item_id}")
    async def read_item(request, db=Depends(get_db)):
        item_id = int(request.params["item_id"])
        return db.query(Item).filter(Item.id == item_id).first()

    # ...and the FastAPI form it migrates from, which Cello also runs:
    @app.get("/typed/{item_id}")
    async def read_typed(item_id: int, db: Session = Depends(get_db)):
        return {"item_id": item_id, "found": db.query(Item).filter(Item.id == item_id).first()}

    server = live(app)
    assert httpx.get(server.url + "/items/7").json() == {"id": 7}
    assert httpx.get(server.url + "/typed/7").json() == {"item_id": 7, "found": {"id": 7}}
    assert httpx.get(server.url + "/typed/x").status_code == 422


def test_sub_dependencies_run_once_per_request_unless_use_cache_false() -> None:
    calls: list[str] = []

    def settings() -> dict[str, int]:
        calls.append("settings")
        return {"page": 10}

    def counter() -> int:
        calls.append("counter")
        return len(calls)

    def paging(s: dict[str, int] = Depends(settings)) -> int:
        return s["page"]

    app = App()

    @app.get("/")
    def index(
        a: int = Depends(paging),
        s: dict[str, int] = Depends(settings),
        first: int = Depends(counter),
        again: int = Depends(counter, use_cache=False),
    ):
        return {"a": a, "page": s["page"], "first": first, "again": again}

    with TestClient(app) as client:
        body = client.get("/").json()
        assert body["a"] == 10 and body["page"] == 10
        assert calls.count("settings") == 1
        assert calls.count("counter") == 2
        assert body["again"] != body["first"]
        calls.clear()
        client.get("/")
        assert calls.count("settings") == 1  # the cache is per request, not global


class Pagination:
    def __init__(self, skip: int = 0, limit: int = 10) -> None:
        self.skip, self.limit = skip, limit


def test_class_dependency_and_annotation_form() -> None:
    app = App()

    @app.get("/items")
    def items(page: Annotated[Pagination, Depends()]):
        return {"skip": page.skip, "limit": page.limit}

    with TestClient(app) as client:
        assert client.get("/items?skip=5&limit=2").json() == {"skip": 5, "limit": 2}
        assert client.get("/items").json() == {"skip": 0, "limit": 10}
        invalid = client.get("/items?limit=lots")
        assert invalid.status_code == 422
        assert invalid.json()["errors"][0]["loc"] == ["query", "limit"]


def test_dependency_reads_typed_parameters_and_the_request() -> None:
    def token(request: Request, x_token: str | None = None) -> str:
        return f"{request.method}:{x_token}"

    app = App()

    @app.get("/")
    def index(value: str = Depends(token)):
        return {"value": value}

    with TestClient(app) as client:
        assert client.get("/?x_token=abc").json() == {"value": "GET:abc"}


def test_yield_cleanup_sees_the_handler_error_and_runs_before_the_response() -> None:
    events: list[str] = []

    def resource():
        events.append("open")
        try:
            yield "r"
        except HTTPException as exc:
            events.append(f"saw {exc.status_code}")
            raise
        finally:
            events.append("closed")

    app = App()

    @app.get("/ok")
    def ok(r: str = Depends(resource)):
        events.append("handler")
        return {"events": list(events)}

    @app.get("/fail")
    def fail(r: str = Depends(resource)):
        raise HTTPException(409, "conflict")

    with TestClient(app) as client:
        response = client.get("/ok")
        assert response.json() == {"events": ["open", "handler"]}
        assert events == ["open", "handler", "closed"]
        events.clear()
        failed = client.get("/fail")
        assert failed.status_code == 409
        assert events == ["open", "saw 409", "closed"]


def test_cleanup_order_is_reverse_of_setup_and_before_background_tasks() -> None:
    events: list[str] = []

    def outer():
        events.append("outer open")
        yield
        events.append("outer close")

    async def inner(o: None = Depends(outer)):
        events.append("inner open")
        yield
        events.append("inner close")

    async def later() -> None:
        events.append("background")

    app = App()

    @app.get("/")
    async def index(tasks: BackgroundTasks, i: None = Depends(inner)):
        tasks.add_task(later)
        events.append("handler")
        return {"ok": True}

    with TestClient(app) as client:
        assert client.get("/").json() == {"ok": True}
        for _ in range(200):
            if "background" in events:
                break
            asyncio.run(asyncio.sleep(0.01))
    assert events == ["outer open", "inner open", "handler", "inner close", "outer close", "background"]


def test_an_error_in_cleanup_is_a_500_and_the_worker_keeps_serving() -> None:
    def broken():
        yield 1
        raise RuntimeError("cleanup failed")

    app = App()

    @app.get("/broken")
    def uses_broken(v: int = Depends(broken)):
        return {"v": v}

    @app.get("/fine")
    def fine():
        return {"fine": True}

    with TestClient(app) as client:
        assert client.get("/broken").status_code == 500
        assert client.get("/fine").json() == {"fine": True}


def test_dependency_overrides_replace_functions_and_singletons() -> None:
    def real_db() -> str:
        raise AssertionError("the real database must not be used in this test")

    app = App()
    app.register_singleton("cache", "real cache")

    @app.get("/")
    def index(db: str = Depends(real_db), cache: str = Depends("cache")):
        return {"db": db, "cache": cache}

    app.dependency_overrides[real_db] = lambda: "fake db"
    with TestClient(app) as client:
        assert client.get("/").json() == {"db": "fake db", "cache": "real cache"}
        # Overrides are read per request: set one while the client runs.
        app.dependency_overrides["cache"] = lambda: "fake cache"
        assert client.get("/").json() == {"db": "fake db", "cache": "fake cache"}
        app.dependency_overrides.clear()
        app.register_singleton("cache", "other")
        assert client.get("/").status_code == 500  # real_db raised


def test_an_unknown_singleton_fails_before_serving_with_a_hint() -> None:
    app = App()

    @app.get("/")
    def index(db=Depends("missing")):
        return {}

    with pytest.raises(LookupError, match=r"register_singleton\('missing'"), TestClient(app):
        pass


def test_route_dependencies_run_for_their_effect() -> None:
    def verify_key(x_key: Annotated[str, Depends(lambda: "unused")] = "", key: str = "") -> None:
        if key != "secret":
            raise HTTPException(403, "bad key")

    app = App()

    @app.get("/", dependencies=[Depends(verify_key)])
    def index():
        return {"ok": True}

    with TestClient(app) as client:
        assert client.get("/?key=secret").json() == {"ok": True}
        assert client.get("/?key=wrong").status_code == 403


def test_a_dependency_cycle_is_a_registration_error() -> None:
    def a(x: int = Depends(lambda: 1)) -> int:
        return x

    def b(y: int = Depends(a)) -> int:
        return y

    app = App()

    @app.get("/")
    def fine(v: int = Depends(b)):
        return {"v": v}

    with TestClient(app) as client:
        assert client.get("/").json() == {"v": 1}

    def loop_a(v: Any = None) -> Any:
        return v

    def loop_b(v: Any = Depends(loop_a)) -> Any:
        return v

    loop_a.__signature__ = __import__("inspect").signature(  # type: ignore[attr-defined]
        lambda v=Depends(loop_b): v
    )
    with pytest.raises(TypeError, match="dependency cycle"):

        @app.get("/loop")
        def loop(v: Any = Depends(loop_b)):
            return v


def test_an_unresolvable_annotation_is_a_registration_error_that_says_why() -> None:
    class Local:
        pass

    app = App()
    with pytest.raises(TypeError, match="cannot resolve the annotation 'Local'"):

        @app.get("/")
        def index(value: Local):
            return {}


def test_plain_request_handlers_are_not_wrapped() -> None:
    app = App()

    @app.get("/any")
    def any_request(request: Any):
        return {"method": request.method}

    @app.get("/")
    def index(request):
        return {"ok": True}

    @app.get("/none")
    def nothing():
        return {"ok": True}

    any_record, record, none_record = app._records
    assert any_record.plan is None and record.plan is None and none_record.plan is None
    with TestClient(app) as client:
        assert client.get("/any").json() == {"method": "GET"}


def test_async_dependency_in_a_sync_handler_makes_the_route_async() -> None:
    async def value() -> int:
        await asyncio.sleep(0)
        return 42

    app = App()

    @app.get("/")
    def index(v: int = Depends(value)):
        return {"v": v}

    with TestClient(app) as client:
        assert client.get("/").json() == {"v": 42}
    with pytest.raises(TypeError, match="blocking=True"):

        @app.get("/blocking", blocking=True)
        def blocked(v: int = Depends(value)):
            return {"v": v}


class Handler:
    """A callable object as a handler: its ``__call__`` annotations count."""

    def __call__(self, request: Request, n: int) -> dict[str, Any]:
        return {"method": request.method, "n": n}


def test_a_callable_object_handler_with_string_annotations() -> None:
    app = App()
    app.get("/{n}")(Handler())
    with TestClient(app) as client:
        assert client.get("/4").json() == {"method": "GET", "n": 4}
        assert client.get("/x").status_code == 422
