"""A server for tests/test_hostile_socket.py: handlers that read every `Request`
accessor, so hostile bytes from a real socket reach every parser the facade has.

Run as ``python tests/apps/hostile_app.py --port 0``.
"""

from __future__ import annotations

import os
from typing import Any

from cello import App

app = App()


def read_everything(request: Any) -> dict[str, Any]:
    seen: dict[str, Any] = {
        "method": request.method,
        "path": request.path,
        "url": request.url,
        "query_string": request.query_string,
        "query": request.query.multi_items(),
        "headers": request.headers.items(),
        "cookies": request.cookies,
        "params": request.params,
        "path_params": request.path_params,
        "content_type": request.content_type,
        "client": request.client,
        "scheme": request.scheme,
        "http_version": request.http_version,
        "size": len(request.body()),
    }
    try:
        seen["text"] = request.text()
    except UnicodeDecodeError:
        seen["text"] = None
    return seen


@app.route("/any/{part}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def anything(request: Any) -> dict[str, Any]:
    return {"keys": sorted(read_everything(request))}


@app.route("/typed/{n:int}/{f:float}/{u:uuid}/{rest:path}", methods=["GET", "POST"])
def typed(request: Any, n: int, f: float, u: str, rest: str) -> dict[str, Any]:
    return {"n": n, "keys": sorted(read_everything(request))}


@app.post("/json")
def echo(request: Any) -> Any:
    read_everything(request)
    return request.json()


@app.post("/form")
async def form(request: Any) -> dict[str, Any]:
    read_everything(request)
    fields = await request.form()
    return {"fields": sorted(fields.keys())}


@app.get("/pid")
def pid(request: Any) -> dict[str, int]:
    return {"pid": os.getpid()}


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000, workers=1)
