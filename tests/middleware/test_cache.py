"""The response cache and the circuit breaker through the engine: HIT/MISS, @cache TTL
and tags on sync and async handlers, invalidate_cache, Set-Cookie and Authorization
never cached, and a breaker that opens, answers 503 without the handler, and closes."""

from __future__ import annotations

import pytest
from cello import App, Response, cache
from cello.testing import TestClient


def cached_app() -> tuple[App, list[str]]:
    app = App()
    app.enable_caching(ttl=300)
    calls: list[str] = []

    @app.get("/items")
    @cache(ttl=120, tags=["items"])
    def items(request):
        calls.append("items")
        return {"items": len(calls)}

    @app.get("/async-items")
    @cache(tags=["items"])
    async def async_items(request):
        calls.append("async")
        return {"async": len(calls)}

    @app.get("/cookie")
    def cookie(request):
        calls.append("cookie")
        response = Response.json({"n": len(calls)})
        response.set_cookie("seen", "1")
        return response

    @app.post("/items")
    def create(request):
        app.invalidate_cache(["items"])
        return {"created": True}

    return app, calls


def test_hit_miss_tags_and_invalidation() -> None:
    app, calls = cached_app()
    with TestClient(app) as client:
        first = client.get("/items")
        assert first.headers["x-cache"] == "MISS"
        assert "x-cache-ttl" not in first.headers and "x-cache-tags" not in first.headers
        second = client.get("/items")
        assert second.headers["x-cache"] == "HIT"
        assert second.json() == first.json()
        assert "age" in second.headers
        assert client.get("/async-items").headers["x-cache"] == "MISS"
        assert client.get("/async-items").headers["x-cache"] == "HIT"
        assert calls == ["items", "async"]
        client.post("/items")
        assert client.get("/items").headers["x-cache"] == "MISS"
        assert client.get("/async-items").headers["x-cache"] == "MISS"
        assert calls == ["items", "async", "items", "async"]


def test_cookies_and_credentials_are_never_cached() -> None:
    app, calls = cached_app()
    with TestClient(app) as client:
        client.get("/cookie")
        client.get("/cookie")
        assert calls == ["cookie", "cookie"]
        client.get("/items", headers={"Authorization": "Bearer x"})
        client.get("/items", headers={"Authorization": "Bearer x"})
        assert calls.count("items") == 2


def test_invalidate_without_caching_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="enable_caching"):
        App().invalidate_cache(["x"])
    with pytest.raises(ValueError, match="tag"):
        cache(tags=["a,b"])


def test_circuit_breaker_opens_and_answers_503() -> None:
    app = App()
    app.enable_circuit_breaker(failure_threshold=2, reset_timeout=3600)
    calls: list[int] = []

    @app.get("/flaky")
    def flaky(request):
        calls.append(1)
        return Response.json({"error": "down"}, status=502)

    @app.get("/fine")
    def fine(request):
        return {"ok": True}

    with TestClient(app) as client:
        assert [client.get("/flaky").status_code for _ in range(2)] == [502, 502]
        refused = client.get("/flaky")
        assert refused.status_code == 503
        assert refused.headers["content-type"] == "application/problem+json"
        assert 3500 <= int(refused.headers["retry-after"]) <= 3600
        assert len(calls) == 2, "the open circuit does not call the handler"
        assert client.get("/fine").status_code == 200, "other routes are unaffected"


def test_circuit_breaker_bad_config() -> None:
    with pytest.raises(ValueError, match="failure_threshold"):
        App().enable_circuit_breaker(failure_threshold=0)
    with pytest.raises(ValueError):
        App().enable_circuit_breaker(failure_codes=[42])
    with pytest.raises(ValueError, match="seconds"):
        App().enable_circuit_breaker(reset_timeout=-1)
