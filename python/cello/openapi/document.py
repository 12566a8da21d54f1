"""The OpenAPI 3.1 document of an app, from its route records."""

from __future__ import annotations

from typing import Any

from cello.openapi.operations import Operations, openapi_path
from cello.openapi.schemas import SchemaRegistry
from cello.openapi.security import Security

__all__ = ["PROBLEM_SCHEMA", "VALIDATION_PROBLEM_SCHEMA", "build_document"]

#: RFC 9457 problem details, as Cello's errors are written (`cello.app.problem`).
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string", "default": "about:blank"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 100, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
    },
}

#: The 422 of a request whose parameters or body failed validation.
VALIDATION_PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "ValidationProblem",
    "type": "object",
    "description": "RFC 9457 problem details with one entry per invalid value",
    "properties": {
        **PROBLEM_SCHEMA["properties"],
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {
                        "type": "array",
                        "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                        "description": "where the value was: source, then name, keys or indexes",
                    },
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                    "input": {},
                    "ctx": {"type": "object"},
                },
                "required": ["loc", "msg", "type"],
            },
        },
    },
    "required": ["errors"],
}

_DOCUMENTED_METHODS = ("GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE")


def build_document(app: Any, settings: dict[str, Any]) -> dict[str, Any]:
    """The document of `app`'s routes; `settings` holds ``enable_openapi``'s
    arguments (title, version, description, servers, tags, contact, license_info,
    summary, terms_of_service)."""
    registry = SchemaRegistry()
    operations = Operations(registry, app_guards=bool(getattr(app, "_guards", None)))
    security = Security(app)
    paths: dict[str, dict[str, Any]] = {}
    for record in app._records:
        if record.websocket or not record.include_in_schema:
            continue
        path, _ = openapi_path(record.path)
        for method in record.methods:
            if method not in _DOCUMENTED_METHODS:
                continue
            operation = operations.build(record, method)
            requirement = security.operation(path, record.middleware_owners)
            if requirement is not None:
                operation["security"] = requirement
            if security.requires(path, record.middleware_owners):
                operation["responses"].setdefault("401", {
                    "description": "The request did not authenticate",
                    "content": {"application/problem+json": {
                        "schema": {"$ref": "#/components/schemas/Problem"}}},
                })
                _move_default_last(operation["responses"])
            paths.setdefault(path, {})[method.lower()] = operation
    registry.finish()

    components: dict[str, Any] = {"schemas": dict(sorted(registry.components.items()))}
    components["schemas"]["Problem"] = PROBLEM_SCHEMA
    if operations.uses_validation:
        components["schemas"]["ValidationProblem"] = VALIDATION_PROBLEM_SCHEMA
    if security.schemes:
        components["securitySchemes"] = security.schemes

    document: dict[str, Any] = {"openapi": "3.1.0", "info": _info(settings)}
    servers = settings.get("servers")
    if servers:
        document["servers"] = [{"url": s} if isinstance(s, str) else dict(s) for s in servers]
    document["paths"] = paths
    document["components"] = components
    if security.global_requirement:
        document["security"] = security.global_requirement
    if settings.get("tags"):
        document["tags"] = [dict(tag) for tag in settings["tags"]]
    return document


def _info(settings: dict[str, Any]) -> dict[str, Any]:
    info: dict[str, Any] = {"title": settings["title"], "version": settings["version"]}
    for key, name in (
        ("summary", "summary"),
        ("description", "description"),
        ("terms_of_service", "termsOfService"),
        ("contact", "contact"),
        ("license_info", "license"),
    ):
        if settings.get(key):
            info[name] = settings[key]
    return info


def _move_default_last(responses: dict[str, Any]) -> None:
    default = responses.pop("default", None)
    if default is not None:
        responses["default"] = default
