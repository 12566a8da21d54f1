"""Calling the native handles: a future of the running Cello loop per statement."""

from __future__ import annotations

import asyncio
from typing import Any

from cello import _cello

__all__ = ["driver", "new_future"]


def driver() -> _cello.Driver:
    """The Cello driver of the running loop (the pool's statements run on it)."""
    loop = asyncio.get_running_loop()
    found = getattr(loop, "driver", None)
    if found is None:
        raise RuntimeError(
            "the database runs on Cello's event loop: use it from handlers, startup hooks or "
            "the TestClient, or run a script with asyncio.Runner(loop_factory=cello.data.event_loop)"
        )
    return found  # type: ignore[no-any-return]


def new_future() -> asyncio.Future[Any]:
    return asyncio.get_running_loop().create_future()
