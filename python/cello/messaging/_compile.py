"""Subscriber handlers compiled like HTTP handlers: the message argument is decoded and
validated from its type hint, and ``Depends`` and ``Header`` parameters resolve through
the same plan (`cello._params.compile_route`), with the message in the request's place.

The message parameter is the first one without a ``Depends``/``Header`` marker: typed
``bytes`` it gets the body, ``str`` the body as text, `Message` (or no annotation) the
`Message` itself, and any other type (a Pydantic model, a dataclass, a msgspec struct,
``dict``, ``list[int]``) the body decoded from JSON and validated.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from cello._convert import BadMany, body_decoder
from cello._params import _hints
from cello.exceptions import RequestValidationError
from cello.messaging.message import Message
from cello.params import Depends, FieldInfo

__all__ = ["Incoming", "compile_subscriber", "stand_in"]


class _Fields:
    """Message headers as the query/header parameter extractors read them."""

    def __init__(self, headers: dict[str, Any]) -> None:
        self._headers = {name.lower(): value for name, value in headers.items()}

    def get(self, name: str, default: Any = None) -> Any:
        value = self._headers.get(name.lower(), default)
        return value if isinstance(value, str) or value is default else str(value)

    def getlist(self, name: str) -> list[str]:
        value = self.get(name)
        return [] if value is None else [value]


class Incoming:
    """What a compiled subscriber handler reads, in the place of the request."""

    def __init__(self, message: Message) -> None:
        self.message = message
        self.headers = _Fields(message.headers)
        self.query = self.headers
        self.params: dict[str, str] = {}
        self.cookies: dict[str, str] = {}

    def body(self) -> bytes:
        return self.message.value


@dataclass
class _Record:
    handler: Callable[..., Any]
    path: str = ""
    body: Any = None
    response_model: Any = None
    status_code: int | None = None
    dependencies: list[Any] = field(default_factory=list)


def _decoder(annotation: Any, owner: str) -> Callable[[Incoming], Any]:
    if annotation is bytes:
        return lambda request: request.message.value
    if annotation is str:

        def text(request: Any) -> str:
            body: bytes = request.message.value
            try:
                return body.decode()
            except UnicodeDecodeError as exc:
                raise RequestValidationError([{"type": "string_unicode", "loc": ["body"], "msg": str(exc)}]) from None

        return text
    from_bytes, _ = body_decoder(annotation, owner)

    def decode(request: Any) -> Any:
        try:
            return from_bytes(request.message.value)
        except BadMany as exc:
            raise RequestValidationError([{**error, "loc": ["body", *error.get("loc", [])]}
                                          for error in exc.errors]) from None
        except Exception as exc:  # noqa: BLE001 - a bad body is the publisher's mistake
            raise RequestValidationError([{"type": "value_error", "loc": ["body"], "msg": str(exc)}]) from None

    return decode


def _the_message(request: Any) -> Message:
    message: Message = request.message
    return message


def _rewritten(fn: Callable[..., Any], owner: str) -> Callable[..., Any]:
    """`fn` with its message parameter turned into a dependency on the message."""
    signature = inspect.signature(fn)
    hints = _hints(fn)
    parameters = []
    annotations: dict[str, Any] = {}
    found = False
    for param in signature.parameters.values():
        annotation = hints.get(param.name, param.annotation)
        marked = isinstance(param.default, (Depends, FieldInfo)) or typing.get_origin(annotation) is Annotated
        if not found and not marked and param.kind not in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            found = True
            if annotation is param.empty or annotation is Message or annotation is Any:
                dependency: Callable[[Incoming], Any] = _the_message
            else:
                dependency = _decoder(annotation, owner)
            annotation = Annotated[Any, Depends(dependency)]
            param = param.replace(annotation=annotation, default=param.empty)
        elif annotation is Message:
            annotation = Annotated[Any, Depends(_the_message)]
            param = param.replace(annotation=annotation)
        if annotation is not param.empty:
            annotations[param.name] = annotation
        parameters.append(param)

    if inspect.iscoroutinefunction(fn):

        async def call_async(**kwargs: Any) -> Any:
            return await fn(**kwargs)

        wrapper: Callable[..., Any] = call_async
    else:

        def call(**kwargs: Any) -> Any:
            return fn(**kwargs)

        wrapper = call
    return stand_in(fn, wrapper, signature.replace(parameters=parameters), annotations)


def stand_in(
    fn: Callable[..., Any],
    wrapper: Callable[..., Any],
    signature: inspect.Signature | None = None,
    annotations: dict[str, Any] | None = None,
) -> Callable[..., Any]:
    """`wrapper` presented as `fn` to the parameter compiler: its name, its signature and
    its annotations already evaluated (in `fn`'s module, where they were written), but
    no ``__wrapped__``, so that its own sync/async mode is the one that counts."""
    functools.update_wrapper(wrapper, fn)
    del wrapper.__wrapped__  # type: ignore[attr-defined]
    wrapper.__signature__ = signature or inspect.signature(fn)  # type: ignore[attr-defined]
    wrapper.__annotations__ = annotations if annotations is not None else _hints(fn)
    return wrapper


def compile_subscriber(fn: Callable[..., Any], app: Any, owner: str) -> Callable[[Incoming], Any]:
    """The function a subscriber calls with each `Incoming` (its result may be awaitable)."""
    from cello._params import compile_route

    compiled = compile_route(_Record(_rewritten(fn, owner)), owner)
    if compiled is None:  # a handler without parameters
        return lambda request: fn()
    return compiled.bind(app)
