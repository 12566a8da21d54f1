"""Single-row PostgreSQL queries from Python: Cello's data layer (sqlx) against asyncpg,
in-process, no HTTP. A first look at driver overhead before the TechEmpower database
scenarios exist; not a substitute for them.

    .venv/bin/pip install asyncpg
    .venv/bin/python benches/data/query_micro.py [postgresql://postgres@127.0.0.1:5432/test]

For each driver: N sequential `SELECT id, randomnumber FROM world WHERE id = $1`, and the
same N spread over 20 concurrent tasks (a pool of 20). Prints queries per second, best of
3 rounds.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

URL = sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432/test"
N = 4000
CONCURRENCY = 20
SQL = "SELECT id, randomnumber FROM world WHERE id = $1"


async def measure(run: Callable[[int], Awaitable[Any]]) -> tuple[float, float]:
    ids = [random.randint(1, 10000) for _ in range(N)]

    async def sequential() -> None:
        for i in ids:
            await run(i)

    async def concurrent() -> None:
        async def worker(chunk: list[int]) -> None:
            for i in chunk:
                await run(i)

        await asyncio.gather(*(worker(ids[k::CONCURRENCY]) for k in range(CONCURRENCY)))

    results = []
    for body in (sequential, concurrent):
        best = 0.0
        for _ in range(3):
            started = time.perf_counter()
            await body()
            best = max(best, N / (time.perf_counter() - started))
        results.append(best)
    return results[0], results[1]


async def setup() -> None:
    import asyncpg

    conn = await asyncpg.connect(URL)
    await conn.execute("CREATE TABLE IF NOT EXISTS world (id integer PRIMARY KEY, randomnumber integer NOT NULL)")
    if await conn.fetchval("SELECT COUNT(*) FROM world") != 10000:
        await conn.execute("TRUNCATE world")
        await conn.executemany("INSERT INTO world VALUES ($1, $2)", [(i, random.randint(1, 10000)) for i in range(1, 10001)])
    await conn.close()


async def with_asyncpg() -> tuple[float, float]:
    import asyncpg

    pool = await asyncpg.create_pool(URL, min_size=CONCURRENCY, max_size=CONCURRENCY)
    try:
        return await measure(lambda i: pool.fetchrow(SQL, i))
    finally:
        await pool.close()


async def with_cello() -> tuple[float, float]:
    from cello.data import Database, DatabaseConfig

    db = await Database.connect(DatabaseConfig(URL, pool_size=CONCURRENCY, min_idle=CONCURRENCY))
    try:
        return await measure(lambda i: db.fetchrow(SQL, i))
    finally:
        await db.close()


def main() -> None:
    import cello.data

    asyncio.run(setup())
    print(f"{N} single-row queries, best of 3 (queries/s)")
    print(f"{'driver':<22}{'sequential':>12}{f'{CONCURRENCY} concurrent':>16}")
    sequential, concurrent = asyncio.run(with_asyncpg())
    print(f"{'asyncpg (asyncio)':<22}{sequential:>12.0f}{concurrent:>16.0f}")
    with asyncio.Runner(loop_factory=cello.data.event_loop) as runner:
        sequential, concurrent = runner.run(with_cello())
    print(f"{'cello.data (sqlx)':<22}{sequential:>12.0f}{concurrent:>16.0f}")


if __name__ == "__main__":
    main()
