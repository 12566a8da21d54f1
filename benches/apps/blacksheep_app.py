"""The benchmark app for BlackSheep, served by Granian.

Parameters are bound from the handler's signature (route, query, JSON body), BlackSheep's
own way.
"""

import asyncio
from typing import Any

from blacksheep import Application, FromJSON, json, text
from blacksheep.server.routing import Router

# An explicit router: the default one is module-global, and this file is imported twice in
# a Granian worker (as the spawned main module and as the target), which would register
# every route twice.
app = Application(router=Router(), show_error_details=False)
get = app.router.get
post = app.router.post


@get("/json")
async def json_hello():
    return json({"message": "Hello, World!"})


@get("/plaintext")
async def plaintext():
    return text("Hello, World!")


@get("/users/{user_id}")
async def user(user_id: int):
    return json({"id": user_id})


@get("/query")
async def query(a: str, b: str):
    return json({"a": a, "b": b})


@post("/echo")
async def echo(payload: FromJSON[dict[str, Any]]):
    return json(payload.value)


@get("/async")
async def async_return():
    return json({"message": "Hello, World!"})


@get("/async-sleep")
async def async_sleep():
    await asyncio.sleep(0)
    return json({"message": "Hello, World!"})


if __name__ == "__main__":
    from _serve import parse_args, serve

    args = parse_args()
    serve("blacksheep_app:app", "asgi", args.port, args.workers, "granian")
