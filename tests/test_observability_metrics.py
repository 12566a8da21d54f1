"""Prometheus metrics: the exposition checked by promtool, counts of a 2-worker server
equal to the requests sent, counters surviving a worker restart, application metrics
summed over workers, and the operational paths kept out of metrics and rate limits."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable

import pytest
from cello import App
from cello.observability import Counter, Gauge, Histogram
from cello.testing import TestClient
from support.processes import REPO, ServerProcess, get, wait_until

APP = REPO / "tests" / "apps" / "observability_app.py"


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in an exposition (0 when absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    pattern = re.escape(name) + (re.escape("{" + wanted + "}") if labels else "") + r" (\S+)$"
    for line in text.splitlines():
        match = re.match(pattern, line)
        if match:
            return float(match.group(1))
    return 0.0


def promtool_check(text: str) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is missing (Debian package `prometheus`; .ci/run installs it)")
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    result = subprocess.run(
        [promtool, "check", "metrics"], check=False, input=text.encode(), capture_output=True, timeout=60
    )
    assert result.returncode == 0, (result.stdout + result.stderr).decode() + "\n" + text


def spawn_app(spawn: Callable[..., ServerProcess], *args: str, env: dict[str, str] | None = None) -> tuple[ServerProcess, int]:
    server = spawn([sys.executable, str(APP), "--port", "0", *args], env=env)
    port, _ = server.wait_ready()
    return server, port


def scrape(port: int) -> tuple[str, int]:
    status, headers, body = get(port, "/metrics")
    assert status == 200, body
    assert headers["content-type"].startswith("text/plain; version=0.0.4")
    text = body.decode()
    # The app's prometheus_client collector names the answering worker (the probes and
    # /metrics skip the after_request hook that sets x-worker-pid elsewhere).
    assert "x-worker-pid" not in headers
    return text, int(sample(text, "scraping_worker_pid"))


def test_the_exposition_passes_promtool_and_labels_by_route_template() -> None:
    app = App()
    app.enable_prometheus(namespace="shop", subsystem="api")
    orders = Counter("orders", "Orders placed.", ["kind"])
    depth = Gauge("queue_depth", "Jobs waiting.")
    render = Histogram("render_seconds", "Render time.", ["page"], buckets=[0.01, 0.1, 1])

    @app.get("/items/{id:int}")
    def item(request):
        orders.labels(kind='quote"d\\').inc(2)
        depth.set(5)
        render.labels(page="item").observe(0.05)
        return {"id": request.params["id"]}

    with TestClient(app) as client:
        for number in range(3):
            assert client.get(f"/items/{number}").status_code == 200
        assert client.get("/missing/route").status_code == 404
        response = client.get("/metrics")
    text = response.text
    promtool_check(text)
    assert sample(text, "shop_api_requests_total", method="GET", route="/items/{id:int}", status="200") >= 3
    assert sample(text, "shop_api_requests_total", method="GET", route="unmatched", status="404") >= 1
    # Raw paths never become labels.
    assert 'route="/items/1"' not in text and "/missing/route" not in text
    assert sample(text, "shop_api_request_duration_seconds_count", method="GET", route="/items/{id:int}") >= 3
    duration = sample(text, "shop_api_request_duration_seconds_sum", method="GET", route="/items/{id:int}")
    assert 0 < duration < 60, "durations are real seconds"
    assert sample(text, 'orders_total', kind='quote\\"d\\\\') >= 2
    assert sample(text, "queue_depth") == 5
    assert sample(text, "render_seconds_bucket", page="item", le="0.1") >= 1
    assert sample(text, "process_resident_memory_bytes") > 0
    assert sample(text, "shop_api_requests_in_flight") == 0
    # The scrape itself is not counted.
    assert 'route="/metrics"' not in text


def test_a_prometheus_client_registry_is_appended() -> None:
    prometheus_client = pytest.importorskip("prometheus_client")
    registry = prometheus_client.CollectorRegistry()
    legacy = prometheus_client.Counter("legacy_events", "Events counted by prometheus_client.", registry=registry)
    legacy.inc(7)
    app = App()
    app.enable_prometheus(registry=registry)
    with TestClient(app) as client:
        text = client.get("/metrics").text
    promtool_check(text)
    assert sample(text, "legacy_events_total") == 7


def test_the_metrics_endpoint_skips_rate_limits_and_disabled_metrics_cost_nothing() -> None:
    plain = App()
    assert plain._observability() is None, "no observability: the engine gets no hook at all"
    app = App()
    app.enable_rate_limit(requests=2, window=3600)
    app.enable_prometheus()

    @app.get("/limited")
    def limited(request):
        return {}

    with TestClient(app) as client:
        for _ in range(6):
            assert client.get("/metrics").status_code == 200
        statuses = [client.get("/limited").status_code for _ in range(4)]
        assert statuses.count(429) >= 1
        text = client.get("/metrics").text
    assert sample(text, "cello_http_requests_total", method="GET", route="/limited", status="429") >= 1


def test_two_workers_count_together_and_counters_survive_a_worker_restart(
    spawn: Callable[..., ServerProcess],
) -> None:
    server, port = spawn_app(spawn, "--workers", "2")
    pids: set[int] = set()
    sent = 0
    # Fresh connections until both workers have answered (SO_REUSEPORT need not spread
    # them evenly), at least 20 requests.
    while (len(pids) < 2 or sent < 20) and sent < 2000:
        status, headers, _ = get(port, f"/users/{sent}")
        assert status == 200
        pids.add(int(headers["x-worker-pid"]))
        sent += 1
    assert len(pids) == 2, f"only one worker answered in {sent} requests"
    jobs_sent = {pid: 0 for pid in pids}
    while min(jobs_sent.values()) == 0 and sum(jobs_sent.values()) < 2000:
        connection_status, headers, _ = post(port, "/jobs/mail")
        assert connection_status == 200
        jobs_sent[int(headers["x-worker-pid"])] += 1
    scraped_by: set[int] = set()
    for _ in range(2000):
        text, worker = scrape(port)
        scraped_by.add(worker)
        # Whichever worker answers, it reports the whole server.
        assert sample(text, "cello_http_requests_total", method="GET", route="/users/{id}", status="200") == sent
        assert sample(text, "jobs_total", kind="mail") == sum(jobs_sent.values())
        if len(scraped_by) == 2:
            break
    assert len(scraped_by) == 2, "the scrape never reached the second worker"
    promtool_check(text)
    assert sample(text, "cello_workers") == 2

    victim = next(iter(pids))
    os.kill(victim, signal.SIGKILL)
    server.wait_for_line("stderr", rf"\(pid {victim}\) was killed by signal SIGKILL; restarting it")

    def restarted() -> str | None:
        text, _ = scrape(port)
        return text if sample(text, "cello_workers") == 2 and str(victim) not in text else None

    text = wait_until(restarted, 30, "the replacement worker to take its slot")
    assert sample(text, "cello_http_requests_total", method="GET", route="/users/{id}", status="200") == sent
    assert sample(text, "jobs_total", kind="mail") == sum(jobs_sent.values())
    assert sample(text, "cello_worker_restarts_total", reason="exited") == 1
    promtool_check(text)


def post(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("POST", path, body=b"")
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()

