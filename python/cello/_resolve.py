"""Running a compiled route per request (see `cello._params` for the rules)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cello import _cello
from cello._convert import (
    Bad,
    BadMany,
    body_decoder,
    sequence_item,
    string_converter,
    unwrap_optional,
)
from cello._params import DEP, REQUEST, SINGLETON, VALUE, Compiled, Node, _Compiler
from cello._plan import ParamInfo, Plan
from cello.exceptions import RequestValidationError
from cello.responses import Response

__all__ = ["build_extractors", "make_runner"]

_MISSING: Any = object()
_BODY_ERROR: Any = object()
Extractor = Callable[[Any, list[dict[str, Any]]], Any]


# --- sources: what each parameter is read from -------------------------------------------


def _path(request: Any, errors: list[dict[str, Any]]) -> Any:
    return request.params


def _query(request: Any, errors: list[dict[str, Any]]) -> Any:
    return request.query


def _headers(request: Any, errors: list[dict[str, Any]]) -> Any:
    return request.headers


def _cookies(request: Any, errors: list[dict[str, Any]]) -> Any:
    return request.cookies


def _body(request: Any, errors: list[dict[str, Any]]) -> Any:
    return request.body()


def _body_object(request: Any, errors: list[dict[str, Any]]) -> Any:
    data = request.body()
    if not data:
        return None
    try:
        value = _cello.json_loads(data)
    except Exception as exc:  # noqa: BLE001 - any failure here is the client's bad input
        errors.append({"type": "json_invalid", "loc": ["body"], "msg": f"Invalid JSON: {exc}"})
        return _BODY_ERROR
    if not isinstance(value, dict):
        errors.append({"type": "model_attributes_type", "loc": ["body"],
                       "msg": "Input should be a valid dictionary or object to extract fields from",
                       "input": value})
        return _BODY_ERROR
    return value


def _form(request: Any, errors: list[dict[str, Any]]) -> Any:
    return request.form()  # awaited by the async runner


_GETTERS: dict[str, Callable[[Any, list[dict[str, Any]]], Any]] = {
    "path": _path,
    "query": _query,
    "header": _headers,
    "cookie": _cookies,
    "body": _body,
    "body-object": _body_object,
    "form": _form,
}


def _missing(info: ParamInfo) -> Any:
    field = info.field
    if field is not None and field.default_factory is not None:
        return field.default_factory()
    return info.default


def _failed(errors: list[dict[str, Any]], loc: list[Any], raw: Any, exc: Exception) -> None:
    if isinstance(exc, Bad):
        entry: dict[str, Any] = {"type": exc.kind, "loc": loc, "msg": exc.msg, "input": raw}
        if exc.ctx:
            entry["ctx"] = exc.ctx
        errors.append(entry)
    elif isinstance(exc, BadMany):
        for item in exc.errors:
            errors.append({**item, "loc": [*loc, *item["loc"]]})
    else:
        # A custom validator raising anything at all is the client's bad input, not a 500.
        errors.append({"type": "value_error", "loc": loc, "msg": f"Value error, {exc}", "input": raw})


def _string_extractor(info: ParamInfo, owner: str) -> Extractor:
    inner, _ = unwrap_optional(info.annotation)
    constraints = info.field.constraints if info.field is not None else {}
    loc = [info.source, info.alias]
    alias, required = info.alias, info.required
    sequence = sequence_item(inner) if info.source in ("query", "header", "form") else None
    if sequence is not None:
        item_type, container = sequence
        length = {k: v for k, v in constraints.items() if k in ("minLength", "maxLength")}
        convert_item = string_converter(item_type, {k: v for k, v in constraints.items() if k not in length}, owner)
        check_length = string_converter(Any, length, owner) if length else None

        def extract_many(source: Any, errors: list[dict[str, Any]]) -> Any:
            raw = source.getlist(alias)
            if not raw:
                if required:
                    errors.append({"type": "missing", "loc": loc, "msg": "Field required", "input": None})
                    return None
                return _missing(info)
            values = []
            for index, item in enumerate(raw):
                try:
                    values.append(convert_item(item))
                except Exception as exc:  # noqa: BLE001 - any failure here is the client's bad input
                    _failed(errors, [*loc, index], item, exc)
            result = values if container is list else container(values)
            if check_length is not None:
                try:
                    check_length(result)
                except Exception as exc:  # noqa: BLE001 - any failure here is the client's bad input
                    _failed(errors, loc, raw, exc)
            return result

        return extract_many
    convert = string_converter(inner, constraints, owner)

    def extract(source: Any, errors: list[dict[str, Any]]) -> Any:
        raw = source.get(alias, _MISSING)
        if raw is _MISSING or raw is None:
            if required:
                errors.append({"type": "missing", "loc": loc, "msg": "Field required", "input": None})
                return None
            return _missing(info)
        try:
            return convert(raw)
        except Exception as exc:  # noqa: BLE001 - any failure here is the client's bad input
            _failed(errors, loc, raw, exc)
            return None

    return extract


def _file_extractor(info: ParamInfo) -> Extractor:
    from cello.forms import UploadFile

    inner, _ = unwrap_optional(info.annotation)
    many = sequence_item(inner) is not None
    loc = [info.source, info.alias]

    def extract(form: Any, errors: list[dict[str, Any]]) -> Any:
        found = form.getlist(info.alias)
        files = [f for f in found if isinstance(f, UploadFile)]
        if len(files) != len(found):
            errors.append({"type": "value_error", "loc": loc, "msg": "Expected an uploaded file, got a text field",
                           "input": None})
            return None
        if not files:
            if info.required:
                errors.append({"type": "missing", "loc": loc, "msg": "Field required", "input": None})
                return None
            return _missing(info)
        return files if many else files[-1]

    return extract


def _body_extractor(info: ParamInfo, owner: str, embedded: bool) -> Extractor:
    inner, _ = unwrap_optional(info.annotation)
    from_bytes, from_python = body_decoder(inner, owner)
    loc = ["body", info.alias] if embedded else ["body"]

    if embedded:

        def extract_key(data: Any, errors: list[dict[str, Any]]) -> Any:
            if data is _BODY_ERROR:
                return None
            raw = _MISSING if data is None else data.get(info.alias, _MISSING)
            if raw is _MISSING:
                if info.required:
                    errors.append({"type": "missing", "loc": loc, "msg": "Field required", "input": None})
                    return None
                return _missing(info)
            try:
                return from_python(raw)
            except Exception as exc:  # noqa: BLE001 - any failure here is the client's bad input
                _failed(errors, loc, raw, exc)
                return None

        return extract_key

    def extract(data: bytes, errors: list[dict[str, Any]]) -> Any:
        if not data:
            if info.required:
                errors.append({"type": "missing", "loc": loc, "msg": "Field required", "input": None})
                return None
            return _missing(info)
        try:
            return from_bytes(data)
        except Exception as exc:  # noqa: BLE001 - any failure here is the client's bad input
            _failed(errors, loc, None, exc)
            return None

    return extract


def build_extractors(plan: Plan, owner: str) -> tuple[list[str], list[Any]]:
    """The sources a route reads (each fetched once per request) and, per plan
    parameter, ``(source index, extractor)``."""
    sources: list[str] = []
    steps: list[Any] = []
    for info in plan.params:
        source = info.source
        if source == "file":
            source = "form"
        elif source == "body" and plan.embed_body:
            source = "body-object"
        if source not in sources:
            sources.append(source)
        if info.source == "file":
            extractor = _file_extractor(info)
        elif info.source == "body":
            extractor = _body_extractor(info, owner, plan.embed_body)
        else:
            extractor = _string_extractor(info, owner)
        steps.append((sources.index(source), extractor))
    return sources, steps


# --- the runner ------------------------------------------------------------------------------


def _is_response(result: Any) -> bool:
    return isinstance(result, Response)


class _Runner:
    """The per-request work of one compiled route."""

    def __init__(self, compiled: Compiled, app: Any) -> None:
        self.compiled = compiled
        self.app = app
        self.getters = [_GETTERS[s] for s in compiled.sources]
        self.form_index = compiled.sources.index("form") if "form" in compiled.sources else -1
        self.steps = compiled.extractors
        self.handler = compiled.handler_node
        self.serializer = compiled.serializer
        self.status = compiled.status_code
        self.index = {(p.source, p.alias): i for i, p in enumerate(compiled.plan.params)}
        self.override_nodes: dict[Any, Node] = {}
        self.reads = [i for i, p in enumerate(compiled.plan.params)
                      if p.source == "file" and unwrap_optional(p.annotation)[0] is bytes]

    # values ---------------------------------------------------------------------------

    def values(self, request: Any, containers: list[Any], errors: list[dict[str, Any]]) -> list[Any]:
        values = [extract(containers[source], errors) for source, extract in self.steps]
        if errors:
            raise RequestValidationError(errors)
        return values

    def extract_sync(self, request: Any) -> list[Any]:
        errors: list[dict[str, Any]] = []
        containers = [get(request, errors) for get in self.getters]
        return self.values(request, containers, errors)

    async def extract_async(self, request: Any) -> list[Any]:
        errors: list[dict[str, Any]] = []
        containers = [get(request, errors) for get in self.getters]
        if self.form_index >= 0:
            containers[self.form_index] = await containers[self.form_index]
        values = self.values(request, containers, errors)
        for i in self.reads:
            values[i] = await values[i].read()
        return values

    # dependencies ---------------------------------------------------------------------

    def effective(self, node: Node, overrides: dict[Any, Any]) -> Node:
        replacement = overrides.get(node.fn)
        if replacement is None:
            return node
        return self.override_node(replacement, node.use_cache)

    def override_node(self, fn: Callable[..., Any], use_cache: bool) -> Node:
        cached = self.override_nodes.get(fn)
        if cached is not None:
            return cached
        compiler = _Compiler("", None, repr(fn))
        compiler.path_params = {p.alias for p in self.compiled.plan.params if p.source == "path"}
        node = compiler.node(fn, handler=False, use_cache=use_cache)
        self._remap(node, compiler.params)
        self.override_nodes[fn] = node
        return node

    def _remap(self, node: Node, params: list[ParamInfo]) -> None:
        """Points an override's value parameters at the route's extracted values."""
        for position, (name, kind, ref) in enumerate(node.args):
            if kind == VALUE:
                info = params[ref]
                index = self.index.get((info.source, info.alias))
                if index is None:
                    raise TypeError(
                        f"dependency override {node.owner} reads {info.source} parameter "
                        f"{info.alias!r}, which the route it replaces does not declare"
                    )
                node.args[position] = (name, VALUE, index)
            elif kind == DEP:
                self._remap(ref, params)

    def singleton(self, name: str) -> Any:
        singletons = self.app._singletons
        if name not in singletons:
            raise LookupError(f"Depends({name!r}): no singleton of that name; call "
                              f"app.register_singleton({name!r}, value) first")
        return singletons[name]

    def background(self, request: Any, cache: dict[Any, Any]) -> Any:
        from cello.background import BackgroundTasks

        tasks = cache.get(BackgroundTasks)
        if tasks is None:
            tasks = cache[BackgroundTasks] = BackgroundTasks()
            request._add_background(tasks)
        return tasks

    def dependency_of(self, kind: int, ref: Any, overrides: dict[Any, Any]) -> Node | None:
        """The node to call for an argument: a dependency (or its override), or a
        singleton's override; ``None`` for a value that needs no call."""
        if kind == DEP:
            return self.effective(ref, overrides) if overrides else ref
        if kind == SINGLETON and overrides:
            replacement = overrides.get(ref)
            if replacement is not None:
                return self.override_node(replacement, True)
        return None

    def plain(self, kind: int, ref: Any, request: Any, values: list[Any], cache: dict[Any, Any]) -> Any:
        """An argument that needs no call: a value, the request, a singleton, the tasks."""
        if kind == VALUE:
            return values[ref]
        if kind == REQUEST:
            return request
        if kind == SINGLETON:
            return self.singleton(ref)
        return self.background(request, cache)

    def solve_sync(self, node: Node, request: Any, values: list[Any], cache: dict[Any, Any],
                   exits: list[Any]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        overrides = self.app.dependency_overrides
        for name, kind, ref in node.args:
            dep = self.dependency_of(kind, ref, overrides)
            if dep is None:
                value = self.plain(kind, ref, request, values, cache)
            elif dep.use_cache and dep.fn in cache:
                value = cache[dep.fn]
            else:
                sub = self.solve_sync(dep, request, values, cache, exits)
                if dep.mode == "gen":
                    generator = dep.fn(**sub)
                    value = next(generator)
                    exits.append(generator)
                elif dep.mode == "sync":
                    value = dep.fn(**sub)
                else:
                    raise TypeError(f"{dep.owner} is async, but the route it serves runs "
                                    "synchronously; make the handler async")
                if dep.use_cache:
                    cache[dep.fn] = value
            if name is not None:
                kwargs[name] = value
        return kwargs

    async def solve_async(self, node: Node, request: Any, values: list[Any], cache: dict[Any, Any],
                          exits: list[Any]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        overrides = self.app.dependency_overrides
        for name, kind, ref in node.args:
            dep = self.dependency_of(kind, ref, overrides)
            if dep is None:
                value = self.plain(kind, ref, request, values, cache)
            elif dep.use_cache and dep.fn in cache:
                value = cache[dep.fn]
            else:
                sub = await self.solve_async(dep, request, values, cache, exits)
                mode = dep.mode
                if mode == "sync":
                    value = dep.fn(**sub)
                elif mode == "async":
                    value = await dep.fn(**sub)
                elif mode == "gen":
                    generator = dep.fn(**sub)
                    value = next(generator)
                    exits.append(generator)
                else:
                    agen = dep.fn(**sub)
                    value = await agen.__anext__()
                    exits.append(agen)
                if dep.use_cache:
                    cache[dep.fn] = value
            if name is not None:
                kwargs[name] = value
        return kwargs

    # results --------------------------------------------------------------------------

    def finish(self, result: Any) -> Any:
        if self.serializer is None and self.status is None:
            return result
        if _is_response(result):
            return result
        status = self.status or 200
        if self.serializer is not None:
            return Response(self.serializer(result), status, content_type="application/json")
        if result is None and (status == 204 or status == 304 or status < 200):
            return Response(None, status)
        return Response.json(result, status)


def _close_sync(exits: list[Any], error: BaseException | None) -> None:
    """Runs the code after each generator dependency's ``yield``, last first."""
    while exits:
        generator = exits.pop()
        try:
            if error is None:
                next(generator)
            else:
                generator.throw(error)
        except StopIteration:
            continue
        except BaseException as exc:
            if exc is error:
                continue
            error = exc
            _close_remaining_sync(exits, exc)
            raise
        raise RuntimeError(f"the dependency {generator.__qualname__} yielded more than once")
    if error is not None:
        raise error


def _close_remaining_sync(exits: list[Any], error: BaseException) -> None:
    while exits:
        generator = exits.pop()
        try:
            generator.throw(error)
        except BaseException:  # noqa: BLE001, S112 - the first failure is the one reported
            continue


async def _close_async(exits: list[Any], error: BaseException | None) -> None:
    while exits:
        generator = exits.pop()
        is_async = hasattr(generator, "__anext__")
        try:
            if error is None:
                await generator.__anext__() if is_async else next(generator)
            elif is_async:
                await generator.athrow(error)
            else:
                generator.throw(error)
        except (StopIteration, StopAsyncIteration):
            continue
        except BaseException as exc:  # noqa: BLE001
            if exc is error:
                continue
            error = exc
            continue
        raise RuntimeError(f"the dependency {generator.__qualname__} yielded more than once")
    if error is not None:
        raise error


def make_runner(compiled: Compiled, app: Any) -> Callable[[Any], Any]:
    """The function the engine calls with the request (a coroutine function when
    the route has anything async)."""
    runner = _Runner(compiled, app)
    fn = compiled.handler_node.fn
    finish = runner.finish
    if all(kind in (VALUE, REQUEST) for _, kind, _ in compiled.handler_node.args):
        return _direct_runner(runner, compiled)

    if compiled.is_async:
        handler_async = compiled.handler_node.mode == "async"

        async def run_async(request: Any) -> Any:
            values = await runner.extract_async(request)
            cache: dict[Any, Any] = {}
            exits: list[Any] = []
            try:
                kwargs = await runner.solve_async(runner.handler, request, values, cache, exits)
                result = fn(**kwargs)
                if handler_async:
                    result = await result
            except BaseException as exc:
                if exits:
                    await _close_async(exits, exc)
                raise
            if exits:
                await _close_async(exits, None)
            return finish(result)

        return run_async

    def run(request: Any) -> Any:
        values = runner.extract_sync(request)
        cache: dict[Any, Any] = {}
        exits: list[Any] = []
        try:
            result = fn(**runner.solve_sync(runner.handler, request, values, cache, exits))
        except BaseException as exc:
            if exits:
                _close_sync(exits, exc)
            raise
        if exits:
            _close_sync(exits, None)
        return finish(result)

    return run


def _direct_runner(runner: _Runner, compiled: Compiled) -> Callable[[Any], Any]:
    """The common case, a handler with typed parameters and no dependencies: values go
    straight into the keyword arguments, with no cache, cleanup stack or overrides."""
    node = compiled.handler_node
    fn = node.fn
    by_index: dict[int, str] = {ref: name for name, kind, ref in node.args if kind == VALUE and name}
    steps = [(by_index.get(i), source, extract) for i, (source, extract) in enumerate(runner.steps)]
    request_names = [name for name, kind, _ in node.args if kind == REQUEST and name]
    getters = runner.getters
    plain = runner.serializer is None and runner.status is None
    finish = runner.finish

    def arguments(request: Any, containers: list[Any], errors: list[dict[str, Any]]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        for name, source, extract in steps:
            value = extract(containers[source], errors)
            if name is not None:
                kwargs[name] = value
        if errors:
            raise RequestValidationError(errors)
        for name in request_names:
            kwargs[name] = request
        return kwargs

    if compiled.is_async:
        form_index, reads = runner.form_index, runner.reads
        reads_by_name = [by_index[i] for i in reads if i in by_index]
        handler_async = node.mode == "async"

        async def run_direct_async(request: Any) -> Any:
            errors: list[dict[str, Any]] = []
            containers = [get(request, errors) for get in getters]
            if form_index >= 0:
                containers[form_index] = await containers[form_index]
            kwargs = arguments(request, containers, errors)
            for name in reads_by_name:
                kwargs[name] = await kwargs[name].read()
            result = fn(**kwargs)
            if handler_async:
                result = await result
            return result if plain else finish(result)

        return run_direct_async

    def run_direct(request: Any) -> Any:
        errors: list[dict[str, Any]] = []
        containers = [get(request, errors) for get in getters]
        result = fn(**arguments(request, containers, errors))
        return result if plain else finish(result)

    return run_direct
