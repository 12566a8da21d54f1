"""The benchmark app for Starlette, served by Granian (or Uvicorn with --server uvicorn)."""

import asyncio

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route


async def json_hello(request: Request) -> JSONResponse:
    return JSONResponse({"message": "Hello, World!"})


async def plaintext(request: Request) -> PlainTextResponse:
    return PlainTextResponse("Hello, World!")


async def user(request: Request) -> JSONResponse:
    return JSONResponse({"id": request.path_params["id"]})


async def query(request: Request) -> JSONResponse:
    params = request.query_params
    return JSONResponse({"a": params["a"], "b": params["b"]})


async def echo(request: Request) -> JSONResponse:
    return JSONResponse(await request.json())


async def async_sleep(request: Request) -> JSONResponse:
    await asyncio.sleep(0)
    return JSONResponse({"message": "Hello, World!"})


app = Starlette(
    routes=[
        Route("/json", json_hello),
        Route("/plaintext", plaintext),
        Route("/users/{id:int}", user),
        Route("/query", query),
        Route("/echo", echo, methods=["POST"]),
        # Every Starlette endpoint is already an async def that never awaits.
        Route("/async", json_hello),
        Route("/async-sleep", async_sleep),
    ]
)

if __name__ == "__main__":
    from _serve import parse_args, serve

    args = parse_args()
    serve("starlette_app:app", "asgi", args.port, args.workers, args.server)
