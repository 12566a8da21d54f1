"""What a handler's signature asks for, computed once at registration.

`cello._params` builds a `Plan` per route from the handler's signature (and its
dependencies'); the dispatcher wrapper executes it and the OpenAPI generator reads it.
A route whose handler takes only the request (or nothing) has no plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cello.params import FieldInfo

__all__ = ["ParamInfo", "Plan"]


@dataclass(frozen=True)
class ParamInfo:
    """One value the request supplies.

    Attributes:
        name: the Python parameter's name.
        alias: the name on the wire (query key, header name, cookie, form field, JSON key).
        source: ``"path"``, ``"query"``, ``"header"``, ``"cookie"``, ``"body"``,
            ``"form"`` or ``"file"``.
        annotation: the declared type with any ``Annotated`` metadata removed
            (``int``, ``list[str]``, ``str | None``, a Pydantic model...).
        required: whether the request must supply it.
        default: the default when not required (``None`` when required).
        field: the marker (`cello.Query` ...) carrying description, examples and
            constraints, or ``None`` when the parameter had none.
    """

    name: str
    alias: str
    source: str
    annotation: Any
    required: bool
    default: Any = None
    field: FieldInfo | None = None


@dataclass(frozen=True)
class Plan:
    """Every request-supplied value of one route (the handler's and its dependencies',
    each ``(source, alias)`` once), and how its result is serialised.

    Attributes:
        params: in declaration order, dependencies' parameters first.
        embed_body: the ``"body"`` params are keys of one JSON object (several body
            parameters, or ``Body(embed=True)``); otherwise the single body param is
            the whole body.
        response_model: the type the result is validated and serialised through, or
            ``None``.
        status_code: the success status (``None``: 200).
        uses_request: the handler or a dependency takes the request object itself.
    """

    params: tuple[ParamInfo, ...] = ()
    embed_body: bool = False
    response_model: Any = None
    status_code: int | None = None
    uses_request: bool = False
    dependencies: tuple[Any, ...] = field(default=())

    def by_source(self, source: str) -> tuple[ParamInfo, ...]:
        """The params read from `source`."""
        return tuple(p for p in self.params if p.source == source)
