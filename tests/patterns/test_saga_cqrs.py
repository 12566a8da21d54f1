"""Sagas (compensation order, retries, timeouts, leases, the status API, resume at
start-up) and the CQRS buses; seed 003's enable_* examples."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from cello import App, CqrsConfig, Depends, EventSourcingConfig, SagaConfig
from cello.cqrs import (
    Command,
    CommandBus,
    CommandResult,
    Query,
    QueryBus,
    QueryResult,
    command_handler,
    query_handler,
)
from cello.eventsourcing import AggregateRoot, ConcurrencyError, Event, EventStore, Projection
from cello.saga import Saga, SagaError, SagaOrchestrator, SagaStep
from cello.testing import TestClient
from support.loop import run


def orchestrator_for(backend: dict[str, str], **options: Any) -> SagaOrchestrator:
    options.setdefault("retry_delay_ms", 1)
    return SagaOrchestrator(SagaConfig(storage=backend["url"], table_prefix=backend["prefix"], **options))


def recorder(log: list[str], name: str, fail_times: int = 0, sleep: float = 0.0) -> Any:
    failures = [0]

    async def act(context: dict[str, Any]) -> str:
        log.append(name)
        if sleep:
            await asyncio.sleep(sleep)
        if failures[0] < fail_times:
            failures[0] += 1
            raise RuntimeError(f"{name} broke")
        context[name] = True
        return name

    return act


def test_failure_compensates_in_reverse_order(backend: dict[str, str]) -> None:
    log: list[str] = []

    class Order(Saga):
        steps = (
            SagaStep("reserve", recorder(log, "reserve"), compensate=recorder(log, "release")),
            SagaStep("charge", recorder(log, "charge"), compensate=recorder(log, "refund")),
            SagaStep("ship", recorder(log, "ship", fail_times=99)),
        )

    async def main() -> None:
        orchestrator = orchestrator_for(backend, max_retries=1)
        orchestrator.register(Order)
        with pytest.raises(SagaError) as caught:
            await orchestrator.execute("Order", {"id": 1}, saga_id="o-1")
        assert caught.value.step_name == "ship" and "ship broke" in str(caught.value)
        # ship tried twice (one retry), then the completed steps undone newest first.
        assert log == ["reserve", "charge", "ship", "ship", "refund", "release"]
        status = await orchestrator.get_status("o-1")
        assert status is not None and status["status"] == "compensated"
        assert [step["status"] for step in status["steps"]] == ["compensated", "compensated", "failed"]
        assert "ship broke" in status["error"]
        assert [execution.id for execution in await orchestrator.list_executions(status="compensated")] == ["o-1"]

    run(main())


def test_retries_then_success_and_timeouts(backend: dict[str, str]) -> None:
    log: list[str] = []

    class Flaky(Saga):
        steps = (SagaStep("flaky", recorder(log, "flaky", fail_times=2)), SagaStep("done", recorder(log, "done")))

    class Slow(Saga):
        steps = (SagaStep("slow", recorder(log, "slow", sleep=5), timeout=0.05),)

    async def main() -> None:
        orchestrator = orchestrator_for(backend, max_retries=2)
        orchestrator.register(Flaky)
        orchestrator.register(Slow)
        context = await orchestrator.execute("Flaky", {"n": 1})
        assert context == {"n": 1, "flaky": True, "done": True}
        assert log == ["flaky", "flaky", "flaky", "done"]
        (execution,) = await orchestrator.list_executions(saga_name="Flaky")
        assert execution.status == "completed" and execution.steps[0]["attempts"] == 3
        with pytest.raises(SagaError, match="timed out"):
            await orchestrator.execute("Slow", {})
        with pytest.raises(KeyError, match="no saga named"):
            await orchestrator.execute("Missing", {})

    run(main())


def test_a_lease_keeps_a_second_executor_off(backend: dict[str, str]) -> None:
    log: list[str] = []
    release = asyncio.Event()

    async def wait(context: dict[str, Any]) -> None:
        log.append("wait")
        await release.wait()

    class Long(Saga):
        steps = (SagaStep("wait", wait), SagaStep("after", recorder(log, "after")))

    async def main() -> None:
        first = orchestrator_for(backend, executor_id="one")
        second = orchestrator_for(backend, executor_id="two")
        first.register(Long)
        second.register(Long)
        running = asyncio.ensure_future(first.execute("Long", {}, saga_id="long-1"))
        while not log:
            await asyncio.sleep(0.01)
        # The execution is unfinished, but "one" holds its lease: "two" leaves it alone.
        assert await second.resume() == []
        release.set()
        assert await running == {"after": True}
        assert log == ["wait", "after"]

    run(main())


def test_enable_saga_resumes_at_startup(tmp_path: Path) -> None:
    log: list[str] = []
    url = f"sqlite://{tmp_path / 'sagas.db'}"

    class Pay(Saga):
        steps = (SagaStep("one", recorder(log, "one")), SagaStep("two", recorder(log, "two")))

    async def interrupted() -> None:
        # As a crashed worker leaves it: started, step "one" running.
        orchestrator = SagaOrchestrator(SagaConfig(storage=url))
        await orchestrator._call("start", "pay-1", "Pay", {"x": 1}, ["one", "two"], orchestrator.executor_id, 60.0)
        await orchestrator._call("record_step", "pay-1", 0, "running", 1, None, None, {"x": 1})

    run(interrupted())
    app = App().enable_saga(SagaConfig(storage=url))
    app.saga_orchestrator.register(Pay)

    @app.get("/status")
    async def status(request: Any) -> Any:
        return await request.app.saga_runner.get_status("pay-1")

    with TestClient(app) as client:
        body = client.get("/status").json()
    assert body["status"] == "completed" and log == ["one", "two"]


def test_seed_003_examples_return_the_app() -> None:
    app = App()
    assert app.enable_event_sourcing(EventSourcingConfig(
        store_type="postgresql",
        snapshot_interval=100,
        enable_snapshots=True
    )) is app
    assert app.enable_cqrs(CqrsConfig(
        enable_event_sync=True,
        command_timeout_ms=10000
    )) is app
    assert app.enable_saga(SagaConfig(
        max_retries=5,
        timeout_ms=60000
    )) is app
    assert app.event_store is app.state.event_store
    assert app.command_bus.config.command_timeout_ms == 10000
    assert app.saga_orchestrator.config.max_retries == 5
    with pytest.raises(ValueError, match="called already"):
        app.enable_event_sourcing()


class Deposited(Event):
    amount: int


class Wallet(AggregateRoot):
    def deposit(self, amount: int) -> None:
        self.apply(Deposited(amount=amount))

    def on_deposited(self, event: Deposited) -> None:
        self.balance = getattr(self, "balance", 0) + event.amount


class Deposit(Command):
    wallet: str
    amount: int

    def validate(self) -> None:
        if self.amount <= 0:
            raise ValueError("amount must be positive")


class Balance(Query):
    wallet: str


class Balances(Projection):
    name = "balances"

    def __init__(self) -> None:
        self.totals: dict[str, int] = {}

    def on_deposited(self, event: Deposited, tx: Any) -> None:
        assert event.aggregate_id is not None
        self.totals[event.aggregate_id] = self.totals.get(event.aggregate_id, 0) + event.amount


def test_cqrs_through_the_app(tmp_path: Path) -> None:
    app = App()
    app.enable_database()
    app.enable_event_sourcing().enable_cqrs(CqrsConfig(max_retries=2))
    balances = Balances()
    app.command_bus.add_projection(balances)
    attempts: list[int] = []

    def audit() -> str:
        return "audited"

    @command_handler(Deposit)
    async def deposit(command: Deposit, event_store: EventStore, note: str = Depends(audit)) -> Any:
        attempts.append(command.amount)
        wallet = await event_store.load(Wallet, command.wallet) or Wallet(command.wallet)
        wallet.deposit(command.amount)
        if command.amount == 13 and attempts.count(13) < 3:
            raise ConcurrencyError("lost the race", command.wallet, 1)
        await event_store.save(wallet)
        return {"balance": wallet.balance, "note": note}

    @query_handler(Balance)
    async def balance(query: Balance) -> Any:
        return balances.totals.get(query.wallet)

    @app.post("/deposit")
    async def post(request: Any) -> Any:
        result = await request.app.command_bus.dispatch(Deposit(**request.json()))
        return {"success": result.success, "data": result.data, "error": result.error, "rejected": result.is_rejected}

    @app.get("/balance/{wallet}")
    async def get(request: Any) -> Any:
        result = await request.app.query_bus.execute(Balance(wallet=request.params["wallet"]))
        return {"found": result.found, "data": result.data}

    import os

    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        with TestClient(app) as client:
            ok = client.post("/deposit", json={"wallet": "w1", "amount": 5}).json()
            assert ok == {"success": True, "data": {"balance": 5, "note": "audited"}, "error": None, "rejected": False}
            # The projection was fed by the command (enable_event_sync).
            assert client.get("/balance/w1").json() == {"found": True, "data": 5}
            assert client.get("/balance/w2").json() == {"found": False, "data": None}
            rejected = client.post("/deposit", json={"wallet": "w1", "amount": -1}).json()
            assert rejected["rejected"] and rejected["error"] == "amount must be positive"
            # Two concurrency failures, then success: retried within max_retries=2.
            retried = client.post("/deposit", json={"wallet": "w1", "amount": 13}).json()
            assert retried["success"] and retried["data"]["balance"] == 18
            assert attempts.count(13) == 3
    finally:
        os.chdir(here)


def test_bus_results_and_timeouts() -> None:
    class Slow(Command):
        pass

    class Broken(Query):
        pass

    class Unhandled(Command):
        pass

    async def slow(command: Slow) -> None:
        await asyncio.sleep(5)

    def broken(query: Broken) -> None:
        raise RuntimeError("no read model")

    async def main() -> None:
        bus = CommandBus(CqrsConfig(command_timeout_ms=50))
        bus.register(Slow, slow)
        result = await bus.dispatch(Slow())
        assert not result.success and "timed out after 50 ms" in result.error  # type: ignore[operator]
        assert "no handler for Unhandled" in (await bus.dispatch(Unhandled())).error  # type: ignore[operator]
        queries = QueryBus()
        queries.register(Broken, broken)
        failed = await queries.execute(Broken())
        assert not failed.success and "no read model" in failed.error  # type: ignore[operator]
        assert CommandResult.ok(1).success and QueryResult.not_found().found is False

    run(main())
    with pytest.raises(TypeError, match="missing the fields"):
        Deposit(wallet="w")
