"""Every error Cello answers has the same RFC 9457 shape (docs/errors.md), over a real
socket: 400, 401, 403, 404, 405, 413, 422, 429 and 500."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from cello import App, HTTPException, JwtConfig, RateLimitConfig
from cello.guards import RoleGuard
from cello.testing import LiveServer


def test_every_error_is_problem_json(live: Callable[..., LiveServer]) -> None:
    app = App()
    throttled = App()
    throttled.enable_rate_limit(RateLimitConfig.token_bucket(capacity=1, refill_rate=0.001))

    @throttled.get("/limited")
    def limited(request):
        return {}

    @app.post("/small", body_limit=8)
    def small(request):
        return {}

    @app.post("/json")
    def parse(request):
        return request.json()

    @app.get("/typed/{n}")
    def typed(n: int):
        return {"n": n}

    @app.get("/admin", guards=[RoleGuard(["admin"])])
    def admin(request):
        return {}

    @app.get("/teapot")
    def teapot(request):
        raise HTTPException(418, "short and stout")

    @app.get("/crash")
    def crash(request):
        raise RuntimeError("boom")

    secured = App()
    secured.enable_jwt(JwtConfig(secret="problem-details-secret-of-32-bytes!!"))

    @secured.get("/me")
    def me(request):
        return {}

    server = live(app)
    jwt_server = live(secured)
    throttled_server = live(throttled)
    cases = [
        (httpx.post(server.url + "/json", content=b"{nope"), 400),
        (httpx.get(jwt_server.url + "/me"), 401),
        (httpx.get(server.url + "/admin"), 401),
        (httpx.get(server.url + "/nowhere"), 404),
        (httpx.delete(server.url + "/teapot"), 405),
        (httpx.post(server.url + "/small", content=b"x" * 64), 413),
        (httpx.get(server.url + "/teapot"), 418),
        (httpx.get(server.url + "/typed/x"), 422),
        (httpx.get(server.url + "/crash"), 500),
    ]
    assert httpx.get(throttled_server.url + "/limited").status_code == 200
    cases.append((httpx.get(throttled_server.url + "/limited"), 429))
    for response, status in cases:
        assert response.status_code == status, (status, response.text)
        assert response.headers["content-type"] == "application/problem+json", (status, response.headers)
        body = response.json()
        assert body["status"] == status
        assert isinstance(body["title"], str) and body["title"]
        assert isinstance(body["detail"], str) and body["detail"]
        assert body.get("type", "about:blank") == "about:blank"
    assert "boom" not in cases[-2][0].text  # no internals in a production 500
