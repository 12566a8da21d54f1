"""Event store: Cello (`cello.eventsourcing`, Rust store) against the `eventsourcing`
library (its PostgreSQL persistence, psycopg 3) on the same local PostgreSQL, in one run.

    make bench-eventstore          # or: .venv/bin/python benches/eventstore_bench.py --appends 2000

Two measures, each the median of `--rounds` rounds, interleaved:
- appends per second: saving new aggregates of one event each, one after another (each
  save is its own transaction on both);
- a 10,000-event replay: loading one aggregate whose stream holds 10,000 events
  (snapshots off on both).

Needs ``pip install "eventsourcing[postgres]"`` (the Makefile target installs it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from typing import Any

from cello.data import Database, DatabaseConfig, event_loop
from cello.eventsourcing import AggregateRoot, Event, EventSourcingConfig, EventStore

URL = os.environ.get("CELLO_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


# --- Cello ---------------------------------------------------------------------------

class Registered(Event):
    name: str


class TrickAdded(Event):
    trick: str


class Dog(AggregateRoot):
    def on_registered(self, event: Registered) -> None:
        self.name, self.tricks = event.name, []

    def on_trick_added(self, event: TrickAdded) -> None:
        self.tricks.append(event.trick)


async def cello_round(appends: int, replay: int, prefix: str) -> tuple[float, float]:
    store = EventStore(EventSourcingConfig(connection_url=URL, table_prefix=prefix, enable_snapshots=False))
    await store.stream_version("warm-up")
    started = time.perf_counter()
    for index in range(appends):
        dog = Dog()
        dog.apply(Registered(name=f"dog-{index}"))
        await store.save(dog)
    append_rate = appends / (time.perf_counter() - started)
    big = Dog()
    big.apply(Registered(name="big"))
    for index in range(replay - 1):
        big.apply(TrickAdded(trick=f"trick-{index}"))
    await store.save(big)
    started = time.perf_counter()
    loaded = await store.load(Dog, big.id)
    replay_seconds = time.perf_counter() - started
    assert loaded is not None and len(loaded.tricks) == replay - 1
    await store.close()
    return append_rate, replay_seconds


async def drop_cello(prefix: str) -> None:
    database = await Database.connect(DatabaseConfig(URL))
    for table in ("events", "event_position", "snapshots", "projections", "saga_instances", "saga_steps", "outbox"):
        await database.execute(f"DROP TABLE IF EXISTS {prefix}{table}")
    await database.close()


# --- the eventsourcing library ----------------------------------------------------------

_classes: list[Any] = []


def library_dog() -> Any:
    """The library's aggregate class, defined once (it registers classes by topic)."""
    if not _classes:
        from eventsourcing.domain import Aggregate, event

        class LibDog(Aggregate):
            @event("Registered")
            def __init__(self, name: str) -> None:
                self.name = name
                self.tricks: list[str] = []

            @event("TrickAdded")
            def add_trick(self, trick: str) -> None:
                self.tricks.append(trick)

        _classes.append(LibDog)
    return _classes[0]


def library_round(appends: int, replay: int, schema: str) -> tuple[float, float]:
    from eventsourcing.application import Application

    LibDog = library_dog()  # noqa: N806 - a class

    application = Application(env={
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": "test", "POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": "5432",
        "POSTGRES_USER": "postgres", "POSTGRES_PASSWORD": "", "POSTGRES_SCHEMA": schema,
        "CREATE_TABLE": "y",
    })
    started = time.perf_counter()
    for index in range(appends):
        application.save(LibDog(f"dog-{index}"))
    append_rate = appends / (time.perf_counter() - started)
    big = LibDog("big")
    for index in range(replay - 1):
        big.add_trick(f"trick-{index}")
    application.save(big)
    started = time.perf_counter()
    loaded: Any = application.repository.get(big.id)
    replay_seconds = time.perf_counter() - started
    assert len(loaded.tricks) == replay - 1
    application.close()
    return append_rate, replay_seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--replay", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    import psycopg

    results: dict[str, list[tuple[float, float]]] = {"cello": [], "eventsourcing": []}
    for _ in range(options.rounds):
        prefix = f"bench_{uuid.uuid4().hex[:8]}_"
        with asyncio.Runner(loop_factory=event_loop) as runner:  # type: ignore[arg-type]
            try:
                results["cello"].append(runner.run(cello_round(options.appends, options.replay, prefix)))
            finally:
                runner.run(drop_cello(prefix))
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True) as connection:
            connection.execute(f"CREATE SCHEMA {schema}")
        try:
            results["eventsourcing"].append(library_round(options.appends, options.replay, schema))
        finally:
            with psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True) as connection:
                connection.execute(f"DROP SCHEMA {schema} CASCADE")
    print(f"{options.rounds} rounds, {options.appends} appends, a {options.replay}-event replay, PostgreSQL {URL}")
    print("| store | appends/s (median) | replay of 10,000 events, ms (median) |")
    print("|---|---:|---:|")
    summary = {}
    for name, rounds in results.items():
        rate = statistics.median(r[0] for r in rounds)
        replay_ms = statistics.median(r[1] for r in rounds) * 1000
        summary[name] = (rate, replay_ms)
        print(f"| {name} | {rate:,.0f} | {replay_ms:,.1f} |")
    cello, library = summary["cello"], summary["eventsourcing"]
    print(f"\nCello × eventsourcing: appends {cello[0] / library[0]:.2f}×, replay {library[1] / cello[1]:.2f}× faster")


if __name__ == "__main__":
    main()
