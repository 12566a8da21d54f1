"""JSON Schema (2020-12, as OpenAPI 3.1 uses it) for the types routes declare.

Every type the document needs is asked for first (`SchemaRegistry.schema` hands back an
empty dict that stands in for it) and generated at the end in one batch per library
(`SchemaRegistry.finish`), so that a model used by several routes is one entry of
``components.schemas``, named once, and referenced with ``$ref`` everywhere.

Pydantic (when installed) generates the schemas of models, dataclasses, enums and
plain types; msgspec those of Structs and of what Pydantic refuses (``typing.TypedDict``
on Python 3.11); a small builtin mapping covers plain types when neither is installed.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import logging
import types
import typing
import uuid
from typing import Any

__all__ = ["COMPONENT_REF", "SchemaRegistry"]

logger = logging.getLogger("cello")

#: Where ``$ref`` points: the document's components.
COMPONENT_REF = "#/components/schemas/{name}"

_Mode = typing.Literal["validation", "serialization"]


class SchemaRegistry:
    """Collects types, then fills their schemas and ``components.schemas`` at once."""

    def __init__(self) -> None:
        # (placeholder dict, type, mode) in the order asked.
        self._pending: list[tuple[dict[str, Any], Any, _Mode]] = []
        self._extras: dict[int, dict[str, Any]] = {}
        self.components: dict[str, Any] = {}

    def schema(
        self, annotation: Any, mode: _Mode = "validation", extra: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A dict that `finish` fills with the schema of `annotation`, then with the
        keywords of `extra` (a parameter's constraints, description, examples...)."""
        placeholder: dict[str, Any] = {}
        self._pending.append((placeholder, annotation, mode))
        if extra:
            self._extras[id(placeholder)] = extra
        return placeholder

    def finish(self) -> None:
        """Generates every schema asked for, in one batch per library."""
        by_pydantic: list[tuple[dict[str, Any], Any, _Mode]] = []
        by_msgspec: list[tuple[dict[str, Any], Any, _Mode]] = []
        for item in self._pending:
            _, annotation, mode = item
            if _mentions_struct(annotation) or not _pydantic_accepts(annotation, mode):
                by_msgspec.append(item)
            else:
                by_pydantic.append(item)
        pending, self._pending = self._pending, []
        self._with_pydantic(by_pydantic)
        self._with_msgspec(by_msgspec)
        for placeholder, _, _ in pending:
            placeholder.update(self._extras.pop(id(placeholder), {}))

    def _with_pydantic(self, items: list[tuple[dict[str, Any], Any, _Mode]]) -> None:
        if not items:
            return
        from pydantic import TypeAdapter

        inputs = [(index, mode, TypeAdapter(annotation)) for index, (_, annotation, mode) in enumerate(items)]
        schemas, definitions = TypeAdapter.json_schemas(
            inputs, ref_template=COMPONENT_REF.replace("{name}", "{model}")
        )
        for index, (placeholder, _, mode) in enumerate(items):
            placeholder.update(schemas[(index, mode)])
        self._add_components(definitions.get("$defs", {}))

    def _with_msgspec(self, items: list[tuple[dict[str, Any], Any, _Mode]]) -> None:
        if not items:
            return
        try:
            import msgspec
        except ImportError:
            for placeholder, annotation, _ in items:
                placeholder.update(builtin_schema(annotation, self))
            return
        known: list[tuple[dict[str, Any], Any]] = []
        for placeholder, annotation, _ in items:
            try:
                msgspec.json.schema(annotation)
            except (TypeError, ValueError):
                placeholder.update(builtin_schema(annotation, self))
            else:
                known.append((placeholder, annotation))
        if not known:
            return
        schemas, components = msgspec.json.schema_components(
            [annotation for _, annotation in known], ref_template=COMPONENT_REF
        )
        for (placeholder, _), schema in zip(known, schemas, strict=True):
            placeholder.update(schema)
        self._add_components(components)

    def _add_components(self, definitions: dict[str, Any]) -> None:
        for name, schema in definitions.items():
            existing = self.components.get(name)
            if existing is not None and existing != schema:
                # Two libraries named two different types alike; the first one keeps
                # the name (Pydantic's batch already tells its own types apart).
                logger.warning(
                    "OpenAPI: two different types are both named %s; the document "
                    "describes the first one only (rename one of them)",
                    name,
                )
                continue
            self.components[name] = schema


def _mentions_struct(annotation: Any) -> bool:
    """Whether `annotation` is or contains a msgspec Struct (Pydantic cannot read one)."""
    try:
        import msgspec
    except ImportError:
        return False
    seen: set[int] = set()

    def walk(item: Any) -> bool:
        if id(item) in seen:
            return False
        seen.add(id(item))
        if isinstance(item, type) and issubclass(item, msgspec.Struct):
            return True
        return any(walk(arg) for arg in typing.get_args(item))

    return walk(annotation)


def _pydantic_accepts(annotation: Any, mode: _Mode) -> bool:
    try:
        from pydantic import TypeAdapter
    except ImportError:
        return False
    try:
        TypeAdapter(annotation).json_schema(mode=mode)
    except Exception:  # noqa: BLE001 - any refusal means: let msgspec or the builtins try
        return False
    return True


_SIMPLE: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    bytes: {"type": "string", "format": "binary"},
    type(None): {"type": "null"},
    uuid.UUID: {"type": "string", "format": "uuid"},
    datetime.datetime: {"type": "string", "format": "date-time"},
    datetime.date: {"type": "string", "format": "date"},
    datetime.time: {"type": "string", "format": "time"},
    datetime.timedelta: {"type": "string", "format": "duration"},
    decimal.Decimal: {"type": "string", "format": "decimal"},
    dict: {"type": "object"},
    list: {"type": "array"},
}


def builtin_schema(annotation: Any, registry: SchemaRegistry) -> dict[str, Any]:
    """The schema of a plain type without Pydantic or msgspec; dataclasses, enums and
    TypedDicts become components. What it does not know is ``{}`` (any value)."""
    if annotation in _SIMPLE:
        return dict(_SIMPLE[annotation])
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [builtin_schema(arg, registry) for arg in arguments]}
    if origin is typing.Literal:
        return {"enum": list(arguments)}
    if origin in (list, set, frozenset, tuple) or origin is typing.get_origin(typing.Sequence[int]):
        items = arguments[0] if arguments else Any
        schema: dict[str, Any] = {"type": "array", "items": builtin_schema(items, registry)}
        if origin in (set, frozenset):
            schema["uniqueItems"] = True
        return schema
    if origin is dict:
        value = arguments[1] if len(arguments) == 2 else Any
        return {"type": "object", "additionalProperties": builtin_schema(value, registry)}
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return _component(annotation, registry, lambda: {"enum": [m.value for m in annotation]})
    if dataclasses.is_dataclass(annotation) and isinstance(annotation, type):
        return _component(annotation, registry, lambda: _object(annotation, registry))
    if typing.is_typeddict(annotation):
        return _component(annotation, registry, lambda: _object(annotation, registry))
    return {}


def _component(annotation: type, registry: SchemaRegistry, build: Any) -> dict[str, Any]:
    name = annotation.__name__
    if name not in registry.components:
        registry.components[name] = {}  # a recursive type refers to itself
        registry.components[name] = {"title": name, **build()}
    return {"$ref": COMPONENT_REF.format(name=name)}


def _object(annotation: type, registry: SchemaRegistry) -> dict[str, Any]:
    hints = typing.get_type_hints(annotation)
    if dataclasses.is_dataclass(annotation):
        fields = dataclasses.fields(annotation)
        required = [
            f.name for f in fields
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ]
        names = [f.name for f in fields]
    else:
        names = list(hints)
        required = sorted(getattr(annotation, "__required_keys__", names))
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {name: builtin_schema(hints.get(name, Any), registry) for name in names},
    }
    if required:
        schema["required"] = required
    return schema
