"""A bare ASGI app on Granian: no framework, stdlib json, hand-written routing.

Compared with the RSGI row it prices the ASGI message protocol; compared with the
framework rows it prices each framework's routing, binding and response classes.
"""

import asyncio
import json
from urllib.parse import parse_qs

JSON = [(b"content-type", b"application/json")]
TEXT = [(b"content-type", b"text/plain")]
HELLO = {"message": "Hello, World!"}


async def _send(send, status, headers, body):
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _json(send, value, status=200):
    await _send(send, status, JSON, json.dumps(value).encode())


async def _read_body(receive):
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    path, method = scope["path"], scope["method"]
    if method == "GET":
        if path == "/json" or path == "/async":
            return await _json(send, HELLO)
        if path == "/plaintext":
            return await _send(send, 200, TEXT, b"Hello, World!")
        if path.startswith("/users/") and path[7:].isdigit():
            return await _json(send, {"id": int(path[7:])})
        if path == "/query":
            params = parse_qs(scope["query_string"].decode("latin-1"))
            return await _json(send, {"a": params["a"][0], "b": params["b"][0]})
        if path == "/async-sleep":
            await asyncio.sleep(0)
            return await _json(send, HELLO)
    elif method == "POST" and path == "/echo":
        return await _json(send, json.loads(await _read_body(receive)))
    await _send(send, 404, TEXT, b"Not Found")


if __name__ == "__main__":
    from _serve import parse_args, serve

    args = parse_args()
    serve("granian_asgi_app:app", "asgi", args.port, args.workers, "granian")
