"""OpenAPI 3.1 document, Swagger UI and ReDoc (docs/openapi.md)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from cello.openapi.document import build_document
from cello.openapi.pages import INSTALL_HINT, find_assets, page_routes
from cello.responses import Response

__all__ = ["OpenApiMixin"]

logger = logging.getLogger("cello")


def _url(name: str, value: str | None) -> str | None:
    if value is not None and not value.startswith("/"):
        raise ValueError(f"{name} must be a path starting with '/', or None to turn it off; got {value!r}")
    return value


class OpenApiMixin:
    """``App.enable_openapi`` and ``App.openapi``."""

    _records: list[Any]
    get: Any  # RouteRegistrar.get

    def enable_openapi(
        self,
        title: str = "Cello API",
        version: str = "1.0.1",
        *,
        description: str | None = None,
        openapi_url: str = "/openapi.json",
        docs_url: str | None = "/docs",
        redoc_url: str | None = "/redoc",
        servers: Sequence[str | Mapping[str, Any]] | None = None,
        tags: Sequence[Mapping[str, Any]] | None = None,
        contact: Mapping[str, Any] | None = None,
        license_info: Mapping[str, Any] | None = None,
        summary: str | None = None,
        terms_of_service: str | None = None,
        swagger_ui_parameters: Mapping[str, Any] | None = None,
    ) -> None:
        """Serves the app's OpenAPI 3.1 document at `openapi_url`, Swagger UI at
        `docs_url` and ReDoc at `redoc_url` (``None`` turns a page off). The pages'
        scripts and styles are served by the app too (``cello[openapi]``), so they
        work offline. The document is made on its first request, when every route
        is registered, and kept.

        Args:
            title: ``info.title``.
            version: ``info.version``, the version of your API.
            description: ``info.description`` (Markdown).
            openapi_url: where the JSON document is served.
            docs_url: where Swagger UI is served (its files under ``{docs_url}/``).
            redoc_url: where ReDoc is served.
            servers: ``servers``: URLs, or Server Objects (``{"url": ..., "description": ...}``).
            tags: tag metadata, ``[{"name": "users", "description": "..."}]``.
            contact: ``info.contact``, ``{"name": ..., "url": ..., "email": ...}``.
            license_info: ``info.license``, ``{"name": "MIT", "identifier": "MIT"}``.
            summary: ``info.summary``.
            terms_of_service: ``info.termsOfService`` (a URL).
            swagger_ui_parameters: Swagger UI options (``{"docExpansion": "none"}``).

        Example:
            >>> from cello import App
            >>> app = App()
            >>> app.enable_openapi(title="Shop", version="2.0.0", description="Orders and items")
            >>> @app.get("/items/{id:int}", tags=["items"])
            ... def get_item(request):
            ...     '''One item.'''
            ...     return {"id": request.params["id"]}
            >>> app.openapi()["paths"]["/items/{id}"]["get"]["summary"]
            'One item.'
        """
        if self.__dict__.get("_openapi") is not None:
            raise ValueError("enable_openapi() was already called: call it once, with all of its options")
        settings: dict[str, Any] = {
            "title": title,
            "version": version,
            "description": description,
            "openapi_url": _url("openapi_url", openapi_url),
            "docs_url": _url("docs_url", docs_url),
            "redoc_url": _url("redoc_url", redoc_url),
            "servers": list(servers) if servers else None,
            "tags": [dict(tag) for tag in tags] if tags else None,
            "contact": dict(contact) if contact else None,
            "license_info": dict(license_info) if license_info else None,
            "summary": summary,
            "terms_of_service": terms_of_service,
            "swagger_ui_parameters": dict(swagger_ui_parameters) if swagger_ui_parameters else None,
        }
        if not openapi_url:
            raise ValueError("openapi_url is needed: the pages read the document from it")
        self.__dict__["_openapi"] = settings
        self.get(openapi_url, include_in_schema=False)(self._openapi_response)
        assets = find_assets() if (docs_url or redoc_url) else None
        if (docs_url or redoc_url) and assets is None:
            logger.warning(
                "OpenAPI: the Swagger UI and ReDoc files are not installed, so %s answer "
                "503 (the document at %s works): %s",
                " and ".join(u for u in (docs_url, redoc_url) if u), openapi_url, INSTALL_HINT,
            )
        for path, handler in page_routes(settings, assets):
            self.get(path, include_in_schema=False)(handler)

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI document of the routes registered so far, as a dict (made
        again when routes were added since the last call). To customise the served
        document, change the dict this returns, or replace the method on the app
        (``app.openapi = my_openapi``)."""
        settings = self.__dict__.get("_openapi") or {"title": "Cello API", "version": "1.0.1"}
        cached = self.__dict__.get("_openapi_document")
        if cached is not None and cached[0] == len(self._records):
            document: dict[str, Any] = cached[1]
            return document
        document = build_document(self, settings)
        self.__dict__["_openapi_document"] = (len(self._records), document)
        return document

    def _openapi_response(self) -> Response:
        document = self.openapi()
        cached = self.__dict__.get("_openapi_body")
        if cached is None or cached[0] is not document:
            body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
            cached = (document, body)
            self.__dict__["_openapi_body"] = cached
        return Response(cached[1], content_type="application/json")
