"""The typed layer, in the Strawberry style: classes become GraphQL types.

``@type`` on a class (or dataclass) makes an object type of its annotated attributes
and its `field`-decorated methods; ``@input``, ``@interface`` and ``@enum`` likewise;
`union` names a union of types. Optional and list types come from the annotations,
arguments from the resolvers' signatures. Names are camelCased (``first_name`` →
``firstName``) unless given.
"""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Callable
from typing import Any, NewType, TypeVar, overload

__all__ = ["ID", "GraphQLError", "Info", "TypeDefinition", "UnionType", "enum", "field", "input", "interface", "type", "union"]

#: The GraphQL ``ID`` scalar (a string on the wire).
ID = NewType("ID", str)

T = TypeVar("T")


class GraphQLError(Exception):
    """An error whose message is meant for the client: never masked in production.

    Example:
        >>> raise GraphQLError("user 7 not found")
        Traceback (most recent call last):
        ...
        cello.graphql.types.GraphQLError: user 7 not found
    """


@dataclasses.dataclass
class Info:
    """What a resolver that asks for ``info`` gets: the field, its path, the request and the
    per-request ``context`` (a dict unless `enable_graphql`'s ``context`` made another).

    ``connection_params`` is the payload of a WebSocket client's ``connection_init`` (or
    what ``on_connect`` answered for it); ``None`` over HTTP. ``info["context"]`` works
    too, as the original framework passed ``info`` as a dict.
    """

    field_name: str
    path: str
    request: Any
    context: Any
    connection_params: Any = None

    def __getitem__(self, key: str) -> Any:
        if key in _INFO_KEYS:
            return getattr(self, key)
        raise KeyError(f"info[{key!r}]: Cello's info has {', '.join(sorted(_INFO_KEYS))}")

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key) if key in _INFO_KEYS else default


_INFO_KEYS = frozenset({"field_name", "path", "request", "context", "connection_params"})


@dataclasses.dataclass
class TypeDefinition:
    kind: str
    name: str
    description: str | None


@dataclasses.dataclass
class FieldDefinition:
    """A `field`: a resolver method, or options for an attribute."""

    resolver: Callable[..., Any] | None = None
    name: str | None = None
    description: str | None = None
    deprecation_reason: str | None = None

    def __call__(self, resolver: Callable[..., Any]) -> FieldDefinition:
        self.resolver = resolver
        return self


@dataclasses.dataclass(frozen=True)
class UnionType:
    name: str
    types: tuple[builtins.type, ...]
    description: str | None = None


def _mark(kind: str, cls: builtins.type, name: str | None, description: str | None) -> builtins.type:
    if kind == "input" and not dataclasses.is_dataclass(cls):
        cls = dataclasses.dataclass(cls)
    definition = TypeDefinition(kind, name or cls.__name__, description or cls.__doc__)
    cls.__graphql__ = definition  # type: ignore[attr-defined]
    return cls


def _decorator(kind: str) -> Any:
    @overload
    def decorate(cls: builtins.type[T], /) -> builtins.type[T]: ...
    @overload
    def decorate(*, name: str | None = None, description: str | None = None) -> Callable[[builtins.type[T]], builtins.type[T]]: ...
    def decorate(cls: Any = None, /, *, name: str | None = None, description: str | None = None) -> Any:
        if cls is None:
            return lambda inner: _mark(kind, inner, name, description)
        return _mark(kind, cls, name, description)

    decorate.__name__ = kind
    decorate.__doc__ = f"Makes a class a GraphQL {kind} type (``@{kind}`` or ``@{kind}(name=..., description=...)``)."
    return decorate


type = _decorator("object")
input = _decorator("input")
interface = _decorator("interface")
enum = _decorator("enum")


def field(
    resolver: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    deprecation_reason: str | None = None,
) -> Any:
    """A field with a resolver (``@field`` on a method) or options for an attribute.

    Example:
        >>> from cello import graphql
        >>> @graphql.type
        ... class User:
        ...     first: str
        ...     @graphql.field(description="first name, shouted")
        ...     def loud(self) -> str:
        ...         return self.first.upper()
    """
    return FieldDefinition(resolver, name, description, deprecation_reason)


def union(name: str, types: tuple[builtins.type, ...] | list[builtins.type], *, description: str | None = None) -> Any:
    """A union of object types, for annotations: ``Result = union("Result", (User, Error))``."""
    return UnionType(name, tuple(types), description)


def definition_of(cls: Any) -> TypeDefinition | None:
    found = cls.__dict__.get("__graphql__") if isinstance(cls, builtins.type) else None
    return found if isinstance(found, TypeDefinition) else None
