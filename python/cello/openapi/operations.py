"""One OpenAPI operation from a `RouteRecord`: its parameters, request body and
responses. The types come from the route's `Plan` when its handler declares typed
parameters, else from the path pattern and the ``body=`` option."""

from __future__ import annotations

import inspect
import json
import re
import typing
from http import HTTPStatus
from typing import Any

from cello._plan import ParamInfo, Plan
from cello._routing import RouteRecord
from cello.openapi.schemas import COMPONENT_REF, SchemaRegistry

__all__ = ["Operations", "openapi_path"]

_PARAMETER = re.compile(r"\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(?::([a-z]+))?\}")
_INT64 = {"type": "integer", "format": "int64", "minimum": -(2**63), "maximum": 2**63 - 1}
#: What the router's converters accept (crates/cello-router/src/pattern.rs).
_CONVERTERS: dict[str, dict[str, Any]] = {
    "str": {"type": "string", "minLength": 1},
    "int": _INT64,
    "float": {"type": "number", "format": "double"},
    "uuid": {"type": "string", "format": "uuid"},
    "path": {"type": "string", "minLength": 1},
}
_NO_BODY = {204, 205, 304}
_PROBLEM = "application/problem+json"


def openapi_path(pattern: str) -> tuple[str, dict[str, str]]:
    """``/users/{id:int}/{*rest}`` → ``("/users/{id}/{rest}", {"id": "int", "rest": "path"})``."""
    converters: dict[str, str] = {}

    def replace(match: re.Match[str]) -> str:
        star, name, converter = match.groups()
        converters[name] = "path" if star else (converter or "str")
        return "{" + name + "}"

    return _PARAMETER.sub(replace, pattern), converters


def _ref(name: str) -> dict[str, str]:
    return {"$ref": COMPONENT_REF.format(name=name)}


def _phrase(status: int | str) -> str:
    try:
        return HTTPStatus(int(status)).phrase
    except ValueError:
        return "Response"


def _json_value(value: Any) -> tuple[bool, Any]:
    """``(True, value)`` when `value` can be written in the document as JSON."""
    value = getattr(value, "value", value)  # an Enum member
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False, None
    return True, value


def _keywords(param: ParamInfo, describe: bool = True) -> dict[str, Any]:
    """Constraints, title, default and examples of `param`, as JSON Schema keywords
    (the description too unless the Parameter Object carries it: `describe`)."""
    extra: dict[str, Any] = {}
    field = param.field
    if field is not None:
        extra.update(field.constraints)
        if field.title:
            extra["title"] = field.title
        if field.description and describe:
            extra["description"] = field.description
        if field.examples:
            extra["examples"] = list(field.examples)
        if field.deprecated:
            extra["deprecated"] = True
    if not param.required and param.default is not None:
        ok, value = _json_value(param.default)
        if ok:
            extra["default"] = value
    return extra


def _summary_and_description(record: RouteRecord) -> tuple[str, str | None]:
    doc = inspect.getdoc(record.handler) if inspect.isroutine(record.handler) else None
    first, _, rest = (doc or "").partition("\n")
    summary = record.summary or first.strip() or (record.name or "").replace("_", " ").title()
    description = record.description or (rest.strip() or None)
    return summary, description


def _returned_type(record: RouteRecord) -> Any:
    """The handler's return annotation when it describes the body, else ``None``."""
    from cello.responses import Response

    try:
        hints = typing.get_type_hints(record.handler)
    except Exception:  # noqa: BLE001 - an unresolvable annotation documents nothing
        return None
    returned = hints.get("return")
    if returned is None or returned is type(None) or returned is Any:
        return None
    if isinstance(returned, type) and issubclass(returned, Response):
        return Response
    return returned


class Operations:
    """Builds operations, sharing one schema registry (and so one set of components)."""

    def __init__(self, registry: SchemaRegistry, app_guards: bool = False) -> None:
        self.registry = registry
        self.app_guards = app_guards
        self.uses_validation = False
        self._operation_ids: set[str] = set()

    def operation_id(self, record: RouteRecord, method: str) -> str:
        base = record.operation_id or record.name or "operation"
        if len(record.methods) > 1:
            base = f"{base}_{method.lower()}"
        candidate, number = base, 2
        while candidate in self._operation_ids:
            candidate, number = f"{base}_{number}", number + 1
        self._operation_ids.add(candidate)
        return candidate

    def build(self, record: RouteRecord, method: str) -> dict[str, Any]:
        """The operation object, without ``security`` (the document adds it)."""
        summary, description = _summary_and_description(record)
        operation: dict[str, Any] = {}
        if record.tags:
            operation["tags"] = list(record.tags)
        operation["summary"] = summary
        if description:
            operation["description"] = description
        operation["operationId"] = self.operation_id(record, method)
        plan: Plan | None = record.plan
        parameters = self._parameters(record, plan)
        if parameters:
            operation["parameters"] = parameters
        body = self._request_body(record, plan)
        if body is not None:
            operation["requestBody"] = body
        operation["responses"] = self._responses(record, plan)
        if record.deprecated:
            operation["deprecated"] = True
        return operation

    # --- parameters ---------------------------------------------------------------

    def _parameters(self, record: RouteRecord, plan: Plan | None) -> list[dict[str, Any]]:
        _, converters = openapi_path(record.path)
        declared = {p.alias: p for p in plan.by_source("path")} if plan else {}
        parameters: list[dict[str, Any]] = []
        for name, converter in converters.items():
            param = declared.get(name)
            if param is not None and converter == "str":
                extra = {"minLength": 1, **_keywords(param, describe=False)}
                schema = self.registry.schema(param.annotation, extra=extra)
            else:
                schema = {**_CONVERTERS[converter], **(_keywords(param, False) if param else {})}
                schema.pop("default", None)
            parameters.append(self._parameter(name, "path", True, schema, param))
        for source in ("query", "header", "cookie"):
            for param in plan.by_source(source) if plan else ():
                if param.field is not None and not param.field.include_in_schema:
                    continue
                schema = self.registry.schema(param.annotation, extra=_keywords(param, False))
                parameters.append(self._parameter(param.alias, source, param.required, schema, param))
        return parameters

    @staticmethod
    def _parameter(
        name: str, source: str, required: bool, schema: dict[str, Any], param: ParamInfo | None
    ) -> dict[str, Any]:
        parameter: dict[str, Any] = {"name": name, "in": source, "required": required}
        field = param.field if param is not None else None
        if field is not None and field.description:
            parameter["description"] = field.description
        if field is not None and field.deprecated:
            parameter["deprecated"] = True
        parameter["schema"] = schema
        return parameter

    # --- request body -------------------------------------------------------------

    def _request_body(self, record: RouteRecord, plan: Plan | None) -> dict[str, Any] | None:
        if plan is None or not (plan.by_source("body") or plan.by_source("form") or plan.by_source("file")):
            if record.body is None:
                return None
            schema = self.registry.schema(record.body)
            return {"required": True, "content": {"application/json": {"schema": schema}}}
        body = [p for p in plan.by_source("body") if p.field is None or p.field.include_in_schema]
        if body:
            media_type = getattr(body[0].field, "media_type", None) or "application/json"
            if plan.embed_body or len(body) > 1:
                schema = self._object(body)
            else:
                schema = self.registry.schema(body[0].annotation, extra=_keywords(body[0]))
            required = any(p.required for p in body)
            return {"required": required, "content": {media_type: {"schema": schema}}}
        fields = [*plan.by_source("form"), *plan.by_source("file")]
        fields.sort(key=plan.params.index)
        media_type = "multipart/form-data" if plan.by_source("file") else "application/x-www-form-urlencoded"
        content: dict[str, Any] = {"schema": self._object(fields)}
        return {"required": any(p.required for p in fields), "content": {media_type: content}}

    def _object(self, params: list[ParamInfo]) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        for param in params:
            if param.source == "file":
                properties[param.alias] = {**_file_schema(param.annotation), **_keywords(param)}
            else:
                properties[param.alias] = self.registry.schema(param.annotation, extra=_keywords(param))
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        required = [p.alias for p in params if p.required]
        if required:
            schema["required"] = required
        return schema

    # --- responses ----------------------------------------------------------------

    def _responses(self, record: RouteRecord, plan: Plan | None) -> dict[str, Any]:
        status = (plan.status_code if plan else None) or record.status_code or 200
        model = (plan.response_model if plan else None) or record.response_model
        responses: dict[str, Any] = {str(status): self._success(record, status, model)}
        for code, extra in record.responses.items():
            responses[str(code)] = {**responses.get(str(code), {}), **self._extra_response(code, extra)}
        if record.body is not None or (plan is not None and plan.params):
            self.uses_validation = True
            responses.setdefault("422", {
                "description": "The request's parameters or body failed validation",
                "content": {_PROBLEM: {"schema": _ref("ValidationProblem")}},
            })
        if record.guards or self.app_guards:
            responses.setdefault("403", {
                "description": "A guard refused the request",
                "content": {_PROBLEM: {"schema": _ref("Problem")}},
            })
        responses["default"] = {
            "description": "An error, as RFC 9457 problem details",
            "content": {_PROBLEM: {"schema": _ref("Problem")}},
        }
        return responses

    def _success(self, record: RouteRecord, status: int, model: Any) -> dict[str, Any]:
        response: dict[str, Any] = {"description": _phrase(status)}
        if status in _NO_BODY:
            return response
        from cello.responses import Response

        returned = model if model is not None else _returned_type(record)
        if returned is Response:
            return response  # the handler chooses the media type
        if returned is str:
            response["content"] = {"text/plain": {"schema": {"type": "string"}}}
        elif returned is bytes:
            response["content"] = {"application/octet-stream": {"schema": {}}}
        else:
            schema = {} if returned is None else self.registry.schema(returned, "serialization")
            response["content"] = {"application/json": {"schema": schema}}
        return response

    def _extra_response(self, code: int | str, extra: Any) -> dict[str, Any]:
        if not isinstance(extra, dict):
            return {"description": str(extra)}
        response = {k: v for k, v in extra.items() if k != "model"}
        response.setdefault("description", _phrase(code))
        if extra.get("model") is not None and "content" not in response:
            schema = self.registry.schema(extra["model"], "serialization")
            response["content"] = {"application/json": {"schema": schema}}
        elif "content" not in response and str(code)[:1] in ("4", "5"):
            # What HTTPException answers.
            response["content"] = {_PROBLEM: {"schema": _ref("Problem")}}
        return response


def _file_schema(annotation: Any) -> dict[str, Any]:
    binary = {"type": "string", "format": "binary", "contentMediaType": "application/octet-stream"}
    if typing.get_origin(annotation) in (list, tuple, set):
        return {"type": "array", "items": binary}
    return binary
