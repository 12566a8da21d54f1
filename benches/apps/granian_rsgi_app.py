"""A bare RSGI app on Granian: no framework, stdlib json, hand-written routing.

It shows what Granian's server costs on its own, the floor under every Granian row.
"""

import asyncio
import json
from urllib.parse import parse_qs

JSON = [("content-type", "application/json")]
TEXT = [("content-type", "text/plain")]
HELLO = {"message": "Hello, World!"}


def _json(protocol, value, status=200):
    protocol.response_bytes(status, JSON, json.dumps(value).encode())


async def app(scope, protocol):
    if scope.proto != "http":
        return
    path, method = scope.path, scope.method
    if method == "GET":
        if path == "/json" or path == "/async":
            return _json(protocol, HELLO)
        if path == "/plaintext":
            return protocol.response_str(200, TEXT, "Hello, World!")
        if path.startswith("/users/") and path[7:].isdigit():
            return _json(protocol, {"id": int(path[7:])})
        if path == "/query":
            params = parse_qs(scope.query_string)
            return _json(protocol, {"a": params["a"][0], "b": params["b"][0]})
        if path == "/async-sleep":
            await asyncio.sleep(0)
            return _json(protocol, HELLO)
    elif method == "POST" and path == "/echo":
        return _json(protocol, json.loads(await protocol()))
    protocol.response_str(404, TEXT, "Not Found")


if __name__ == "__main__":
    from _serve import parse_args, serve

    args = parse_args()
    serve("granian_rsgi_app:app", "rsgi", args.port, args.workers, "granian")
