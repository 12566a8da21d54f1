"""An app for the subprocess tests in tests/test_workers.py.

Run as a script (``python tests/apps/workers_app.py --port 0 --workers 2``) or through the
CLI (``python -m cello run tests.apps.workers_app:app --port 0``).

Environment:
    CELLO_TEST_EVENTS: a file each worker appends ``<event> <pid>`` lines to
        (``startup``, ``shutdown``, ``slow-started``).
    CELLO_TEST_STARTUP_GATE: when set, the startup hook waits (at most 60 s, a safety
        net: tests create the file) until this file exists, so a test can act while
        workers are still starting.
    CELLO_TEST_MAX_REQUESTS: passed as ``ServerConfig(max_requests=...)`` when run as a script.
"""

from __future__ import annotations

import asyncio
import os
import time

from cello import App, ServerConfig

app = App()


def record(event: str) -> None:
    path = os.environ.get("CELLO_TEST_EVENTS")
    if not path:
        return
    # One short O_APPEND write per line: atomic across the worker processes.
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, f"{event} {os.getpid()}\n".encode())
    finally:
        os.close(descriptor)


@app.on_event("startup")
def started() -> None:
    record("startup")
    gate = os.environ.get("CELLO_TEST_STARTUP_GATE")
    if gate:
        deadline = time.monotonic() + 60
        while not os.path.exists(gate) and time.monotonic() < deadline:
            time.sleep(0.01)


@app.on_event("shutdown")
async def stopped() -> None:
    record("shutdown")


@app.get("/pid")
def pid(request):
    return {"pid": os.getpid()}


@app.get("/slow")
async def slow(request):
    record("slow-started")
    await asyncio.sleep(float(request.query.get("seconds", "1")))
    return {"pid": os.getpid(), "slow": True}


@app.get("/boom")
def boom(request):
    raise RuntimeError("boom from the handler")


if __name__ == "__main__":
    max_requests = os.environ.get("CELLO_TEST_MAX_REQUESTS")
    config = ServerConfig(max_requests=int(max_requests)) if max_requests else None
    # Explicit arguments, so the tests also show that command-line flags override them.
    app.run(host="127.0.0.1", port=8000, workers=1, config=config)
