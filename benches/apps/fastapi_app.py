"""The benchmark app for FastAPI, on Granian (--server granian) or Uvicorn (--server uvicorn).

Parameters are bound the FastAPI way, from type hints, with Pydantic validating them.
"""

import asyncio
from typing import Any

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

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
