"""Middleware state shared by worker processes through the local Redis: a rate limit of
N lets exactly N requests through in total, whichever of 2 workers serves them."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
from support.processes import ServerProcess

APP = Path(__file__).resolve().parent / "apps" / "shared_state_app.py"
LIMIT = 20


def test_rate_limit_is_shared_by_two_workers(
    spawn: Callable[..., ServerProcess], redis_url: str, key_prefix: str
) -> None:
    env = {"CELLO_TEST_REDIS_URL": redis_url, "CELLO_TEST_PREFIX": key_prefix,
           "CELLO_TEST_LIMIT": str(LIMIT)}
    server = spawn([sys.executable, str(APP), "--port", "0", "--workers", "2"], env=env)
    port, info = server.wait_ready()
    assert "2 workers" in info
    statuses: Counter[int] = Counter()
    served_by: set[int] = set()
    for _ in range(3 * LIMIT):
        # A new connection each time, so SO_REUSEPORT spreads them over the workers.
        response = httpx.get(f"http://127.0.0.1:{port}/pid", headers={"Connection": "close"})
        statuses[response.status_code] += 1
        if response.status_code == 200:
            served_by.add(response.json()["pid"])
        else:
            assert response.status_code == 429
            assert response.headers["content-type"] == "application/problem+json"
            assert int(response.headers["retry-after"]) >= 1
            assert response.headers["ratelimit"].startswith('"default";r=0;t=')
    assert statuses == {200: LIMIT, 429: 2 * LIMIT}, statuses
    # 20 allowed requests all on one of two workers: about one chance in 500,000.
    assert len(served_by) == 2, f"every allowed request went to one worker: {served_by}"
