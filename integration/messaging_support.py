"""Helpers of the messaging integration tests: calls to the app under test
(integration/apps/messaging_app.py) and waits for what its handlers saw."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from support.processes import wait_until

DEADLINE = 60.0


def call(port: int, method: str, path: str, body: bytes | None = None,
         headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method,
                                     headers=headers or {})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def seen(port: int, queue: str, count: int) -> list[Any]:
    """What the app handled from `queue`, once it handled at least `count` messages."""

    def enough() -> list[Any] | None:
        values: list[Any] = call(port, "GET", "/seen").get(queue, [])
        return values if len(values) >= count else None

    result: list[Any] = wait_until(enough, DEADLINE, f"{count} messages handled from {queue}")
    return result
