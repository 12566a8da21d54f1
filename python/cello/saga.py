"""Sagas: steps with compensations, run by an orchestrator that checkpoints every step's
outcome in the database before the next one (the DBOS model). A saga cut off by a crash
resumes at its first unfinished step when a worker starts (``app.enable_saga``), so only
that step can run twice; it gets an idempotency key to make that harmless. On failure
the completed steps are compensated in reverse order, each checkpointed. See
docs/patterns.md.

Example:
    >>> from cello.saga import Saga, SagaStep
    >>> async def reserve(context):
    ...     context["reservation"] = "r-1"
    >>> async def release(context):
    ...     context.pop("reservation", None)
    >>> class OrderSaga(Saga):
    ...     steps = [SagaStep("reserve", reserve, compensate=release)]
"""

from __future__ import annotations

import asyncio
import enum
import inspect
import logging
import os
import socket
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cello import _cello
from cello.data._native import driver, new_future
from cello.eventsourcing import EventSourcingConfig, EventStore

__all__ = [
    "Saga",
    "SagaConfig",
    "SagaContext",
    "SagaError",
    "SagaExecution",
    "SagaOrchestrator",
    "SagaStep",
    "StepStatus",
]

logger = logging.getLogger("cello.saga")


class StepStatus(str, enum.Enum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    COMPENSATING = "compensating"
    COMPENSATED = "compensated"


@dataclass
class SagaConfig:
    """The orchestrator's settings (the original's fields and defaults).

    Args:
        max_retries: a failing step (or compensation) is retried this many times.
        retry_delay_ms: the first retry's delay; each further retry doubles it.
        timeout_ms: a step running longer fails (a step's own ``timeout`` wins).
        enable_logging: log each step's start, outcome and each compensation.
        storage: the database URL for the checkpoints; None: the app's database
            (SQLite ``cello.db`` when it has none).
        executor_id: who drives an execution: an instance is leased to one executor at
            a time (renewed before each step), so two workers never run it at once. The
            default, ``<host>:<worker slot>``, is the same after a restart, so a
            restarted worker resumes its own executions at once; other executors take
            them over once the lease has run out. Give each process its own id when
            several servers share a host and a database.
    """

    max_retries: int = 3
    retry_delay_ms: int = 1000
    timeout_ms: int = 30000
    enable_logging: bool = True
    storage: str | None = None
    table_prefix: str = "cello_"
    executor_id: str | None = None

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.retry_delay_ms < 0 or self.timeout_ms <= 0:
            raise ValueError("max_retries and retry_delay_ms cannot be negative, and timeout_ms must be positive")

    @classmethod
    def default(cls) -> SagaConfig:
        return cls()


class SagaError(Exception):
    """A step failed (after its retries) and the saga was compensated.

    Attributes:
        step_name: the step that failed.
        original_error: its exception (a string after a resume in another process).
        compensation_error: set when a compensation failed too (the saga is then
            ``failed``, not ``compensated``).
        saga_id: the execution's id.
    """

    def __init__(self, step_name: str, original_error: BaseException | str, saga_id: str | None = None) -> None:
        super().__init__(f"saga step {step_name!r} failed: {original_error}")
        self.step_name = step_name
        self.original_error = original_error
        self.compensation_error: str | None = None
        self.saga_id = saga_id


class SagaContext(dict[str, Any]):
    """The saga's context dict, as each step's action and compensation get it, with
    ``saga_id``, ``step`` and ``idempotency_key`` (``"<saga id>:<step>"``, the same on
    a resumed run) as attributes; its JSON contents are checkpointed after each step."""

    saga_id: str = ""
    step: str = ""

    @property
    def idempotency_key(self) -> str:
        return f"{self.saga_id}:{self.step}"


Action = Callable[[SagaContext], Any]


class SagaStep:
    """A step: `action(context)` (sync or async) and its `compensate(context)`."""

    def __init__(self, name: str, action: Action, compensate: Action | None = None, timeout: float | None = None):
        self.name = name
        self.action = action
        self.compensate = compensate
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"SagaStep({self.name!r})"


class Saga:
    """A named list of steps: a class attribute ``steps = [...]``, or `add_step`."""

    steps: Sequence[SagaStep] = ()

    def __init__(self, name: str | None = None) -> None:
        self.name = name or getattr(type(self), "name", None) or type(self).__name__
        self.steps = list(type(self).steps)

    def add_step(self, step: SagaStep) -> Saga:
        if any(existing.name == step.name for existing in self.steps):
            raise ValueError(f"saga {self.name!r} has a step named {step.name!r} already")
        self.steps = [*self.steps, step]
        return self


async def _call(function: Action, context: SagaContext, timeout: float) -> Any:
    async def run() -> Any:
        result = function(context)
        if inspect.isawaitable(result):
            result = await result
        return result

    return await asyncio.wait_for(run(), timeout)


def _jsonable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | list | dict) or value is None else repr(value)


class SagaExecution:
    """One run of a saga, as checkpointed: ``id``, ``saga_name``, ``status``, ``steps``
    (each ``{name, status, attempts, error}``), ``context``, ``error``."""

    def __init__(self, record: dict[str, Any]) -> None:
        self.id: str = record["id"]
        self.saga_name: str = record["saga_name"]
        self.status: str = record["status"]
        self.context: dict[str, Any] = record["context"]
        self.error: str | None = record["error"]
        self.started_at: str = record["created_at"]
        self.completed_at: str | None = record["updated_at"] if self.status in ("completed", "compensated", "failed") else None
        self.steps: list[dict[str, Any]] = record["steps"]

    def get_status(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "saga_name": self.saga_name,
            "status": self.status,
            "steps": [{"name": step["name"], "status": step["status"]} for step in self.steps],
            "started_at": self.started_at,
            "completed_at": self.completed_at,
            "error": self.error,
        }

    def __repr__(self) -> str:
        return f"SagaExecution(id={self.id!r}, saga_name={self.saga_name!r}, status={self.status!r})"


class SagaOrchestrator:
    """Runs registered sagas durably (checkpoints in SQL via cello-patterns).

    Example:
        >>> from cello.saga import SagaOrchestrator
        >>> orchestrator = SagaOrchestrator()
        >>> # orchestrator.register(OrderSaga()); await orchestrator.execute("OrderSaga", {"order": 1})
    """

    def __init__(self, config: SagaConfig | None = None) -> None:
        self.config = config or SagaConfig()
        self._sagas: dict[str, Saga] = {}
        self._store = EventStore(EventSourcingConfig(
            store_type="database", connection_url=self.config.storage, table_prefix=self.config.table_prefix
        ))
        self._native: tuple[Any, _cello.SagaStoreCore] | None = None

    @property
    def executor_id(self) -> str:
        return self.config.executor_id or f"{socket.gethostname()}:{os.environ.get('CELLO_WORKER_SLOT', '0')}"

    @property
    def lease_secs(self) -> float:
        """Long enough for one step with all its retries (the lease is renewed before
        each attempt)."""
        config = self.config
        delays = config.retry_delay_ms / 1000 * (2 ** config.max_retries)
        return float(config.timeout_ms / 1000 * (config.max_retries + 1) + delays + 30)

    def register(self, saga: Saga | type[Saga]) -> Saga:
        if isinstance(saga, type):
            saga = saga()
        if not saga.steps:
            raise ValueError(f"saga {saga.name!r} has no steps")
        self._sagas[saga.name] = saga
        return saga

    async def _core(self) -> _cello.SagaStoreCore:
        current = driver()
        database = await self._store._open_database(current)
        if self._native is None or self._native[0] is not database:
            self._native = (database, _cello.SagaStoreCore(database._native, self.config.table_prefix))
        return self._native[1]

    async def _call(self, method: str, *args: Any) -> Any:
        native = await self._core()
        future = new_future()
        getattr(native, method)(future, *args)
        return await future

    # --- the status API ---------------------------------------------------------------

    async def get_execution(self, saga_id: str) -> SagaExecution | None:
        record = await self._call("get", saga_id)
        return SagaExecution(record) if record is not None else None

    async def get_status(self, saga_id: str) -> dict[str, Any] | None:
        execution = await self.get_execution(saga_id)
        return execution.get_status() if execution is not None else None

    async def list_executions(self, status: str | None = None, saga_name: str | None = None) -> list[SagaExecution]:
        return [SagaExecution(record) for record in await self._call("list", status, saga_name)]

    # --- running ----------------------------------------------------------------------

    async def execute(self, saga_name: str, context: dict[str, Any] | None = None, *, saga_id: str | None = None) -> dict[str, Any]:
        """Runs `saga_name` from its first step; returns the final context, or raises
        `SagaError` after compensating."""
        saga = self._sagas.get(saga_name)
        if saga is None:
            raise KeyError(f"no saga named {saga_name!r} is registered (register it with orchestrator.register)")
        saga_id = saga_id or str(uuid.uuid4())
        await self._call(
            "start", saga_id, saga.name, dict(context or {}), [step.name for step in saga.steps],
            self.executor_id, self.lease_secs,
        )
        execution = await self.get_execution(saga_id)
        assert execution is not None
        return await self._drive(saga, execution)

    async def resume(self) -> list[str]:
        """Drives every unfinished execution of a registered saga to its end (a worker
        calls it at start-up); the ids it resumed. Failures are logged, not raised."""
        resumed = []
        for record in await self._call("unfinished"):
            saga = self._sagas.get(record["saga_name"])
            if saga is None or not await self._call("claim", record["id"], self.executor_id, self.lease_secs):
                continue
            resumed.append(record["id"])
            try:
                await self._drive(saga, SagaExecution(record))
            except SagaError as error:
                logger.warning("resumed saga %s ended compensated: %s", record["id"], error)
        return resumed

    async def _drive(self, saga: Saga, execution: SagaExecution) -> dict[str, Any]:
        context = SagaContext(execution.context)
        context.saga_id = execution.id
        states = {step["name"]: step for step in execution.steps}
        if execution.status == "running":
            for index, step in enumerate(saga.steps):
                state = states.get(step.name, {"status": "pending", "attempts": 0})
                if state["status"] == "completed":
                    continue
                error = await self._attempt(execution.id, index, step, step.action, context, state["attempts"], "completed")
                if error is not None:
                    await self._call("set_status", execution.id, "compensating", f"{step.name}: {error}")
                    execution.error = f"{step.name}: {error}"
                    return await self._compensate(saga, execution.id, context, index, step.name, error)
            await self._call("set_status", execution.id, "completed", None)
            return dict(context)
        failed = next((step["name"] for step in execution.steps if step["status"] == "failed"), "?")
        return await self._compensate(saga, execution.id, context, len(saga.steps), failed, execution.error or "")

    async def _compensate(
        self, saga: Saga, saga_id: str, context: SagaContext, failed_index: int, failed: str, error: BaseException | str
    ) -> dict[str, Any]:
        record = await self._call("get", saga_id)
        states = {step["name"]: step for step in record["steps"]}
        problem: str | None = None
        for index in reversed(range(min(failed_index, len(saga.steps)))):
            step = saga.steps[index]
            state = states[step.name]
            if state["status"] not in ("completed", "compensating") or step.compensate is None:
                continue
            attempts = state["attempts"] if state["status"] == "compensating" else 0
            failure = await self._attempt(saga_id, index, step, step.compensate, context, attempts, "compensated", "compensating")
            if failure is not None:
                problem = f"compensating {step.name}: {failure}"
                break
        raised = SagaError(failed, error, saga_id)
        if problem is not None:
            raised.compensation_error = problem
            await self._call("set_status", saga_id, "failed", f"{failed}: {error}; {problem}")
        else:
            await self._call("set_status", saga_id, "compensated", f"{failed}: {error}")
        raise raised

    async def _attempt(
        self,
        saga_id: str,
        index: int,
        step: SagaStep,
        function: Action,
        context: SagaContext,
        attempts: int,
        done: str,
        running: str = "running",
    ) -> BaseException | None:
        """Runs `function` with retries, checkpointing before each attempt and after the
        outcome; the last error, or None on success."""
        config = self.config
        timeout = step.timeout if step.timeout is not None else config.timeout_ms / 1000
        context.step = step.name
        failures = 0
        while True:
            attempts += 1
            if not await self._call("claim", saga_id, self.executor_id, self.lease_secs):
                raise SagaError(step.name, f"executor {self.executor_id} lost the lease on saga {saga_id}", saga_id)
            await self._call("record_step", saga_id, index, running, attempts, None, None, dict(context))
            if config.enable_logging:
                logger.info("saga %s: %s %s (attempt %d)", saga_id, running, step.name, attempts)
            try:
                result = await _call(function, context, timeout)
            except Exception as error:  # noqa: BLE001 - a failed step is compensated
                failures += 1
                message = f"{type(error).__name__}: {error}" if not isinstance(error, TimeoutError) else f"timed out after {timeout} s"
                if failures <= config.max_retries:
                    await asyncio.sleep(config.retry_delay_ms / 1000 * 2 ** (failures - 1))
                    continue
                status = "failed" if running == "running" else "compensating"
                await self._call("record_step", saga_id, index, status, attempts, None, message, dict(context))
                return error if not isinstance(error, TimeoutError) else TimeoutError(message)
            await self._call("record_step", saga_id, index, done, attempts, _jsonable(result), None, dict(context))
            return None
