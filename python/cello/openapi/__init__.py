"""OpenAPI 3.1 document, Swagger UI and ReDoc (docs/openapi.md)."""

from __future__ import annotations

from typing import Any

__all__ = ["OpenApiMixin"]


class OpenApiMixin:
    """``App.enable_openapi``."""

    def enable_openapi(self, title: str = "Cello API", version: str = "1.0.1", **options: Any) -> None:
        raise NotImplementedError("enable_openapi is being built")
