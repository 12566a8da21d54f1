"""Compiles Python types and resolvers into the schema description the native engine builds.

Runs once, when the schema is built; nothing here runs per request except the resolver
wrappers (`_Resolver.__call__`), which map GraphQL arguments to Python parameters.
"""

from __future__ import annotations

import asyncio
import builtins
import collections.abc
import dataclasses
import enum
import inspect
import json
import types as _types
import typing
from collections.abc import Callable
from typing import Any

from cello.graphql.types import ID, FieldDefinition, Info, UnionType, definition_of

__all__ = ["Compiler", "RequestContext", "SubscriptionSource", "camel_case", "type_of"]

_SCALARS: dict[Any, str] = {str: "String", int: "Int", float: "Float", bool: "Boolean", ID: "ID"}
_LISTS = (list, tuple, set, frozenset, collections.abc.Sequence, collections.abc.Iterable, collections.abc.Set)
# A subscription resolver's return annotation: the field's type is the item type.
_STREAMS = (collections.abc.AsyncIterator, collections.abc.AsyncGenerator, collections.abc.AsyncIterable)


def camel_case(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


@dataclasses.dataclass
class RequestContext:
    """What the engine passes to every resolver of one request."""

    request: Any
    context: Any
    connection_params: Any = None


def type_of(value: Any) -> str:
    """The object type name of a value returned for an interface or union field."""
    if isinstance(value, dict) and "__typename" in value:
        return str(value["__typename"])
    for klass in builtins.type(value).__mro__:
        definition = definition_of(klass)
        if definition is not None and definition.kind == "object":
            return definition.name
    raise TypeError(f"a {builtins.type(value).__name__} was returned for an interface or union: return an instance of a @cello.graphql.type class (or a dict with '__typename')")


Convert = Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


class _Resolver:
    """Calls a Python function with its arguments from GraphQL."""

    def __init__(self, func: Callable[..., Any], plan: list[tuple[str, str, Convert]], info: str | None, takes_parent: bool) -> None:
        self.func, self.plan, self.info, self.takes_parent = func, plan, info, takes_parent

    def __call__(self, parent: Any, arguments: dict[str, Any], context: RequestContext, field_name: str, path: str) -> Any:
        kwargs = {python: convert(arguments[name]) for name, python, convert in self.plan if name in arguments}
        if self.info is not None:
            kwargs[self.info] = Info(field_name, path, context.request, context.context, context.connection_params)
        if self.takes_parent:
            return self.func(parent, **kwargs)
        return self.func(**kwargs)


class SubscriptionSource:
    """A subscription resolver's async generator, stepped by the engine: one `step()`
    task per item, and `close()` when the client leaves before the generator ended."""

    __slots__ = ("iterator",)

    def __init__(self, iterator: Any) -> None:
        if not hasattr(iterator, "__anext__"):
            raise TypeError(f"a subscription resolver must be an async generator (async def with yield), it returned a {builtins.type(iterator).__name__}")
        self.iterator = iterator

    async def step(self) -> Any:
        return await self.iterator.__anext__()

    async def close(self, pending: Any) -> None:
        """Cancels the step still running (if any), then closes the generator."""
        if pending is not None and not pending.done():
            pending.cancel()
            # Its outcome (CancelledError, or whatever the generator raised on the way
            # out) is no longer anyone's: only the closing matters.
            await asyncio.gather(pending, return_exceptions=True)
        aclose = getattr(self.iterator, "aclose", None)
        if aclose is not None:
            await aclose()


class _SubscriptionResolver(_Resolver):
    """Calls an async generator function; the engine steps what it returns."""

    def __call__(self, parent: Any, arguments: dict[str, Any], context: RequestContext, field_name: str, path: str) -> Any:
        return SubscriptionSource(super().__call__(parent, arguments, context, field_name, path))


class Compiler:
    """Collects the types reachable from the root fields into a description."""

    def __init__(self) -> None:
        self.types: dict[str, dict[str, Any]] = {}
        self.resolvers: list[_Resolver] = []
        self._seen: dict[Any, str] = {}

    def description(self, query: str, mutation: str | None, introspection: bool, limits: dict[str, int | None], subscription: str | None = None) -> dict[str, Any]:
        if subscription is not None:
            for field in self.types[subscription]["fields"]:
                resolver = field.get("resolver")
                if resolver is None or not isinstance(self.resolvers[resolver], _SubscriptionResolver):
                    raise TypeError(f"subscription field {subscription}.{field['name']} needs an async generator resolver (async def with yield)")
        return {"types": list(self.types.values()), "query": query, "mutation": mutation, "subscription": subscription, "introspection": introspection, "limits": limits}

    def root(self, name: str, functions: list[tuple[str, Callable[..., Any]]]) -> None:
        """A root type whose fields are plain functions (``resolver(info, **arguments)``)."""
        fields = [self._resolver_field(field_name, func, takes_parent=False) for field_name, func in functions]
        self.types[name] = {"name": name, "kind": "object", "fields": fields}

    # --- types -------------------------------------------------------------------

    def type_ref(self, annotation: Any, *, input: bool = False) -> str:
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
        if origin is typing.Annotated:
            return self.type_ref(args[0], input=input)
        if origin in (typing.Union, _types.UnionType):
            present = [a for a in args if a is not builtins.type(None)]
            if len(present) != 1:
                raise TypeError(f"{annotation!r}: a union of several types needs cello.graphql.union(name, types)")
            return self.type_ref(present[0], input=input).removesuffix("!")
        if origin in _STREAMS:
            return self.type_ref(args[0] if args else Any, input=input)
        if origin in _LISTS or annotation in (list, tuple):
            item = args[0] if args else Any
            return f"[{self.type_ref(item, input=input)}]!"
        return self.named(annotation, input=input) + "!"

    def named(self, annotation: Any, *, input: bool = False) -> str:
        if annotation in _SCALARS:
            return _SCALARS[annotation]
        if annotation in self._seen:
            return self._seen[annotation]
        if isinstance(annotation, UnionType):
            self._seen[annotation] = annotation.name
            members = [self.named(member) for member in annotation.types]
            self.types[annotation.name] = {"name": annotation.name, "kind": "union", "members": members, "description": annotation.description}
            return annotation.name
        if isinstance(annotation, builtins.type) and issubclass(annotation, enum.Enum):
            definition = definition_of(annotation)
            name = definition.name if definition else annotation.__name__
            self._seen[annotation] = name
            self.types[name] = {"name": name, "kind": "enum", "values": [member.name for member in annotation], "description": definition.description if definition else None}
            return name
        definition = definition_of(annotation)
        if definition is None:
            if annotation in (dict, Any, object, inspect.Parameter.empty) or typing.get_origin(annotation) is dict:
                return self._json()
            raise TypeError(f"{annotation!r} is not a GraphQL type: use str, int, float, bool, ID, an Enum, list[...], Optional[...] or a @cello.graphql.type class")
        if input and definition.kind != "input":
            raise TypeError(f"{definition.name} is an output type; arguments take @cello.graphql.input classes")
        self._seen[annotation] = definition.name
        entry: dict[str, Any] = {"name": definition.name, "kind": definition.kind, "description": definition.description}
        self.types[definition.name] = entry
        entry["fields"] = self._fields(annotation, input=definition.kind == "input")
        if definition.kind == "object":
            entry["interfaces"] = [self.named(base) for base in annotation.__mro__[1:] if (d := definition_of(base)) is not None and d.kind == "interface"]
        if definition.kind == "interface":
            for subclass in annotation.__subclasses__():
                if definition_of(subclass) is not None:
                    self.named(subclass)
        return definition.name

    def _json(self) -> str:
        self.types.setdefault("JSON", {"name": "JSON", "kind": "scalar", "description": "Any JSON value."})
        return "JSON"

    def _fields(self, cls: type, *, input: bool) -> list[dict[str, Any]]:
        fields: list[dict[str, Any]] = []
        hints = typing.get_type_hints(cls)
        for python_name, annotation in hints.items():
            if python_name.startswith("_") or typing.get_origin(annotation) is typing.ClassVar:
                continue
            options = _options(cls, python_name)
            if options is not None and options.resolver is not None:
                continue
            name = (options.name if options else None) or camel_case(python_name)
            entry: dict[str, Any] = {"name": name, "type": self.type_ref(annotation, input=input), "source": python_name}
            if options is not None:
                entry.update(description=options.description, deprecation=options.deprecation_reason)
            fields.append(entry)
        for klass in reversed(cls.__mro__):
            for python_name, value in vars(klass).items():
                if isinstance(value, FieldDefinition) and value.resolver is not None and not input:
                    fields = [f for f in fields if f.get("source") != python_name]
                    fields.append(self._resolver_field(value.name or camel_case(python_name), value.resolver, takes_parent=True, options=value))
        return fields

    # --- resolvers ---------------------------------------------------------------

    def _resolver_field(self, name: str, func: Callable[..., Any], *, takes_parent: bool, options: FieldDefinition | None = None) -> dict[str, Any]:
        hints = typing.get_type_hints(func, include_extras=True)
        parameters = list(inspect.signature(func).parameters.values())
        if takes_parent and parameters:
            parameters = parameters[1:]
        plan: list[tuple[str, str, Convert]] = []
        arguments: list[dict[str, Any]] = []
        info: str | None = None
        for parameter in parameters:
            annotation = hints.get(parameter.name, Any)
            if parameter.name == "info" or annotation is Info:
                info = parameter.name
                continue
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                continue
            graphql_name = camel_case(parameter.name)
            ty = self.type_ref(annotation, input=True)
            argument: dict[str, Any] = {"name": graphql_name, "type": ty}
            if parameter.default is not parameter.empty:
                argument["type"] = ty.removesuffix("!")
                if isinstance(parameter.default, (str, int, float, bool)) and not isinstance(parameter.default, enum.Enum):
                    argument["default"] = json.dumps(parameter.default)
            arguments.append(argument)
            plan.append((graphql_name, parameter.name, self._converter(annotation)))
        index = len(self.resolvers)
        resolver_type = _SubscriptionResolver if inspect.isasyncgenfunction(func) else _Resolver
        self.resolvers.append(resolver_type(func, plan, info, takes_parent))
        returns = hints.get("return", Any)
        entry: dict[str, Any] = {"name": name, "type": self.type_ref(returns), "arguments": arguments, "resolver": index, "description": (options.description if options else None) or inspect.getdoc(func)}
        if options is not None:
            entry["deprecation"] = options.deprecation_reason
        return entry

    def _converter(self, annotation: Any) -> Convert:
        """How an argument's GraphQL value becomes the Python value the resolver expects."""
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
        if origin is typing.Annotated:
            return self._converter(args[0])
        if origin in (typing.Union, _types.UnionType):
            inner = self._converter(next(a for a in args if a is not builtins.type(None)))
            return lambda value: None if value is None else inner(value)
        if origin in _LISTS:
            item = self._converter(args[0]) if args else _identity
            return lambda value: None if value is None else [item(v) for v in value]
        if isinstance(annotation, builtins.type) and issubclass(annotation, enum.Enum):
            return lambda value: annotation[value]
        definition = definition_of(annotation)
        if definition is not None and definition.kind == "input":
            hints = typing.get_type_hints(annotation)
            converters = {camel_case(name): (name, self._converter(hint)) for name, hint in hints.items() if not name.startswith("_")}

            def build(value: dict[str, Any]) -> Any:
                return annotation(**{converters[key][0]: converters[key][1](item) for key, item in value.items() if key in converters})

            return build
        return _identity


def _options(cls: type, name: str) -> FieldDefinition | None:
    for klass in cls.__mro__:
        value = vars(klass).get(name)
        if isinstance(value, FieldDefinition):
            return value
    return None

