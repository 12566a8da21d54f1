"""Parameter markers: where a handler parameter comes from, with its default, alias and
constraints, FastAPI-style.

Both spellings work::

    def search(q: str | None = Query(None, max_length=50)): ...
    def search(q: Annotated[str | None, Query(max_length=50)] = None): ...

A parameter without a marker is a path parameter when the route's pattern names it,
a body when its type is a model (Pydantic, msgspec Struct, dataclass, TypedDict), a
`cello.Request`, `cello.BackgroundTasks` or `cello.UploadFile` by its type, and a query
parameter otherwise (docs/validation.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

__all__ = ["Body", "Cookie", "Depends", "File", "Form", "Header", "Path", "Query"]

#: Marks a parameter as required (``Query(...)``), as in FastAPI.
Required: Any = ...


class FieldInfo:
    """The base of `Query`, `Path`, `Header`, `Cookie`, `Body`, `Form` and `File`."""

    source: ClassVar[str] = ""

    def __init__(
        self,
        default: Any = Required,
        *,
        default_factory: Callable[[], Any] | None = None,
        alias: str | None = None,
        title: str | None = None,
        description: str | None = None,
        gt: float | None = None,
        ge: float | None = None,
        lt: float | None = None,
        le: float | None = None,
        min_length: int | None = None,
        max_length: int | None = None,
        pattern: str | None = None,
        regex: str | None = None,
        examples: list[Any] | None = None,
        example: Any = Required,
        deprecated: bool = False,
        include_in_schema: bool = True,
    ) -> None:
        if default is not Required and default_factory is not None:
            raise TypeError("give a default or a default_factory, not both")
        self.default = default
        self.default_factory = default_factory
        self.alias = alias
        self.title = title
        self.description = description
        self.gt, self.ge, self.lt, self.le = gt, ge, lt, le
        self.min_length = min_length
        self.max_length = max_length
        self.pattern = pattern if pattern is not None else regex
        if examples is None and example is not Required:
            examples = [example]
        self.examples = examples
        self.deprecated = deprecated
        self.include_in_schema = include_in_schema

    @property
    def constraints(self) -> dict[str, Any]:
        """The constraints that were set, under their JSON Schema names
        (``minimum``, ``exclusiveMaximum``, ``minLength``, ``pattern``...)."""
        names = {
            "gt": "exclusiveMinimum",
            "ge": "minimum",
            "lt": "exclusiveMaximum",
            "le": "maximum",
            "min_length": "minLength",
            "max_length": "maxLength",
            "pattern": "pattern",
        }
        return {
            schema: getattr(self, attr)
            for attr, schema in names.items()
            if getattr(self, attr) is not None
        }

    def __repr__(self) -> str:
        default = "..." if self.default is Required else repr(self.default)
        return f"{type(self).__name__}({default})"


class Path(FieldInfo):
    """A path parameter (``/items/{item_id}``); always required."""

    source = "path"


class Query(FieldInfo):
    """A query-string parameter; a ``list[...]`` type collects repeated keys
    (``?tag=a&tag=b``)."""

    source = "query"


class Header(FieldInfo):
    """A request header; ``user_agent`` reads ``user-agent`` unless
    ``convert_underscores=False``."""

    source = "header"

    def __init__(self, default: Any = Required, *, convert_underscores: bool = True, **kwargs: Any):
        super().__init__(default, **kwargs)
        self.convert_underscores = convert_underscores


class Cookie(FieldInfo):
    """A cookie."""

    source = "cookie"


class Body(FieldInfo):
    """The JSON body, or (``embed=True``, or with several body parameters) one key
    of the JSON body object."""

    source = "body"

    def __init__(
        self,
        default: Any = Required,
        *,
        embed: bool = False,
        media_type: str = "application/json",
        **kwargs: Any,
    ) -> None:
        super().__init__(default, **kwargs)
        self.embed = embed
        self.media_type = media_type


class Form(FieldInfo):
    """A field of a urlencoded or multipart form (read with ``await request.form()``)."""

    source = "form"

    def __init__(self, default: Any = Required, *, media_type: str | None = None, **kwargs: Any):
        super().__init__(default, **kwargs)
        self.media_type = media_type


class File(Form):
    """An uploaded file of a multipart form: annotate it ``UploadFile`` (or ``bytes``
    for the content, or ``list[UploadFile]``)."""

    source = "file"


class Depends:
    """A dependency: the parameter gets what `dependency` returns (or yields).

    `dependency` is a registered singleton's name (``app.register_singleton("db",
    db)`` then ``Depends("db")``), or a callable: a function, ``async def``, generator
    or async generator (code after ``yield`` is cleanup, run after the handler even
    when it raised), or a class. It takes parameters like a handler does: the
    request, typed parameters, other dependencies. Without an argument the
    parameter's annotation is the callable. A dependency used several times in one
    request is called once unless ``use_cache=False``.

    Example:
        >>> from cello import App, Depends
        >>> app = App()
        >>> def get_db():
        ...     db = {"users": ["ada"]}
        ...     yield db
        ...     db.clear()
        >>> @app.get("/users")
        ... def users(db=Depends(get_db)):
        ...     return {"users": db["users"]}
    """

    def __init__(self, dependency: Callable[..., Any] | str | None = None, *, use_cache: bool = True):
        if dependency is not None and not isinstance(dependency, str) and not callable(dependency):
            raise TypeError(
                f"Depends() takes a callable or a registered singleton's name, got {dependency!r}"
            )
        self.dependency = dependency
        self.use_cache = use_cache

    def __repr__(self) -> str:
        target = self.dependency
        name = target if isinstance(target, str) else getattr(target, "__qualname__", repr(target))
        cache = "" if self.use_cache else ", use_cache=False"
        return f"Depends({name}{cache})"
