"""The benchmark app for Starlette, served by Granian (or Uvicorn with --server uvicorn)."""

import asyncio
import contextlib

import _tfb
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse
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


# The TechEmpower database scenarios: a pool per worker, opened by the lifespan when the
# harness names a database.
pool = None


@contextlib.asynccontextmanager
async def lifespan(_app):
    global pool
    if _tfb.DATABASE_URL:
        pool = await _tfb.open_pool()
    yield
    if pool is not None:
        await pool.close()


async def db(request: Request) -> JSONResponse:
    return JSONResponse(await _tfb.one_world(pool))


async def queries(request: Request) -> JSONResponse:
    count = _tfb.query_count(request.query_params.get("queries"))
    return JSONResponse(await _tfb.many_worlds(pool, count))


async def updates(request: Request) -> JSONResponse:
    count = _tfb.query_count(request.query_params.get("queries"))
    return JSONResponse(await _tfb.update_worlds(pool, count))


async def fortunes(request: Request) -> HTMLResponse:
    return HTMLResponse(await _tfb.fortunes_html(pool))


app = Starlette(
    lifespan=lifespan,
    routes=[
        Route("/json", json_hello),
        Route("/plaintext", plaintext),
        Route("/users/{id:int}", user),
        Route("/query", query),
        Route("/echo", echo, methods=["POST"]),
        # Every Starlette endpoint is already an async def that never awaits.
        Route("/async", json_hello),
        Route("/async-sleep", async_sleep),
        Route("/db", db),
        Route("/queries", queries),
        Route("/fortunes", fortunes),
        Route("/updates", updates),
    ]
)

if __name__ == "__main__":
    from _serve import parse_args, serve

    args = parse_args()
    serve("starlette_app:app", "asgi", args.port, args.workers, args.server)
