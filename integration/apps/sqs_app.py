"""An SQS app for the integration tests: ``python integration/apps/sqs_app.py --port 0``
with CELLO_TEST_QUEUE (a queue name of the test's own) against the local SQS server.
Handlers record what they saw (``GET /seen``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from cello import App, SqsConfig
from cello.messaging import Message, Retry

QUEUE = os.environ["CELLO_TEST_QUEUE"]
app = App()
app.enable_sqs(SqsConfig(endpoint_url=os.environ.get("CELLO_TEST_SQS", "http://127.0.0.1:4566"), wait_time_secs=1))
seen: dict[str, list[Any]] = {"jobs": [], "attempts": [], "dead": []}


@dataclass
class Job:
    id: int
    name: str


@app.subscriber(QUEUE, dead_letter=f"{QUEUE}-dead", retry=Retry(max_retries=2, delay=0.05))
async def on_job(job: Job, message: Message) -> None:
    if job.name == "broken":
        seen["attempts"].append(message.retries)
        raise RuntimeError("cannot do this job")
    seen["jobs"].append([job.id, job.name, message.key, message.headers.get("origin")])


@app.subscriber(f"{QUEUE}-dead")
def on_dead(message: Message) -> None:
    seen["dead"].append(message.json())


@app.post("/jobs")
async def create(request):
    await request.app.publish(request.json(), QUEUE, key="k-1", headers={"origin": "http"})
    return {"queued": True}


@app.get("/seen")
def get_seen(request):
    return seen


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
