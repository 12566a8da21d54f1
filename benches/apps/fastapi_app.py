"""The benchmark app for FastAPI, on Granian (--server granian) or Uvicorn (--server uvicorn).

Parameters are bound the FastAPI way, from type hints, with Pydantic validating them.
"""

import asyncio
import contextlib
from typing import Any

import _tfb
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import BaseModel


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI):
    # The TechEmpower database scenarios: a pool per worker when the harness names a database.
    app.state.pool = await _tfb.open_pool() if _tfb.DATABASE_URL else None
    yield
    if app.state.pool is not None:
        await app.state.pool.close()


app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None, lifespan=lifespan)


@app.get("/json")
async def json_hello():
    return {"message": "Hello, World!"}


@app.get("/plaintext", response_class=PlainTextResponse)
async def plaintext():
    return "Hello, World!"


@app.get("/users/{user_id}")
async def user(user_id: int):
    return {"id": user_id}


@app.get("/query")
async def query(a: str, b: str):
    return {"a": a, "b": b}


@app.post("/echo")
async def echo(payload: dict[str, Any]):
    return payload


class Item(BaseModel):
    name: str
    price: float


@app.post("/items/{item_id}")
@app.post("/items-manual/{item_id}")
async def create_item(item_id: int, item: Item):
    return {"item_id": item_id, "name": item.name, "price": item.price}


@app.get("/async")
async def async_return():
    return {"message": "Hello, World!"}


@app.get("/async-sleep")
async def async_sleep():
    await asyncio.sleep(0)
    return {"message": "Hello, World!"}


# TechEmpower's `queries` is lenient (not a number is 1, then clamped to 1..500), so it is
# bound as text: an int annotation would answer 422 where the rules want 1.
@app.get("/db")
async def db(request: Request):
    return await _tfb.one_world(request.app.state.pool)


@app.get("/queries")
async def queries(request: Request, queries: str | None = None):
    return await _tfb.many_worlds(request.app.state.pool, _tfb.query_count(queries))


@app.get("/fortunes", response_class=HTMLResponse)
async def fortunes(request: Request):
    return await _tfb.fortunes_html(request.app.state.pool)


@app.get("/updates")
async def updates(request: Request, queries: str | None = None):
    return await _tfb.update_worlds(request.app.state.pool, _tfb.query_count(queries))


if __name__ == "__main__":
    from _serve import parse_args, serve

    args = parse_args()
    serve("fastapi_app:app", "asgi", args.port, args.workers, args.server)
