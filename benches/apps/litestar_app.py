"""The benchmark app for Litestar (msgspec encoding), served by Granian."""

import asyncio
from typing import Any

from litestar import Litestar, MediaType, get, post


@get("/json")
async def json_hello() -> dict[str, str]:
    return {"message": "Hello, World!"}


@get("/plaintext", media_type=MediaType.TEXT)
async def plaintext() -> str:
    return "Hello, World!"


@get("/users/{user_id:int}")
async def user(user_id: int) -> dict[str, int]:
    return {"id": user_id}


@get("/query")
async def query(a: str, b: str) -> dict[str, str]:
    return {"a": a, "b": b}


@post("/echo", status_code=200)
async def echo(data: dict[str, Any]) -> dict[str, Any]:
    return data


@get("/async")
async def async_return() -> dict[str, str]:
    return {"message": "Hello, World!"}


@get("/async-sleep")
async def async_sleep() -> dict[str, str]:
    await asyncio.sleep(0)
    return {"message": "Hello, World!"}


app = Litestar(
    route_handlers=[json_hello, plaintext, user, query, echo, async_return, async_sleep],
    openapi_config=None,
    debug=False,
)

if __name__ == "__main__":
    from _serve import parse_args, serve

    args = parse_args()
    serve("litestar_app:app", "asgi", args.port, args.workers, args.server)
