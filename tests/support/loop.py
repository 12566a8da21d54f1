"""Running a coroutine on a fresh Cello loop (the database's statements need one)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from cello.data import event_loop

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    with asyncio.Runner(loop_factory=event_loop) as runner:  # type: ignore[arg-type]
        return runner.run(coroutine)
