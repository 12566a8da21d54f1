"""The benchmark app for Robyn (Rust runtime, Python handlers).

Robyn reads its own command line: ``--processes`` is the number of server processes and
``--workers`` the threads in each. The harness's "N workers" means N processes of one
thread each, as for every other framework, so the command line is translated before
Robyn sees it.
"""

import argparse
import asyncio
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, default=8000)
parser.add_argument("--workers", type=int, default=1)
args, _ = parser.parse_known_args()
sys.argv = [
    sys.argv[0],
    "--processes",
    str(args.workers),
    "--workers",
    "1",
    "--log-level",
    "WARNING",
]

from robyn import Request, Response, Robyn  # noqa: E402 - after the argv rewrite

app = Robyn(__file__)


@app.get("/json")
def json_hello(request: Request):
    return {"message": "Hello, World!"}


@app.get("/plaintext")
def plaintext(request: Request):
    return Response(200, {"Content-Type": "text/plain"}, "Hello, World!")


@app.get("/users/:id")
def user(request: Request):
    return {"id": int(request.path_params["id"])}


@app.get("/query")
def query(request: Request):
    params = request.query_params
    return {"a": params.get("a", None), "b": params.get("b", None)}


@app.post("/echo")
def echo(request: Request):
    return request.json()


@app.get("/async")
async def async_return(request: Request):
    return {"message": "Hello, World!"}


@app.get("/async-sleep")
async def async_sleep(request: Request):
    await asyncio.sleep(0)
    return {"message": "Hello, World!"}


if __name__ == "__main__":
    app.start(host="127.0.0.1", port=args.port)
