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
seen: dict[str, list[Any]] = {"jobs": [], "attempts": [], "dead": [], "events": []}
if os.environ.get("CELLO_TEST_DB"):
    # The outbox to SQS: events saved by POST /notes reach QUEUE-events.
    from cello import DatabaseConfig, EventSourcingConfig
    from cello.eventsourcing import AggregateRoot, Event

    app.enable_database(DatabaseConfig(os.environ["CELLO_TEST_DB"]))
    app.enable_event_sourcing(EventSourcingConfig(store_type="database", outbox=f"{QUEUE}-events"))

    class Noted(Event):
        text: str

    @app.subscriber(f"{QUEUE}-events")
    def on_event(message: Message) -> None:
        seen["events"].append([message.key, message.headers.get("event-type"), message.json()["data"]])

    @app.post("/notes/{text}")
    async def note(request):
        aggregate = AggregateRoot()
        aggregate.apply(Noted(text=request.params["text"]))
        await app.event_store.save(aggregate)
        return {"id": aggregate.id}


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
