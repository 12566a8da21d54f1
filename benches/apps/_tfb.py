"""The TechEmpower database handlers' work for the asyncpg apps (Starlette, FastAPI).

Not a framework: the app files route to these and wrap the results their own way. Each
worker creates its pool at startup (the app's lifespan), ``CELLO_BENCH_DB_POOL``
connections, the same size as the Cello rows' pools. SQL and rules are those of
``cello_app.py``: rows read one statement each, the updates written back in one
``UPDATE ... FROM unnest(...)`` statement (TechEmpower permits a batch).
"""

import os
import random
from operator import itemgetter
from pathlib import Path

DATABASE_URL = os.environ.get("CELLO_BENCH_DB_URL")
POOL_SIZE = int(os.environ.get("CELLO_BENCH_DB_POOL", "10"))
TEMPLATES = Path(__file__).resolve().parent / "templates"

READ_NUMBER = "SELECT randomnumber FROM world WHERE id = $1"
WRITE_NUMBERS = (
    "UPDATE world SET randomnumber = u.n FROM unnest($1::int[], $2::int[]) AS u(id, n)"
    " WHERE world.id = u.id"
)
ALL_FORTUNES = "SELECT id, message FROM fortune"
ADDED_FORTUNE = {"id": 0, "message": "Additional fortune added at request time."}
by_message = itemgetter("message")


def query_count(raw):
    """TechEmpower's ``queries`` parameter: not an integer is 1, then clamped to 1..500."""
    try:
        count = int(raw)
    except (TypeError, ValueError):
        return 1
    return min(max(count, 1), 500)


def random_ids(count):
    return random.sample(range(1, 10001), count)


async def open_pool():
    import asyncpg

    return await asyncpg.create_pool(DATABASE_URL, min_size=POOL_SIZE, max_size=POOL_SIZE)


async def one_world(pool):
    row_id = random.randint(1, 10000)
    async with pool.acquire() as connection:
        number = await connection.fetchval(READ_NUMBER, row_id)
    return {"id": row_id, "randomNumber": number}


async def many_worlds(pool, count):
    async with pool.acquire() as connection:
        read = await connection.prepare(READ_NUMBER)
        return [{"id": i, "randomNumber": await read.fetchval(i)} for i in random_ids(count)]


async def update_worlds(pool, count):
    ids = sorted(random_ids(count))  # one lock order for every request: no deadlocks
    numbers = [random.randint(1, 10000) for _ in ids]
    async with pool.acquire() as connection:
        read = await connection.prepare(READ_NUMBER)
        for row_id in ids:
            await read.fetchval(row_id)
        await connection.execute(WRITE_NUMBERS, ids, numbers)
    return [{"id": i, "randomNumber": n} for i, n in zip(ids, numbers)]


_template = None


def _fortunes_template():
    global _template
    if _template is None:
        import jinja2

        environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True
        )
        _template = environment.get_template("fortunes.html")
    return _template


async def fortunes_html(pool):
    async with pool.acquire() as connection:
        rows = await connection.fetch(ALL_FORTUNES)
    fortunes = [dict(row) for row in rows]
    fortunes.append(ADDED_FORTUNE)
    fortunes.sort(key=by_message)
    return _fortunes_template().render(fortunes=fortunes)
