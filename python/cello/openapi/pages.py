"""Swagger UI and ReDoc pages, served with their JavaScript and CSS by the app itself.

The files come from the ``openapi-ui-bundles`` package (the ``cello[openapi]`` extra):
Swagger UI 5.17.14 and ReDoc 2.2.0, both able to render OpenAPI 3.1. Nothing is loaded
from a CDN, and the pages carry a Content-Security-Policy that forbids it.
"""

from __future__ import annotations

import functools
import html
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cello.responses import Response

__all__ = ["INSTALL_HINT", "Assets", "find_assets", "page_routes"]

INSTALL_HINT = (
    "pip install 'cello[openapi]' (it installs openapi-ui-bundles==0.3.0, which carries "
    "the Swagger UI and ReDoc files)"
)

_MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}


class Assets:
    """Where the UI files are on disk."""

    def __init__(self, swagger_ui: Path, redoc: Path) -> None:
        self.files = {
            "swagger-ui-bundle.js": swagger_ui / "swagger-ui-bundle.js",
            "swagger-ui.css": swagger_ui / "swagger-ui.css",
            "favicon-32x32.png": swagger_ui / "favicon-32x32.png",
            "redoc.standalone.js": redoc / "redoc.standalone.js",
        }

    def missing(self) -> list[str]:
        return [name for name, path in self.files.items() if not path.is_file()]


def find_assets() -> Assets | None:
    """The installed UI files, or ``None`` when the package is missing."""
    try:
        from openapi_ui_bundles import redoc, swagger_ui
    except ImportError:
        return None
    assets = Assets(Path(swagger_ui.static_path), Path(redoc.static_path))
    return None if assets.missing() else assets


@functools.cache
def _read(path: Path) -> bytes:
    return path.read_bytes()


def content_security_policy(servers: list[Any] | None) -> str:
    """Same-origin only, except the origins of the document's servers (for "Try it
    out"). ReDoc styles with inline ``<style>`` and runs its search in a blob: worker;
    Swagger UI draws icons from data: URLs."""
    connect = ["'self'"]
    for server in servers or []:
        url = server if isinstance(server, str) else server.get("url", "")
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.netloc:
            connect.append(f"{parts.scheme}://{parts.netloc}")
    return "; ".join([
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        f"connect-src {' '.join(connect)}",
        "worker-src 'self' blob:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'self'",
    ])


def _unavailable(page: str) -> Response:
    response = Response.json(
        {
            "type": "about:blank",
            "title": "Service Unavailable",
            "status": 503,
            "detail": f"{page} cannot be shown: its files are not installed. {INSTALL_HINT}. "
            "The document itself is served at the openapi_url.",
        },
        status=503,
    )
    response.headers["content-type"] = "application/problem+json"
    return response


def _swagger_page(title: str, base: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} - Swagger UI</title>
<link rel="stylesheet" href="{base}/swagger-ui.css">
<link rel="icon" type="image/png" href="{base}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{base}/swagger-ui-bundle.js"></script>
<script src="{base}/swagger-initializer.js"></script>
</body>
</html>
"""


def _redoc_page(title: str, base: str, openapi_url: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} - ReDoc</title>
<style>body {{ margin: 0; padding: 0; }}</style>
</head>
<body>
<redoc spec-url="{html.escape(openapi_url)}"></redoc>
<script src="{base}/redoc.standalone.js"></script>
</body>
</html>
"""


def _initializer(openapi_url: str, parameters: dict[str, Any] | None) -> str:
    config = {
        "url": openapi_url,
        "dom_id": "#swagger-ui",
        "deepLinking": True,
        # The default posts the document to validator.swagger.io for a badge.
        "validatorUrl": None,
        **(parameters or {}),
    }
    return (
        f"window.ui = SwaggerUIBundle(Object.assign({json.dumps(config)}, "
        '{presets: [SwaggerUIBundle.presets.apis], layout: "BaseLayout"}));\n'
    )


def page_routes(
    settings: dict[str, Any], assets: Assets | None
) -> list[tuple[str, Callable[[], Response]]]:
    """``(path, handler)`` for the pages and their files."""
    openapi_url = settings["openapi_url"]
    policy = content_security_policy(settings.get("servers"))
    page_headers = {"content-security-policy": policy, "cache-control": "no-cache"}
    routes: list[tuple[str, Callable[[], Response]]] = []

    def page(body: str, name: str) -> Callable[[], Response]:
        def handler() -> Response:
            if assets is None:
                return _unavailable(name)
            return Response.html(body, headers=page_headers)

        return handler

    def file(name: str, content: bytes | None = None) -> Callable[[], Response]:
        suffix = name[name.rfind("."):]

        def handler() -> Response:
            if assets is None:
                return _unavailable(name)
            body = content if content is not None else _read(assets.files[name])
            return Response(body, headers={"cache-control": "public, max-age=86400"},
                            content_type=_MEDIA_TYPES[suffix])

        return handler

    docs_url, redoc_url = settings.get("docs_url"), settings.get("redoc_url")
    if docs_url:
        base = docs_url.rstrip("/")
        routes.append((docs_url, page(_swagger_page(settings["title"], base), "Swagger UI")))
        for name in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"):
            routes.append((f"{base}/{name}", file(name)))
        initializer = _initializer(openapi_url, settings.get("swagger_ui_parameters")).encode()
        routes.append((f"{base}/swagger-initializer.js", file("swagger-initializer.js", initializer)))
    if redoc_url:
        base = redoc_url.rstrip("/")
        routes.append((redoc_url, page(_redoc_page(settings["title"], base, openapi_url), "ReDoc")))
        routes.append((f"{base}/redoc.standalone.js", file("redoc.standalone.js")))
    return routes
