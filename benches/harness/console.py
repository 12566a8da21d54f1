"""How the harness talks to the person running it."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Log", "loud"]

Log = Callable[[str], None]
"""Where progress lines go: ``print`` from the CLI."""


def loud(message: str) -> str:
    """A message framed so it cannot scroll past unnoticed (a framework being skipped)."""
    bar = "!" * 78
    return f"{bar}\n!! {message}\n{bar}"
