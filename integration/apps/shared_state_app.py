"""An app whose middleware state lives in Redis, run with several workers by the
integration tests: ``python integration/apps/shared_state_app.py --port 0 --workers 2``.

Environment: CELLO_TEST_REDIS_URL, CELLO_TEST_PREFIX (the key prefix), CELLO_TEST_LIMIT
(the rate limit's capacity).
"""

from __future__ import annotations

import os

from cello import App, RateLimitConfig, RedisStore

app = App()
app.set_store(RedisStore(os.environ["CELLO_TEST_REDIS_URL"], key_prefix=os.environ["CELLO_TEST_PREFIX"]))
limit = int(os.environ.get("CELLO_TEST_LIMIT", "20"))
# A refill of one token per hour: within the test, the limit is exactly `limit`.
app.enable_rate_limit(RateLimitConfig.token_bucket(capacity=limit, refill_rate=1 / 3600))


@app.get("/pid")
def pid(request):
    return {"pid": os.getpid()}


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000, env="production", logs=False)
