"""Every middleware example of seeds 003 (App reference) and 004 (async guide), run
unchanged: the seed's lines, then a request showing the middleware really works."""

from __future__ import annotations

import asyncio

from cello import App, RateLimitConfig, cache
from cello.testing import TestClient


def with_route(app: App) -> App:
    @app.get("/")
    def index(request):
        return {"items": ["x" * 40] * 100}

    return app


def test_seed_003_cors() -> None:
    app = App()
    # Allow all origins (default)
    app.enable_cors()
    with TestClient(with_route(app)) as client:
        assert client.get("/", headers={"Origin": "https://a.example"}).headers["access-control-allow-origin"] == "*"
    app = App()
    # Restrict to specific origins
    app.enable_cors(origins=["https://example.com", "https://app.example.com"])
    with TestClient(with_route(app)) as client:
        allowed = client.get("/", headers={"Origin": "https://example.com"})
        assert allowed.headers["access-control-allow-origin"] == "https://example.com"
        assert "access-control-allow-origin" not in client.get("/", headers={"Origin": "https://b.example"}).headers


def test_seed_003_logging_and_compression(caplog) -> None:  # type: ignore[no-untyped-def]
    app = App()
    app.enable_logging()
    # Default minimum size (1024 bytes)
    app.enable_compression()
    with TestClient(with_route(app)) as client:
        response = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert any('"GET /"' in record.getMessage() for record in caplog.records)
    app = App()
    # Custom minimum size
    app.enable_compression(min_size=512)
    with TestClient(with_route(app)) as client:
        raw = client.get("/", headers={"Accept-Encoding": "gzip"})
        assert raw.headers["content-encoding"] == "gzip"


def test_seed_003_rate_limit() -> None:
    app = App()
    config = RateLimitConfig.token_bucket(max_requests=100, window_secs=60)
    app.enable_rate_limit(config)
    with TestClient(with_route(app)) as client:
        statuses = [client.get("/").status_code for _ in range(101)]
    assert statuses.count(200) == 100 and statuses[-1] == 429


def test_seed_003_caching_and_invalidation() -> None:
    app = App()
    # Default caching (300s TTL, GET and HEAD only)
    app.enable_caching()
    with TestClient(with_route(app)) as client:
        client.get("/")
        assert client.get("/").headers["x-cache"] == "HIT"
    app = App()
    # Custom configuration
    app.enable_caching(
        ttl=600,
        methods=["GET"],
        exclude_paths=["/api/realtime", "/ws"]
    )

    def create_in_db(data):
        return data

    @app.get("/users")
    @cache(tags=["users"])
    def users(request):
        return {"users": []}

    @app.post("/users")
    def create_user(request):
        user = create_in_db(request.json())
        app.invalidate_cache(["users"])
        return {"user": user}

    with TestClient(app) as client:
        client.get("/users")
        assert client.get("/users").headers["x-cache"] == "HIT"
        assert client.post("/users", json={"name": "a"}).json() == {"user": {"name": "a"}}
        assert client.get("/users").headers["x-cache"] == "MISS"


def test_seed_003_circuit_breaker() -> None:
    app = App()
    # Default configuration
    app.enable_circuit_breaker()
    app = App()
    # Custom thresholds
    app.enable_circuit_breaker(
        failure_threshold=5,
        reset_timeout=30,
        half_open_target=3,
        failure_codes=[500, 502, 503, 504]
    )

    @app.get("/boom")
    def boom(request):
        raise RuntimeError("down")

    with TestClient(app) as client:
        statuses = [client.get("/boom").status_code for _ in range(6)]
    assert statuses == [500] * 5 + [503]


def test_seed_004_async_middleware_and_cache() -> None:
    app = App()
    # All middleware runs asynchronously in Rust
    app.enable_cors()
    app.enable_logging()
    app.enable_rate_limit(RateLimitConfig.token_bucket(
    requests=100, window=60
    ))
    app.enable_caching()

    class Db:
        calls = 0

        async def fetch_all(self, query):
            Db.calls += 1
            await asyncio.sleep(0)
            return [{"id": 1}]

    db = Db()

    # @cache with an async handler
    @app.get("/items")
    @cache(ttl=120, tags=["items"])
    async def list_items(request):
        items = await db.fetch_all("SELECT * FROM items")
        return {"items": items}

    with TestClient(app) as client:
        first = client.get("/items")
        second = client.get("/items")
    assert first.json() == second.json() == {"items": [{"id": 1}]}
    assert second.headers["x-cache"] == "HIT" and Db.calls == 1
