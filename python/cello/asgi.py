"""Serving an ASGI 3 application under a prefix: ``app.mount`` (docs/asgi.md)."""

from __future__ import annotations

from typing import Any

__all__ = ["AsgiMixin"]


class AsgiMixin:
    """``App.mount``."""

    def mount(self, prefix: str, app: Any) -> None:
        raise NotImplementedError("mount is being built")
