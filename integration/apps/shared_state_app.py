"""An app whose middleware state lives in Redis, run with several workers by the
integration tests: ``python integration/apps/shared_state_app.py --port 0 --workers 2``.

Every request is logged to stderr as ``<pid> <client> "GET /path" <status> ...`` (by
``app.enable_logging()``), so a test can tell which worker answered, 429s and cache
hits included.

Environment: CELLO_TEST_REDIS_URL, CELLO_TEST_PREFIX (the key prefix), CELLO_TEST_LIMIT
(the rate limit's capacity; no rate limit without it).
"""

from __future__ import annotations

import logging
import os

from cello import App, RateLimitConfig, RedisStore, SessionConfig, cache

logging.basicConfig(format="%(process)d %(message)s", level=logging.INFO)
app = App()
app.enable_logging()
app.set_store(RedisStore(os.environ["CELLO_TEST_REDIS_URL"], key_prefix=os.environ["CELLO_TEST_PREFIX"]))
if "CELLO_TEST_LIMIT" in os.environ:
    # A refill of one token per hour: within the test, the limit is exactly the capacity.
    app.enable_rate_limit(RateLimitConfig.token_bucket(
        capacity=int(os.environ["CELLO_TEST_LIMIT"]), refill_rate=1 / 3600, exempt_paths=["/pid"],
    ))
# Only /cached is cached: enable_caching caches every GET 200 unless excluded.
app.enable_caching(ttl=3600, exclude_paths=["/pid", "/limited", "/session"])
app.enable_session(SessionConfig(secret="integration-test-secret-" + "x" * 16, cookie_secure=False))


@app.get("/pid")
def pid(request):
    return {"pid": os.getpid()}


@app.get("/limited")
def limited(request):
    return {"pid": os.getpid()}


@app.get("/cached")
@cache(tags=["shared"])
def cached(request):
    return {"pid": os.getpid()}


@app.get("/session")
def session(request):
    request.session["visits"] = request.session.get("visits", 0) + 1
    return {"pid": os.getpid(), "visits": request.session["visits"]}


@app.post("/invalidate")
def invalidate(request):
    app.invalidate_cache(["shared"])
    return {"invalidated_by": os.getpid()}


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000, env="production", logs=False)
