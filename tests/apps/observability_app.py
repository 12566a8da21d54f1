"""An app for the subprocess tests in tests/test_observability_*.py.

Run as a script: ``python tests/apps/observability_app.py --port 0 --workers 2``.

Environment:
    CELLO_OBS_STARTUP_GATE: the (async) startup hook waits until this file exists.
    CELLO_OBS_FAIL: the health check ``flag`` fails while this file exists.
    CELLO_OBS_SHUTDOWN_DELAY: ``HealthCheckConfig(shutdown_delay_secs=...)``.
    CELLO_OBS_MAX_REQUESTS: ``ServerConfig(max_requests=...)``.
    CELLO_OBS_LOG_FORMAT: ``app.enable_logging(LoggingConfig(format=...))``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time

from cello import App, HealthCheckConfig, LoggingConfig, Response, ServerConfig
from cello.observability import Counter, Gauge
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily


class ScrapingWorker:
    """A ``prometheus_client`` collector: which worker answered the scrape (the
    ``x-worker-pid`` header of the other routes is set by an ``after_request`` hook,
    which ``/metrics`` skips)."""

    def collect(self):
        yield GaugeMetricFamily("scraping_worker_pid", "The worker that rendered this scrape.", value=os.getpid())


scrape_registry = CollectorRegistry()
scrape_registry.register(ScrapingWorker())

app = App()
app.enable_prometheus(registry=scrape_registry)
app.enable_health_checks(
    HealthCheckConfig(shutdown_delay_secs=float(os.environ.get("CELLO_OBS_SHUTDOWN_DELAY", "0")))
)
if os.environ.get("CELLO_OBS_LOG_FORMAT"):
    app.enable_logging(LoggingConfig(format=os.environ["CELLO_OBS_LOG_FORMAT"]))
jobs = Counter("jobs", "Jobs done, by kind.", ["kind"])
busy = Gauge("busy_handlers", "Handlers sleeping in /slow.")
log = logging.getLogger("observability_app")
#: What /grow allocated, kept so the worker's memory stays up.
hoard: list[bytes] = []


@app.on_event("startup")
async def started() -> None:
    gate = os.environ.get("CELLO_OBS_STARTUP_GATE")
    if gate:
        deadline = time.monotonic() + 60  # a safety net: the test creates the file
        while not os.path.exists(gate) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)


@app.health_check("flag")
def flag() -> dict[str, bool]:
    failing = os.path.exists(os.environ.get("CELLO_OBS_FAIL", "/nonexistent"))
    if failing:
        raise RuntimeError("the flag file exists")
    return {"flag": False}


@app.after_request
def tag_worker(response: Response) -> None:
    response.headers["x-worker-pid"] = str(os.getpid())


@app.get("/pid")
def pid(request):
    return {"pid": os.getpid()}


@app.get("/users/{id}")
def user(request):
    return {"id": request.params["id"]}


@app.post("/jobs/{kind}")
def job(request):
    jobs.labels(kind=request.params["kind"]).inc()
    return {"pid": os.getpid()}


@app.get("/grow")
def grow(request):
    megabytes = int(request.query.get("mb", "100"))
    hoard.append(b"x" * (megabytes * 1024 * 1024))
    return {"pid": os.getpid(), "held_mb": megabytes * len(hoard)}


@app.get("/hold")
async def hold(request):
    """Answers once the file `gate` exists (after writing `started`)."""
    os.close(os.open(request.query["started"], os.O_CREAT | os.O_WRONLY, 0o644))
    deadline = time.monotonic() + 60  # a safety net: the test creates the file
    while not os.path.exists(request.query["gate"]) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    return {"pid": os.getpid()}


@app.get("/log")
def log_line(request):
    log.warning("handler log line for %s", request.query.get("tag", "-"))
    return {"pid": os.getpid()}


@app.get("/alog")
async def async_log_line(request):
    await asyncio.sleep(0)
    log.warning("async handler log line for %s", request.query.get("tag", "-"))
    return {"pid": os.getpid()}


if __name__ == "__main__":
    max_requests = os.environ.get("CELLO_OBS_MAX_REQUESTS")
    config = ServerConfig(max_requests=int(max_requests) if max_requests else None)
    app.run(host="127.0.0.1", port=8000, workers=1, config=config)
