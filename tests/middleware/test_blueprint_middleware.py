"""Middleware enabled on a blueprint applies to its routes (and nested blueprints')
only, inside the app's middleware: CORS with its preflights, a rate limit, JWT."""

from __future__ import annotations

import pytest
from cello import App, Blueprint, RateLimitConfig
from cello.testing import TestClient

ORIGIN = "https://app.example"


def scoped_app() -> App:
    app = App()
    app.enable_security_headers()
    api = Blueprint("/api")
    api.enable_cors(origins=[ORIGIN])
    api.enable_rate_limit(RateLimitConfig.token_bucket(capacity=2, refill_rate=1 / 3600))

    @api.get("/items")
    def items(request):
        return {"items": []}

    inner = Blueprint("/v2")

    @inner.get("/things")
    def things(request):
        return {"things": []}

    api.register_blueprint(inner)
    app.register_blueprint(api)

    @app.get("/public")
    def public(request):
        return {"public": True}

    return app


def test_blueprint_layers_apply_to_its_routes_only() -> None:
    with TestClient(scoped_app()) as client:
        scoped = client.get("/api/items", headers={"Origin": ORIGIN})
        assert scoped.headers["access-control-allow-origin"] == ORIGIN
        assert scoped.headers["x-frame-options"] == "DENY", "the app's layers still run"
        assert scoped.headers["ratelimit-policy"].startswith('"default";q=2')
        nested = client.get("/api/v2/things", headers={"Origin": ORIGIN})
        assert nested.headers["access-control-allow-origin"] == ORIGIN
        assert client.get("/api/items").status_code == 429, "one limit for the blueprint's routes"
        outside = client.get("/public", headers={"Origin": ORIGIN})
        assert "access-control-allow-origin" not in outside.headers
        assert "ratelimit-policy" not in outside.headers
        assert [client.get("/public").status_code for _ in range(5)] == [200] * 5


def test_preflight_to_a_blueprint_route_is_answered_by_its_cors() -> None:
    with TestClient(scoped_app()) as client:
        preflight = client.options(
            "/api/items", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"}
        )
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == ORIGIN
        outside = client.options(
            "/public", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"}
        )
        assert "access-control-allow-origin" not in outside.headers


def test_app_wide_calls_are_refused_on_a_blueprint() -> None:
    bp = Blueprint("/x")
    with pytest.raises(TypeError, match="App"):
        bp.set_store(None)
    with pytest.raises(TypeError, match="app-wide"):
        bp.enable_caching()
    with pytest.raises(TypeError, match="App"):
        bp.middleware("http")
