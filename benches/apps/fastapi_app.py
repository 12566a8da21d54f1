"""The benchmark app for FastAPI, on Granian (--server granian) or Uvicorn (--server uvicorn).

Parameters are bound the FastAPI way, from type hints, with Pydantic validating them.
"""

import asyncio
from typing import Any

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


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


if __name__ == "__main__":
    from _serve import parse_args, serve

    args = parse_args()
    serve("fastapi_app:app", "asgi", args.port, args.workers, args.server)
