"""The benchmark app for Cello and for the original cello-framework.

Written against the seed API only (``from cello import App, Response``, ``request.params``,
``request.json()``, ``app.run(...)``), so the same file runs on both: what differs between
the two rows of the report is the framework, not the app.

    python cello_app.py --port 8000 --workers 2
"""

import argparse
import asyncio
import os
import random
from operator import itemgetter

from cello import App, Response
from pydantic import BaseModel

try:  # typed parameters: this Cello. The original exports Depends but answers 500 for an
    # annotated handler (it passes the request to every parameter), and has no Query.
    from cello import Query  # noqa: F401

    TYPED = True
except ImportError:
    TYPED = False

app = App()


class Item(BaseModel):
    name: str
    price: float

if os.environ.get("CELLO_BENCH_MIDDLEWARE") == "1":
    # The middleware_stack scenario (benches/scenarios/middleware_stack.py). Only calls
    # both frameworks have, with the same settings; the request id only where it exists.
    from cello import JwtConfig, RateLimitConfig

    app.enable_cors()
    app.enable_security_headers()
    app.enable_rate_limit(RateLimitConfig.token_bucket(1_000_000_000, 1_000_000_000))
    app.enable_jwt(JwtConfig(secret="bench-secret-of-at-least-thirty-two-bytes", algorithm="HS256"))
    if hasattr(app, "enable_request_id"):
        app.enable_request_id()

# Observability overhead (docs/observability.md): "metrics" enables Prometheus,
# "tracing:RATE" OpenTelemetry at that sampling rate (export to
# $OTEL_EXPORTER_OTLP_ENDPOINT if set, else spans are made and dropped).
observability = os.environ.get("CELLO_BENCH_OBSERVABILITY", "")
if observability == "metrics":
    app.enable_prometheus()
elif observability.startswith("tracing:"):
    from cello import OpenTelemetryConfig

    app.enable_telemetry(OpenTelemetryConfig(service_name="bench", sampling_rate=float(observability[8:])))


@app.get("/json")
def json_hello(request):
    return {"message": "Hello, World!"}


@app.get("/plaintext")
def plaintext(request):
    return Response("Hello, World!", status=200)


@app.get("/users/{id}")
def user(request):
    return {"id": int(request.params["id"])}


@app.get("/query")
def query(request):
    # request.query is not in the seed pages; both frameworks expose it as a dict.
    return {"a": request.query["a"], "b": request.query["b"]}


@app.post("/echo")
def echo(request):
    return request.json()


if TYPED:

    @app.post("/items/{item_id}")
    def create_item(item_id: int, item: Item):
        # typed_body: the path parameter and the body bound from the annotations.
        return {"item_id": item_id, "name": item.name, "price": item.price}

else:

    @app.post("/items/{item_id}")
    def create_item(request):
        # The original answers 500 for typed parameters (docs/compat), so its row does
        # by hand what the annotations do on Cello.
        item = Item.model_validate(request.json())
        return {"item_id": int(request.params["item_id"]), "name": item.name, "price": item.price}


@app.post("/items-manual/{item_id}")
def create_item_manual(request):
    # typed_body_manual: the same work written by hand, on both frameworks.
    item = Item.model_validate(request.json())
    return {"item_id": int(request.params["item_id"]), "name": item.name, "price": item.price}


@app.get("/async")
async def async_return(request):
    return {"message": "Hello, World!"}


@app.get("/async-sleep")
async def async_sleep(request):
    await asyncio.sleep(0)
    return {"message": "Hello, World!"}


# The TechEmpower database scenarios (benches/scenarios/db.py and after), when the harness
# names a database. Both frameworks: `enable_database(DatabaseConfig(url, pool_size))`,
# `request.db.fetchrow/fetch/execute`, templates through `enable_templates`/`app.render`.
# Rows go back to the framework as it returns them (Cello encodes its rows to JSON in
# Rust; the original returns dicts); the SQL is the asyncpg apps' (apps/_tfb.py).
DATABASE_URL = os.environ.get("CELLO_BENCH_DB_URL")
if DATABASE_URL:
    from cello import DatabaseConfig

    app.enable_database(
        DatabaseConfig(DATABASE_URL, pool_size=int(os.environ.get("CELLO_BENCH_DB_POOL", "10")))
    )
    app.enable_templates(os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates"))
    READ_WORLD = 'SELECT id, randomnumber AS "randomNumber" FROM world WHERE id = $1'
    READ_NUMBER = "SELECT randomnumber FROM world WHERE id = $1"
    WRITE_NUMBERS = (
        "UPDATE world SET randomnumber = u.n FROM unnest($1::int[], $2::int[]) AS u(id, n)"
        " WHERE world.id = u.id"
    )
    ADDED_FORTUNE = {"id": 0, "message": "Additional fortune added at request time."}
    by_message = itemgetter("message")

    def query_count(request):
        """TechEmpower's `queries`: not an integer is 1, then clamped to 1..500."""
        try:
            count = int(request.query.get("queries", 1))
        except ValueError:
            return 1
        return min(max(count, 1), 500)

    @app.get("/db")
    async def db(request):
        return await request.db.fetchrow(READ_WORLD, random.randint(1, 10000))

    @app.get("/queries")
    async def queries(request):
        database = request.db
        ids = random.sample(range(1, 10001), query_count(request))
        return [await database.fetchrow(READ_WORLD, row_id) for row_id in ids]

    @app.get("/updates")
    async def updates(request):
        database = request.db
        ids = sorted(random.sample(range(1, 10001), query_count(request)))
        numbers = [random.randint(1, 10000) for _ in ids]
        for row_id in ids:
            await database.fetchval(READ_NUMBER, row_id)
        await database.execute(WRITE_NUMBERS, ids, numbers)
        return [{"id": i, "randomNumber": n} for i, n in zip(ids, numbers)]

    @app.get("/fortunes")
    async def fortunes(request):
        rows = await request.db.fetch("SELECT id, message FROM fortune")
        rows.append(ADDED_FORTUNE)
        rows.sort(key=by_message)
        return Response.html(app.render("fortunes.html", {"fortunes": rows}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    args, _ = parser.parse_known_args()
    app.run(host="127.0.0.1", port=args.port, workers=args.workers, env="production", logs=False)
