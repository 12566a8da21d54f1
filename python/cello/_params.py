"""Dependency injection and typed parameters: a route's signature compiled once.

`compile_route` reads the handler's signature (and, recursively, its dependencies')
at registration and returns a `Compiled`: the `Plan` (what OpenAPI reads) and the
code that runs it per request. Nothing here calls ``inspect`` per request, and a
handler that takes only the request (or nothing) is not compiled at all: it keeps
the engine's direct call.

Per request: every request-supplied value of the whole dependency tree is extracted
and validated first (all failures are reported together as one 422), then the
dependencies run in declaration order, each once per request unless
``use_cache=False``, then the handler. Code after a dependency's ``yield`` runs after
the handler returns, before the response is sent (and so before background tasks);
when the handler or a later dependency raises, the exception is thrown into the
generator at its ``yield`` so ``try/except/finally`` there sees it.
"""

from __future__ import annotations

import functools
import inspect
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cello._convert import is_model, response_serializer, sequence_item, unwrap_optional
from cello._plan import ParamInfo, Plan
from cello.params import Depends, FieldInfo, Required

__all__ = ["Compiled", "compile_route", "path_names"]

SKIP, REQUEST, VALUE, DEP, SINGLETON, BACKGROUND = range(-1, 5)
_MISSING: Any = object()
_PATH_PARAM = re.compile(r"\{\*?([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?\}")


def path_names(path: str) -> set[str]:
    """The parameter names of a route pattern (``/u/{id:int}/{*rest}`` → id, rest)."""
    return set(_PATH_PARAM.findall(path))


@dataclass(eq=False)
class Node:
    """A callable (the handler or a dependency) and how to fill its parameters."""

    fn: Callable[..., Any]
    owner: str
    mode: str  # "sync", "async", "gen", "asyncgen"
    #: ``(keyword or None, kind, ref)``; a ``None`` keyword is run for its effect only.
    args: list[tuple[str | None, int, Any]]
    use_cache: bool = True


def _mode(fn: Callable[..., Any]) -> str:
    target = inspect.unwrap(fn)
    if inspect.isasyncgenfunction(target):
        return "asyncgen"
    if inspect.isgeneratorfunction(target):
        return "gen"
    if inspect.iscoroutinefunction(target):
        return "async"
    if not inspect.isroutine(target) and not isinstance(target, type) and callable(target):
        return _mode(type(target).__call__)
    return "sync"


def _request_type() -> type:
    from cello._cello import Request

    return Request


def _background_type() -> type:
    from cello.background import BackgroundTasks

    return BackgroundTasks


def _upload_type() -> type:
    from cello.forms import UploadFile

    return UploadFile


def _hints(fn: Callable[..., Any]) -> dict[str, Any]:
    """The parameters' annotations, evaluated (``from __future__ import annotations``
    makes them strings). One that cannot be evaluated stays a string; `argument`
    decides whether that matters."""
    if isinstance(fn, type):
        target: Any = fn.__init__  # type: ignore[misc]
    elif not inspect.isroutine(fn) and callable(fn) and not isinstance(fn, functools.partial):
        target = type(fn).__call__  # a callable object: its __call__'s annotations
    else:
        target = fn
    try:
        return typing.get_type_hints(target, include_extras=True)
    except Exception:  # noqa: BLE001, S110 - fall back to one annotation at a time
        pass
    unwrapped = inspect.unwrap(target)
    namespace = dict(getattr(unwrapped, "__globals__", {}))
    code = getattr(unwrapped, "__code__", None)
    closure = getattr(unwrapped, "__closure__", None) or ()
    if code is not None:
        for name, cell in zip(code.co_freevars, closure, strict=False):
            try:
                namespace[name] = cell.cell_contents
            except ValueError:
                continue
    hints: dict[str, Any] = {}
    for name, annotation in getattr(unwrapped, "__annotations__", {}).items():
        if isinstance(annotation, str):
            try:
                annotation = eval(annotation, namespace)  # the handler's own annotation
            except Exception:  # noqa: BLE001, S112 - left a string: `argument` reports it if it matters
                continue
        hints[name] = annotation
    return hints


def _describe(fn: Callable[..., Any]) -> str:
    from cello._routing import describe

    return describe(fn)


class _Compiler:
    """Walks one route's handler and dependencies."""

    def __init__(self, path: str, body_type: Any, owner: str) -> None:
        self.path_params = path_names(path)
        self.body_type = body_type
        self.owner = owner
        self.params: list[ParamInfo] = []
        self.keys: dict[tuple[str, str], int] = {}
        self.uses_request = False
        self.is_async = False
        self.has_deps = False
        self.visiting: list[Callable[..., Any]] = []
        self.nodes: dict[Any, Node] = {}

    def by_source_has(self, source: str) -> bool:
        return any(p.source == source for p in self.params)

    def add(self, info: ParamInfo) -> int:
        key = (info.source, info.alias)
        index = self.keys.get(key)
        if index is not None:
            seen = self.params[index]
            if seen.annotation != info.annotation and info.source != "path":
                raise TypeError(
                    f"{self.owner}: {info.source} parameter {info.alias!r} is declared twice "
                    f"with different types ({seen.annotation!r} and {info.annotation!r})"
                )
            return index
        self.keys[key] = len(self.params)
        self.params.append(info)
        return len(self.params) - 1

    def node(self, fn: Callable[..., Any], *, handler: bool, use_cache: bool = True) -> Node:
        if not handler and fn in self.nodes and use_cache:
            return self.nodes[fn]
        if fn in self.visiting:
            chain = " -> ".join(_describe(f) for f in [*self.visiting, fn])
            raise TypeError(f"dependency cycle: {chain}")
        self.visiting.append(fn)
        try:
            node = Node(fn, _describe(fn), _mode(fn), [], use_cache)
            if node.mode != "sync" and node.mode != "gen":
                self.is_async = True
            try:
                signature = inspect.signature(fn)
            except (TypeError, ValueError):
                signature = None
            if signature is not None:
                hints = _hints(fn)
                for position, param in enumerate(signature.parameters.values()):
                    arg = self.argument(node, param, hints, position, handler)
                    if arg[1] != SKIP:
                        node.args.append(arg)
        finally:
            self.visiting.pop()
        if not handler:
            self.nodes.setdefault(fn, node)
        return node

    def dependency(self, marker: Depends, annotation: Any, name: str | None) -> tuple[str | None, int, Any]:
        self.has_deps = True
        target = marker.dependency
        if target is None:
            if annotation is inspect.Parameter.empty or not callable(annotation):
                raise TypeError(f"{self.owner}: Depends() on {name!r} needs a callable or an annotation")
            target = annotation
        if isinstance(target, str):
            return (name, SINGLETON, target)
        return (name, DEP, self.node(target, handler=False, use_cache=marker.use_cache))

    def argument(
        self, node: Node, param: inspect.Parameter, hints: dict[str, Any], position: int, handler: bool
    ) -> tuple[str | None, int, Any]:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            return (None, SKIP, None)
        if param.kind is param.POSITIONAL_ONLY:
            raise TypeError(
                f"{node.owner}: parameter {param.name!r} is positional-only; Cello passes "
                "parameters by name"
            )
        annotation = hints.get(param.name, param.annotation)
        marker: Any = None
        if isinstance(annotation, str):
            if isinstance(param.default, (FieldInfo, Depends)) and not annotation.startswith("Annotated"):
                annotation = param.empty  # the marker says it all; the type is only a hint
            else:
                raise TypeError(
                    f"{node.owner}: cannot resolve the annotation {annotation!r} of parameter "
                    f"{param.name!r}; define the type at module level (with `from __future__ "
                    "import annotations` annotations are evaluated in the module's namespace)"
                )
        if typing.get_origin(annotation) is typing.Annotated:
            extra = typing.get_args(annotation)
            annotation = extra[0]
            for item in extra[1:]:
                if isinstance(item, (FieldInfo, Depends)):
                    marker = item
        default = param.default
        if isinstance(default, (FieldInfo, Depends)):
            marker, default = default, param.empty
        if isinstance(marker, Depends):
            return self.dependency(marker, annotation, param.name)
        if marker is None and self.is_request(param, annotation, position, handler):
            self.uses_request = True
            return (param.name, REQUEST, None)
        if marker is None and annotation is _background_type():
            return (param.name, BACKGROUND, None)
        return (param.name, VALUE, self.add(self.value(param, annotation, marker, default)))

    def is_request(self, param: inspect.Parameter, annotation: Any, position: int, handler: bool) -> bool:
        if isinstance(annotation, type) and issubclass(annotation, _request_type()):
            return True
        if param.default is not param.empty:
            return False
        if param.name in ("request", "req") and annotation in (param.empty, Any, object):
            return True
        if annotation is not param.empty:
            return False
        # A handler's first unannotated parameter is the request, as before typed
        # parameters existed (``def handler(r)``), unless the path names it.
        return handler and position == 0 and param.name not in self.path_params

    def value(self, param: inspect.Parameter, annotation: Any, marker: FieldInfo | None, default: Any) -> ParamInfo:
        if annotation is param.empty:
            annotation = Any
        if marker is not None:
            source = marker.source
            alias = marker.alias or param.name
            if source == "header" and marker.alias is None and getattr(marker, "convert_underscores", True):
                alias = param.name.replace("_", "-")
            if marker.default is not Required:
                default = marker.default
            elif marker.default_factory is not None:
                default = marker.default_factory
        elif param.name in self.path_params:
            source, alias = "path", param.name
        elif _is_upload(annotation):
            source, alias = "file", param.name
        elif is_model(unwrap_optional(annotation)[0]) or (
            self.body_type is not None and annotation is self.body_type
        ):
            source, alias = "body", param.name
        elif self.body_type is not None and param.name == "body" and annotation is Any:
            source, alias, annotation = "body", "body", self.body_type
        else:
            source, alias = "query", param.name
        if source == "path" and param.name not in self.path_params and alias not in self.path_params:
            raise TypeError(f"{self.owner}: Path() parameter {alias!r} is not in the route's path")
        required = default is param.empty or source == "path"
        return ParamInfo(
            name=param.name,
            alias=alias,
            source=source,
            annotation=annotation,
            required=required,
            default=None if default is param.empty else default,
            field=marker,
        )


def _is_upload(annotation: Any) -> bool:
    inner = unwrap_optional(annotation)[0]
    sequence = sequence_item(inner)
    if sequence is not None:
        inner = sequence[0]
    return isinstance(inner, type) and issubclass(inner, _upload_type())


@dataclass(eq=False)
class Compiled:
    """A compiled route: its `Plan` and the function the engine calls with the request."""

    plan: Plan
    handler_node: Node
    is_async: bool
    extractors: list[Any]
    sources: list[str]
    serializer: Callable[[Any], bytes] | None
    status_code: int | None

    def bind(self, app: Any) -> Callable[[Any], Any]:
        """The request handler, reading singletons and overrides from `app`."""
        from cello._resolve import make_runner

        return make_runner(self, app)


def compile_route(record: Any, owner: str) -> Compiled | None:
    """The compiled form of `record`'s handler, or ``None`` when it takes only the
    request (or nothing) and has no ``body=``, ``response_model=``, ``status_code=``
    or ``dependencies=`` options."""
    compiler = _Compiler(record.path, record.body, owner)
    node = compiler.node(record.handler, handler=True)
    for marker in record.dependencies:
        if not isinstance(marker, Depends):
            raise TypeError(f"{owner}: dependencies= takes Depends(...) markers, got {marker!r}")
        node.args.append(compiler.dependency(marker, inspect.Parameter.empty, None))
    if record.body is not None and not compiler.by_source_has("body"):
        compiler.add(ParamInfo("body", "body", "body", record.body, True))
    plain = (
        not compiler.params
        and not compiler.has_deps
        and all(kind == REQUEST for _, kind, _ in node.args)
        and len(node.args) <= 1
        and record.response_model is None
        and record.status_code is None
    )
    if plain:
        return None
    body_params = [p for p in compiler.params if p.source == "body"]
    embed = len(body_params) > 1 or any(getattr(p.field, "embed", False) for p in body_params)
    if any(p.source in ("form", "file") for p in compiler.params):
        if body_params:
            raise TypeError(f"{owner}: a route reads either a JSON body or form fields, not both")
        compiler.is_async = True
    plan = Plan(
        params=tuple(compiler.params),
        embed_body=embed,
        response_model=record.response_model,
        status_code=record.status_code,
        uses_request=compiler.uses_request,
        dependencies=tuple(compiler.nodes),
    )
    from cello._resolve import build_extractors

    sources, extractors = build_extractors(plan, owner)
    serializer = response_serializer(record.response_model, owner) if record.response_model is not None else None
    return Compiled(plan, node, compiler.is_async or node.mode != "sync", extractors, sources,
                    serializer, record.status_code)
