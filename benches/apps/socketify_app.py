"""The benchmark app for socketify.py (uWebSockets through CFFI), its native interface.

Workers are socketify's own: its CLI forks ``-w N`` processes (N-1 children plus the main
process) that share the port through SO_REUSEPORT, and calls ``run(app)`` in each.
"""

import asyncio


def json_hello(res, req):
    res.send({"message": "Hello, World!"})


def plaintext(res, req):
    res.send("Hello, World!", content_type=b"text/plain")


def user(res, req):
    res.send({"id": int(req.get_parameter(0))})


def query(res, req):
    res.send({"a": req.get_query("a"), "b": req.get_query("b")})


async def echo(res, req):
    res.send(await res.get_json())


async def async_return(res, req):
    res.send({"message": "Hello, World!"})


async def async_sleep(res, req):
    await asyncio.sleep(0)
    res.send({"message": "Hello, World!"})


def run(app):
    """socketify's factory interface: register the routes on the app it made."""
    app.get("/json", json_hello)
    app.get("/plaintext", plaintext)
    app.get("/users/:id", user)
    app.get("/query", query)
    app.post("/echo", echo)
    app.get("/async", async_return)
    app.get("/async-sleep", async_sleep)


if __name__ == "__main__":
    import argparse
    import os
    import sys

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    argv = [sys.executable, "-m", "socketify", "socketify_app:run", "--interface", "socketify"]
    argv += ["--host", "127.0.0.1", "--port", str(args.port), "--workers", str(args.workers)]
    argv += ["--disable-listen-log", "true"]
    os.execv(sys.executable, argv)
