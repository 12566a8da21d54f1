"""The built-in middleware, all in Rust, in one app: request ids, CORS, security
headers, a rate limit, JWT on /api, sessions, compression, a response cache with tags,
a circuit breaker, static files, and a Python middleware of your own.

    python examples/middleware.py --port 8000
    curl -i localhost:8000/hello                  # request id, security headers
    curl -i -H 'Accept-Encoding: gzip' localhost:8000/report
    curl -i localhost:8000/api/me                 # 401 without a token

With several workers, set REDIS_URL=redis://127.0.0.1:6379/0 so the limit, the
sessions and the cache are shared by all of them (memory stores are per worker).
"""

import os
import time
from pathlib import Path

from cello import (
    App,
    JwtConfig,
    RateLimitConfig,
    RedisStore,
    SessionConfig,
    StaticFilesConfig,
    cache,
)

app = App()
if os.environ.get("REDIS_URL"):
    app.set_store(RedisStore(os.environ["REDIS_URL"]))

app.enable_request_id()
app.enable_cors(origins=["http://localhost:3000"], allow_credentials=True)
app.enable_security_headers()
app.enable_rate_limit(RateLimitConfig.token_bucket(capacity=100, refill_rate=10))
app.enable_jwt(
    JwtConfig(secret=os.environ.get("JWT_SECRET", "change-me-to-a-secret-of-32-bytes-or-more")),
    # Everything else needs a token. A skip path covers the paths under it too, so "/"
    # would cover them all: list the public prefixes instead.
    skip_paths=["/hello", "/report", "/visits", "/static", "/items", "/health"],
)
app.enable_session(SessionConfig(
    secret=os.environ.get("SESSION_SECRET", "change-me-as-well-to-32-bytes-or-more!!"),
    cookie_secure=False,  # plain HTTP on localhost; keep the default (True) behind TLS
))
app.enable_compression()
app.enable_caching(ttl=60, exclude_paths=["/visits", "/api"])
app.enable_circuit_breaker(failure_threshold=5, reset_timeout=30)
app.enable_static_files(StaticFilesConfig(Path(__file__).parent, prefix="/static"))


@app.middleware("http")
async def timing(request, call_next):
    started = time.perf_counter()
    response = await call_next(request)
    response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
    return response


@app.get("/hello")
def index(request):
    return {"hello": "world", "request_id": request.request_id}


@app.get("/report")
def report(request):
    return {"rows": [{"n": n, "label": f"row {n}"} for n in range(200)]}


@app.get("/visits")
def visits(request):
    request.session["visits"] = request.session.get("visits", 0) + 1
    return {"visits": request.session["visits"]}


@app.get("/items")
@cache(ttl=30, tags=["items"])
def items(request):
    return {"items": [1, 2, 3], "made_at": time.time()}


@app.post("/api/items")
def add_item(request):
    app.invalidate_cache(["items"])
    return {"added": True, "by": request.user["sub"]}


@app.get("/api/me")
def me(request):
    return {"user": request.user}


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
