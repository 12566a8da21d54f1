"""Rate limits over a real socket with the memory store: exactly N, then 429
problem+json with Retry-After and the IETF fields; /health not charged; CORS and
security headers on the 429; trusted proxies; the seeds' and the original's spellings;
a Redis that cannot be reached (fail open, fail closed)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from cello import App, RateLimitConfig, RedisStore
from cello.testing import LiveServer, TestClient


def limited_app(config: RateLimitConfig, **extra: object) -> App:
    app = App()
    app.enable_cors()
    app.enable_security_headers()
    app.enable_rate_limit(config)

    @app.get("/")
    def index(request):
        return {"ok": True}

    @app.get("/health")
    def health(request):
        return {"status": "UP"}

    return app


def test_exactly_n_then_429_with_headers(live: Callable[..., LiveServer]) -> None:
    server = live(limited_app(RateLimitConfig.token_bucket(capacity=3, refill_rate=1 / 3600)))
    with httpx.Client(base_url=server.url) as client:
        allowed = [client.get("/") for _ in range(3)]
        assert [r.status_code for r in allowed] == [200, 200, 200]
        assert allowed[0].headers["ratelimit-policy"] == '"default";q=3;w=10800'
        assert allowed[0].headers["ratelimit"].startswith('"default";r=2;t=')
        assert [r.headers["x-ratelimit-remaining"] for r in allowed] == ["2", "1", "0"]
        refused = client.get("/", headers={"Origin": "https://app.example"})
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["status"] == 429
        # one token per hour: the next one is an hour away, not the original's fixed 60
        assert 3500 <= int(refused.headers["retry-after"]) <= 3600
        assert refused.headers["access-control-allow-origin"] == "*"
        assert refused.headers["x-frame-options"] == "DENY"
        # /health is not charged
        assert [client.get("/health").status_code for _ in range(5)] == [200] * 5


def test_sliding_window(live: Callable[..., LiveServer]) -> None:
    server = live(limited_app(RateLimitConfig.sliding_window(max_requests=2, window_secs=3600)))
    statuses = [httpx.get(server.url + "/").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_forwarded_for_only_from_trusted_proxies() -> None:
    app = limited_app(RateLimitConfig.token_bucket(capacity=1, refill_rate=1 / 3600))
    with TestClient(app) as client:  # no socket: every request is the same client
        assert client.get("/", headers={"X-Forwarded-For": "198.51.100.1"}).status_code == 200
        assert client.get("/", headers={"X-Forwarded-For": "198.51.100.2"}).status_code == 429


def test_trusted_proxy_names_the_client(live: Callable[..., LiveServer]) -> None:
    app = limited_app(RateLimitConfig.token_bucket(capacity=1, refill_rate=1 / 3600))
    app.set_trusted_proxies(["127.0.0.1"])
    server = live(app)
    for client_ip in ("198.51.100.1", "198.51.100.2"):
        response = httpx.get(server.url + "/", headers={"X-Forwarded-For": client_ip})
        assert response.status_code == 200, client_ip
    again = httpx.get(server.url + "/", headers={"X-Forwarded-For": "198.51.100.1"})
    assert again.status_code == 429


def test_keyed_by_header() -> None:
    app = limited_app(RateLimitConfig.token_bucket(capacity=1, refill_rate=1 / 3600, key_by="header:X-Api-Key"))
    with TestClient(app) as client:
        assert client.get("/", headers={"X-Api-Key": "a"}).status_code == 200
        assert client.get("/", headers={"X-Api-Key": "b"}).status_code == 200
        assert client.get("/", headers={"X-Api-Key": "a"}).status_code == 429


def test_every_documented_spelling() -> None:
    seed_003 = RateLimitConfig.token_bucket(max_requests=100, window_secs=60)
    seed_004 = RateLimitConfig.token_bucket(requests=100, window=60)
    original = RateLimitConfig.token_bucket(100, 100 / 60)
    for config in (seed_003, seed_004, original):
        assert (config.capacity, round(config.refill_rate, 6)) == (100, round(100 / 60, 6))
    assert RateLimitConfig.sliding_window(requests=5, window=10).window_secs == 10
    adaptive = RateLimitConfig.adaptive(capacity=50, refill_rate=5, min_capacity=5, error_threshold=0.2)
    App().enable_rate_limit(adaptive)
    App().enable_rate_limit(requests=10, window=1)
    app = App()
    app.use(seed_004)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: RateLimitConfig.token_bucket(capacity=0, refill_rate=1), "capacity"),
        (lambda: RateLimitConfig.token_bucket(capacity=5, refill_rate=-1), "refill_rate"),
        (lambda: RateLimitConfig.sliding_window(max_requests=5, window_secs=0), "window_secs"),
        (lambda: RateLimitConfig.adaptive(capacity=5, min_capacity=9), "min_capacity"),
        (lambda: RateLimitConfig(key_by="user"), "key_by"),
        (lambda: RateLimitConfig(exempt_paths=["health"]), "start with"),
    ],
)
def test_bad_configuration(make: Callable[[], RateLimitConfig], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        App().enable_rate_limit(make())


def test_unsupported_options_say_so() -> None:
    with pytest.raises(ValueError, match="not supported"):
        RateLimitConfig.adaptive(cpu_threshold=0.8)
    with pytest.raises(TypeError, match="callable"):
        RateLimitConfig(key_by=lambda request: "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="redis://"):
        RedisStore("localhost:6379")


@pytest.mark.parametrize(("fail_closed", "status"), [(False, 200), (True, 503)])
def test_unreachable_redis(fail_closed: bool, status: int) -> None:
    config = RateLimitConfig.token_bucket(
        capacity=1, refill_rate=1, store=RedisStore("redis://127.0.0.1:9/0", timeout=0.2),
        fail_closed=fail_closed,
    )
    with TestClient(limited_app(config)) as client:
        for _ in range(3):
            response = client.get("/")
            assert response.status_code == status
            if fail_closed:
                assert response.headers["content-type"] == "application/problem+json"
