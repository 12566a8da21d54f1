"""A process of the patterns tests: `append URL PREFIX NAME COUNT` appends COUNT events
to streams of its own; `saga URL PREFIX LOG` runs (or, with RESUME, resumes) a
three-step saga whose second step kills the process the first time it runs."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from cello.data import event_loop
from cello.eventsourcing import Event, EventSourcingConfig, EventStore
from cello.saga import Saga, SagaConfig, SagaOrchestrator, SagaStep


async def append(url: str, prefix: str, name: str, count: int) -> None:
    store = EventStore(EventSourcingConfig(connection_url=url, table_prefix=prefix))
    for index in range(count):
        await store.append(f"{name}-{index % 5}", [Event("Tick", {"writer": name, "n": index})])
    await store.close()


def saga(url: str, prefix: str, log: Path) -> SagaOrchestrator:
    def step(name: str, kill: bool = False):
        async def action(context: dict) -> str:
            with log.open("a") as out:
                out.write(f"{name} {context.idempotency_key}\n")  # type: ignore[attr-defined]
            if kill and not (log.parent / "killed").exists():
                (log.parent / "killed").write_text("1")
                os.kill(os.getpid(), signal.SIGKILL)
            context[name] = True
            return name

        return action

    class Shipping(Saga):
        steps = (SagaStep("reserve", step("reserve")), SagaStep("charge", step("charge", kill=True)), SagaStep("ship", step("ship")))

    orchestrator = SagaOrchestrator(SagaConfig(storage=url, table_prefix=prefix, executor_id="test-executor", retry_delay_ms=10))
    orchestrator.register(Shipping)
    return orchestrator


async def run_saga(url: str, prefix: str, log: Path) -> None:
    orchestrator = saga(url, prefix, log)
    if os.environ.get("RESUME"):
        resumed = await orchestrator.resume()
        print("resumed", resumed, flush=True)
        (execution,) = await orchestrator.list_executions()
        print("status", execution.status, json.dumps(execution.context, sort_keys=True), flush=True)
    else:
        await orchestrator.execute("Shipping", {"order": 7}, saga_id="saga-1")


if __name__ == "__main__":
    mode, url, prefix, *rest = sys.argv[1:]
    with asyncio.Runner(loop_factory=event_loop) as runner:  # type: ignore[arg-type]
        if mode == "append":
            runner.run(append(url, prefix, rest[0], int(rest[1])))
        else:
            runner.run(run_saga(url, prefix, Path(rest[0])))
