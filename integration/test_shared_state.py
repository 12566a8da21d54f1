"""Middleware state shared by worker processes through the local Redis: a rate limit of
N lets exactly N requests through in total while both of 2 workers answer; a response
cached by one worker is a HIT on the other, and an invalidation by one reaches both.

Which worker answered each request is read from the app's request log (pid first), so
the tests know both workers took part instead of hoping SO_REUSEPORT spread the load."""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import httpx
from support.processes import ServerProcess, wait_until

APP = Path(__file__).resolve().parent / "apps" / "shared_state_app.py"
LOG_LINE = re.compile(r'^(?P<pid>\d+) \S+ "(?P<method>[A-Z]+) (?P<path>/\S*)" (?P<status>\d{3}) ')
LIMIT = 20
#: Bound on requests sent while waiting for both workers to take part.
MAX_REQUESTS = 2000


def fresh(port: int, path: str, method: str = "GET") -> httpx.Response:
    # A new connection each time, so the kernel may pick either worker.
    return httpx.request(method, f"http://127.0.0.1:{port}{path}", headers={"Connection": "close"})


def answered(server: ServerProcess, path: str) -> dict[int, list[int]]:
    """pid → statuses of the requests to `path` each worker logged."""
    seen: dict[int, list[int]] = defaultdict(list)
    for line in server.stderr_matches(LOG_LINE):
        match = LOG_LINE.match(line)
        if match and match["path"] == path:
            seen[int(match["pid"])].append(int(match["status"]))
    return seen


def start(spawn: Callable[..., ServerProcess], env: dict[str, str]) -> tuple[ServerProcess, int]:
    server = spawn([sys.executable, str(APP), "--port", "0", "--workers", "2"], env=env)
    port, info = server.wait_ready()
    assert "2 workers" in info
    # Both workers up and answering before anything is measured.
    pids: set[int] = set()
    wait_until(lambda: pids.add(fresh(port, "/pid").json()["pid"]) or len(pids) == 2, 60, "both workers")
    return server, port


def test_rate_limit_is_shared_by_two_workers(
    spawn: Callable[..., ServerProcess], redis_url: str, key_prefix: str
) -> None:
    env = {"CELLO_TEST_REDIS_URL": redis_url, "CELLO_TEST_PREFIX": key_prefix,
           "CELLO_TEST_LIMIT": str(LIMIT)}
    server, port = start(spawn, env)
    sent = 0
    statuses: list[int] = []
    while sent < 3 * LIMIT or len(answered(server, "/limited")) < 2:
        assert sent < MAX_REQUESTS, f"one worker answered every request: {answered(server, '/limited')}"
        response = fresh(port, "/limited")
        sent += 1
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert response.headers["content-type"] == "application/problem+json"
            assert int(response.headers["retry-after"]) >= 1
            assert response.headers["ratelimit"].startswith('"default";r=0;t=')
    assert statuses.count(200) == LIMIT, statuses
    assert statuses.count(429) == sent - LIMIT
    wait_until(lambda: sum(map(len, answered(server, "/limited").values())) == sent, 10, "the log")
    per_worker = answered(server, "/limited")
    assert len(per_worker) == 2 and all(per_worker.values()), per_worker


def test_cache_and_invalidation_are_shared_by_two_workers(
    spawn: Callable[..., ServerProcess], redis_url: str, key_prefix: str
) -> None:
    server, port = start(spawn, {"CELLO_TEST_REDIS_URL": redis_url, "CELLO_TEST_PREFIX": key_prefix})
    for _round in range(2):
        before = {pid: len(s) for pid, s in answered(server, "/cached").items()}
        first = fresh(port, "/cached")
        assert first.headers["x-cache"] == "MISS"
        body = first.json()
        sent = 1

        def both_hit(before: dict[int, int] = before) -> bool:
            now = answered(server, "/cached")
            return len([pid for pid, s in now.items() if len(s) > before.get(pid, 0)]) == 2

        while sent < 10 or not both_hit():
            assert sent < MAX_REQUESTS, "one worker answered every request"
            response = fresh(port, "/cached")
            sent += 1
            # With each worker's own memory, the second worker would miss once.
            assert response.headers["x-cache"] == "HIT", (sent, response.headers)
            assert response.json() == body
        assert fresh(port, "/invalidate", "POST").status_code == 200
        # The deletion runs on the invalidating worker's loop just after it answered.
        wait_until(lambda: fresh(port, "/cached").headers["x-cache"] == "MISS", 10, "the invalidation")
        assert fresh(port, "/invalidate", "POST").status_code == 200
        wait_until(lambda: fresh(port, "/cached").headers["x-cache"] == "MISS", 10, "the invalidation")
        fresh(port, "/invalidate", "POST")
        wait_until(lambda: fresh(port, "/cached").headers["x-cache"] == "MISS", 10, "the invalidation")
        fresh(port, "/invalidate", "POST")


def test_a_session_made_on_one_worker_is_read_on_the_other(
    spawn: Callable[..., ServerProcess], redis_url: str, key_prefix: str
) -> None:
    _server, port = start(spawn, {"CELLO_TEST_REDIS_URL": redis_url, "CELLO_TEST_PREFIX": key_prefix})
    first = fresh(port, "/session")
    assert first.json()["visits"] == 1
    cookie = first.headers["set-cookie"].split(";")[0]
    visits = 1
    pids = {first.json()["pid"]}
    while len(pids) < 2 or visits < 10:
        assert visits < MAX_REQUESTS, "one worker answered every request"
        response = httpx.get(f"http://127.0.0.1:{port}/session", headers={"Connection": "close", "Cookie": cookie})
        visits += 1
        # Each worker's own memory would restart the count on the other worker.
        assert response.json()["visits"] == visits, (visits, response.json())
        pids.add(response.json()["pid"])
