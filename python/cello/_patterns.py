"""`App.enable_event_sourcing`, `enable_cqrs` and `enable_saga`: the patterns' half of
`cello.App`. Each returns the app (seed 003 chains them)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from cello.cqrs import CommandBus, CqrsConfig, QueryBus
    from cello.eventsourcing import EventSourcingConfig, EventStore, Outbox
    from cello.saga import SagaConfig, SagaOrchestrator

__all__ = ["PatternsMixin"]

logger = logging.getLogger("cello.outbox")


class PatternsMixin:
    """Event sourcing, CQRS and sagas for `cello.App`."""

    _hooks: dict[str, list[Callable[[], Any]]]
    state: Any

    def enable_event_sourcing(self, config: EventSourcingConfig | None = None) -> Any:
        """Gives the app an event store (``app.event_store``, also ``app.state.event_store``
        and ``request.app.event_store``), opened in each worker on first use.

        Without a config the store's tables live in the app's database
        (``app.enable_database``; SQLite ``cello.db`` when the app has none).

        Example:
            >>> from cello import App, EventSourcingConfig
            >>> app = App()
            >>> app.enable_event_sourcing(EventSourcingConfig(
            ...     store_type="postgresql",
            ...     snapshot_interval=100,
            ...     enable_snapshots=True
            ... ))  # doctest: +ELLIPSIS
            <cello.app.App object at ...>
        """
        from cello.eventsourcing import EventSourcingConfig, EventStore

        if config is None:
            config = EventSourcingConfig(store_type="database")
        if not isinstance(config, EventSourcingConfig):
            raise TypeError(f"enable_event_sourcing() takes an EventSourcingConfig, got {config!r}")
        if "_event_store" in self.__dict__:
            raise ValueError("enable_event_sourcing() was called already: call it once, with the config to use")
        store = EventStore(config)
        self.__dict__["_event_store"] = store
        self.state.event_store = store
        self._hooks["shutdown"].append(store.close)
        if config.outbox is not None:
            self._relay_outbox(store)
        return self

    def _relay_outbox(self, store: EventStore) -> None:
        """Each worker runs the outbox relay while it serves (with a broker)."""
        from cello.eventsourcing import Outbox

        outbox = Outbox(store, publish=self._outbox_publish)
        self.__dict__["_outbox"] = outbox
        tasks: list[asyncio.Task[None]] = []

        async def start() -> None:
            await outbox.pending()  # creates the tables before any handler writes a row
            if self._default_broker() is None:  # type: ignore[attr-defined]
                logger.warning("the outbox has no broker: its rows wait until the app enables RabbitMQ, Kafka or SQS")
                return
            tasks.append(asyncio.ensure_future(outbox.run()))

        async def stop() -> None:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            tasks.clear()

        self._hooks["startup"].append(start)
        self._hooks["shutdown"].insert(0, stop)

    async def _outbox_publish(self, message: Any, destination: str, **options: Any) -> None:
        await self.publish(message, destination, **options)  # type: ignore[attr-defined]

    @property
    def outbox(self) -> Outbox:
        """The outbox of ``EventSourcingConfig(outbox=...)``."""
        outbox: Outbox | None = self.__dict__.get("_outbox")
        if outbox is None:
            raise RuntimeError("app.outbox needs app.enable_event_sourcing(EventSourcingConfig(outbox='queue')) first")
        return outbox

    @property
    def event_store(self) -> EventStore:
        """The store of `enable_event_sourcing`."""
        store: EventStore | None = self.__dict__.get("_event_store")
        if store is None:
            raise RuntimeError("app.event_store needs app.enable_event_sourcing() first")
        return store

    def enable_cqrs(self, config: CqrsConfig | None = None) -> Any:
        """Gives the app a command bus and a query bus (``app.command_bus``,
        ``app.query_bus``) with every ``@command_handler`` and ``@query_handler``.

        Example:
            >>> from cello import App, CqrsConfig
            >>> app = App()
            >>> app.enable_cqrs(CqrsConfig(
            ...     enable_event_sync=True,
            ...     command_timeout_ms=10000
            ... ))  # doctest: +ELLIPSIS
            <cello.app.App object at ...>
        """
        from cello.cqrs import CommandBus, CqrsConfig, QueryBus

        if config is None:
            config = CqrsConfig()
        if not isinstance(config, CqrsConfig):
            raise TypeError(f"enable_cqrs() takes a CqrsConfig, got {config!r}")
        store = self.__dict__.get("_event_store")
        self.__dict__["_command_bus"] = CommandBus(config, app=self, event_store=store)
        self.__dict__["_query_bus"] = QueryBus(config, app=self, event_store=store)
        self.state.command_bus = self.__dict__["_command_bus"]
        self.state.query_bus = self.__dict__["_query_bus"]
        return self

    @property
    def command_bus(self) -> CommandBus:
        bus: CommandBus | None = self.__dict__.get("_command_bus")
        if bus is None:
            raise RuntimeError("app.command_bus needs app.enable_cqrs() first")
        return bus

    @property
    def query_bus(self) -> QueryBus:
        bus: QueryBus | None = self.__dict__.get("_query_bus")
        if bus is None:
            raise RuntimeError("app.query_bus needs app.enable_cqrs() first")
        return bus

    def enable_saga(self, config: SagaConfig | None = None) -> Any:
        """Gives the app a durable saga orchestrator (``app.saga_orchestrator``, also
        ``app.saga_runner``). Each worker resumes, at start-up, the executions a crash
        cut off (registered sagas only).

        Example:
            >>> from cello import App, SagaConfig
            >>> app = App()
            >>> app.enable_saga(SagaConfig(
            ...     max_retries=5,
            ...     timeout_ms=60000
            ... ))  # doctest: +ELLIPSIS
            <cello.app.App object at ...>
        """
        from cello.saga import SagaConfig, SagaOrchestrator

        if config is None:
            config = SagaConfig()
        if not isinstance(config, SagaConfig):
            raise TypeError(f"enable_saga() takes a SagaConfig, got {config!r}")
        if "_saga_orchestrator" in self.__dict__:
            raise ValueError("enable_saga() was called already: call it once, with the config to use")
        orchestrator = SagaOrchestrator(config)
        self.__dict__["_saga_orchestrator"] = orchestrator
        self.state.saga_orchestrator = orchestrator

        async def resume() -> None:
            await orchestrator.resume()

        self._hooks["startup"].append(resume)
        return self

    enable_sagas = enable_saga

    @property
    def saga_orchestrator(self) -> SagaOrchestrator:
        orchestrator: SagaOrchestrator | None = self.__dict__.get("_saga_orchestrator")
        if orchestrator is None:
            raise RuntimeError("app.saga_orchestrator needs app.enable_saga() first")
        return orchestrator

    saga_runner = saga_orchestrator
