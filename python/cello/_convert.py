"""Converters from request strings (path, query, header, cookie, form values) and
request bodies to the types handlers declare, built once per parameter.

Plain scalar types (``str``, ``int``, ``float``, ``bool``, ``UUID``, ``Enum``,
``Decimal``, dates) convert here without a library; anything else goes through
Pydantic's ``TypeAdapter`` (or msgspec when Pydantic is absent). Error entries follow
Pydantic's shape (``type``, ``loc``, ``msg``, ``input``, ``ctx``), which FastAPI
clients already parse.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import math
import re
import types
import typing
import uuid
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["Bad", "body_decoder", "is_model", "sequence_item", "string_converter", "unwrap_optional"]

Converter = Callable[[Any], Any]


class Bad(Exception):
    """One failed conversion: ``(type, msg, ctx)`` in Pydantic's vocabulary."""

    def __init__(self, kind: str, msg: str, ctx: dict[str, Any] | None = None) -> None:
        super().__init__(msg)
        self.kind = kind
        self.msg = msg
        self.ctx = ctx


class BadMany(Exception):
    """Several failures from a library validator, with locations relative to the value."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(errors)} validation errors")
        self.errors = errors


def unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    """``int | None`` → ``(int, True)``; ``int`` → ``(int, False)``."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        nullable = len(args) != len(typing.get_args(annotation))
        if len(args) == 1:
            return args[0], nullable
        return typing.Union[tuple(args)], nullable  # noqa: UP007 - rebuilt at runtime
    return annotation, annotation is None or annotation is type(None)


_SEQUENCES = (list, tuple, set, frozenset, Sequence)


def sequence_item(annotation: Any) -> tuple[Any, type] | None:
    """``list[int]`` → ``(int, list)``; not a sequence → ``None``."""
    origin = typing.get_origin(annotation)
    if annotation in (list, tuple, set, frozenset):
        return str, annotation
    if origin in _SEQUENCES:
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        container = list if origin is Sequence else origin
        return (args[0] if args else str), container
    return None


def is_model(annotation: Any) -> bool:
    """A type read from a JSON body: Pydantic model, msgspec Struct, dataclass, TypedDict."""
    if not isinstance(annotation, type):
        return False
    if dataclasses.is_dataclass(annotation) or typing.is_typeddict(annotation):
        return True
    for base in annotation.__mro__:
        module = base.__module__
        if (base.__name__ == "BaseModel" and module.startswith("pydantic")) or (
            base.__name__ == "Struct" and module.startswith("msgspec")
        ):
            return True
    return False


def _is_pydantic_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and any(
        b.__name__ == "BaseModel" and b.__module__.startswith("pydantic") for b in annotation.__mro__
    )


def _is_struct(annotation: Any) -> bool:
    return isinstance(annotation, type) and any(
        b.__name__ == "Struct" and b.__module__.startswith("msgspec") for b in annotation.__mro__
    )


# --- strings to scalars ---------------------------------------------------------------

_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "off"})


def _to_int(raw: Any) -> int:
    if type(raw) is int:
        return raw
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise Bad("int_parsing", "Input should be a valid integer, unable to parse string as an integer") from None


def _to_float(raw: Any) -> float:
    if type(raw) is float:
        return raw
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise Bad("float_parsing", "Input should be a valid number, unable to parse string as a number") from None
    if not math.isfinite(value):
        raise Bad("finite_number", "Input should be a finite number")
    return value


def _to_bool(raw: Any) -> bool:
    if type(raw) is bool:
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise Bad("bool_parsing", "Input should be a valid boolean, unable to interpret input")


def _to_uuid(raw: Any) -> uuid.UUID:
    if isinstance(raw, uuid.UUID):
        return raw
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        raise Bad("uuid_parsing", "Input should be a valid UUID, unable to parse string as a UUID") from None


def _to_decimal(raw: Any) -> decimal.Decimal:
    try:
        value = decimal.Decimal(str(raw))
    except decimal.InvalidOperation:
        raise Bad("decimal_parsing", "Input should be a valid decimal") from None
    if not value.is_finite():
        raise Bad("finite_number", "Input should be a finite number")
    return value


def _enum_converter(annotation: type[enum.Enum]) -> Converter:
    members = {str(m.value): m for m in annotation}
    expected = " or ".join(repr(v) for v in members)

    def convert(raw: Any) -> enum.Enum:
        if isinstance(raw, annotation):
            return raw
        member = members.get(str(raw))
        if member is None:
            raise Bad("enum", f"Input should be {expected}", {"expected": expected})
        return member

    return convert


def _literal_converter(values: tuple[Any, ...]) -> Converter:
    by_text = {str(v).lower() if isinstance(v, bool) else str(v): v for v in values}
    expected = " or ".join(repr(v) for v in values)

    def convert(raw: Any) -> Any:
        key = str(raw).lower() if str(raw).lower() in ("true", "false") else str(raw)
        if key in by_text:
            return by_text[key]
        raise Bad("literal_error", f"Input should be {expected}", {"expected": expected})

    return convert


def _iso(kind: type, name: str) -> Converter:
    parse = kind.fromisoformat  # type: ignore[attr-defined]

    def convert(raw: Any) -> Any:
        if isinstance(raw, kind):
            return raw
        try:
            return parse(str(raw))
        except ValueError:
            raise Bad(f"{name}_parsing", f"Input should be a valid {name}") from None

    return convert


_SCALARS: dict[Any, Converter] = {
    int: _to_int,
    float: _to_float,
    bool: _to_bool,
    uuid.UUID: _to_uuid,
    decimal.Decimal: _to_decimal,
    datetime.datetime: _iso(datetime.datetime, "datetime"),
    datetime.date: _iso(datetime.date, "date"),
    datetime.time: _iso(datetime.time, "time"),
}


def _identity(raw: Any) -> Any:
    return raw


def _to_str(raw: Any) -> str:
    return raw if type(raw) is str else str(raw)


def _with_constraints(convert: Converter, constraints: dict[str, Any]) -> Converter:
    """Adds FastAPI's numeric and string constraints after `convert`."""
    if not constraints:
        return convert
    gt, ge = constraints.get("exclusiveMinimum"), constraints.get("minimum")
    lt, le = constraints.get("exclusiveMaximum"), constraints.get("maximum")
    min_len, max_len = constraints.get("minLength"), constraints.get("maxLength")
    pattern = constraints.get("pattern")
    regex = re.compile(pattern) if pattern is not None else None

    def checked(raw: Any) -> Any:
        value = convert(raw)
        if gt is not None and not value > gt:
            raise Bad("greater_than", f"Input should be greater than {gt}", {"gt": gt})
        if ge is not None and not value >= ge:
            raise Bad("greater_than_equal", f"Input should be greater than or equal to {ge}", {"ge": ge})
        if lt is not None and not value < lt:
            raise Bad("less_than", f"Input should be less than {lt}", {"lt": lt})
        if le is not None and not value <= le:
            raise Bad("less_than_equal", f"Input should be less than or equal to {le}", {"le": le})
        if min_len is not None and len(value) < min_len:
            unit = "character" if isinstance(value, str) else "item"
            raise Bad("string_too_short" if unit == "character" else "too_short",
                      f"{'String' if unit == 'character' else 'List'} should have at least {min_len} {unit}{'s' if min_len != 1 else ''}",
                      {"min_length": min_len})
        if max_len is not None and len(value) > max_len:
            unit = "character" if isinstance(value, str) else "item"
            raise Bad("string_too_long" if unit == "character" else "too_long",
                      f"{'String' if unit == 'character' else 'List'} should have at most {max_len} {unit}{'s' if max_len != 1 else ''}",
                      {"max_length": max_len})
        if regex is not None and not regex.search(value):
            raise Bad("string_pattern_mismatch", f"String should match pattern '{pattern}'",
                      {"pattern": pattern})
        return value

    return checked


def string_converter(annotation: Any, constraints: dict[str, Any], owner: str) -> Converter:
    """A converter from one request string to `annotation` (Optional already removed)."""
    if annotation is Any or annotation is str or annotation is typing.Any:
        base: Converter = _to_str if annotation is str else _identity
    elif annotation in _SCALARS:
        base = _SCALARS[annotation]
    elif isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        base = _enum_converter(annotation)
    elif typing.get_origin(annotation) is typing.Literal:
        base = _literal_converter(typing.get_args(annotation))
    elif annotation is bytes:
        base = lambda raw: raw if isinstance(raw, bytes) else str(raw).encode()
    else:
        base = _library_converter(annotation, owner, strings=True)
    return _with_constraints(base, constraints)


# --- library validators -----------------------------------------------------------------


def _pydantic_errors(exc: Any) -> list[dict[str, Any]]:
    errors = []
    for entry in exc.errors(include_url=False):
        item = {"type": entry["type"], "loc": list(entry["loc"]), "msg": entry["msg"]}
        if "input" in entry:
            item["input"] = _jsonable(entry["input"])
        if entry.get("ctx"):
            item["ctx"] = {k: _jsonable(v) for k, v in entry["ctx"].items()}
        errors.append(item)
    return errors


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


_MSGSPEC_AT = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_PATH_PART = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


def _msgspec_errors(exc: Exception, decoding: bool) -> list[dict[str, Any]]:
    text = str(exc)
    match = _MSGSPEC_AT.match(text)
    msg = match.group("msg") if match else text
    loc: list[Any] = []
    for name, index in _PATH_PART.findall((match.group("path") if match else "") or ""):
        loc.append(int(index) if index else name)
    kind = "json_invalid" if decoding else "value_error"
    missing = re.match(r"Object missing required field `([^`]+)`", msg)
    if missing:
        loc.append(missing.group(1))
        kind, msg = "missing", "Field required"
    elif msg.startswith("Expected"):
        kind = "type_error"
    return [{"type": kind, "loc": loc, "msg": msg}]


def _library_converter(annotation: Any, owner: str, *, strings: bool) -> Converter:
    """Pydantic's TypeAdapter (lax: "5" becomes 5), or msgspec.convert."""
    try:
        import pydantic
    except ImportError:
        pydantic = None  # type: ignore[assignment]
    adapter = None
    if pydantic is not None and not _is_struct(annotation):
        try:
            adapter = pydantic.TypeAdapter(annotation)
        except pydantic.PydanticUserError:
            adapter = None
    if adapter is not None:
        validate = adapter.validate_python
        error_type = pydantic.ValidationError

        def convert(raw: Any) -> Any:
            try:
                return validate(raw)
            except error_type as exc:
                raise BadMany(_pydantic_errors(exc)) from None

        return convert
    try:
        import msgspec
    except ImportError:
        raise TypeError(
            f"{owner}: a parameter of type {annotation!r} needs Pydantic or msgspec to validate "
            "it: pip install 'cello[validation]'"
        ) from None

    def convert_msgspec(raw: Any) -> Any:
        try:
            return msgspec.convert(raw, annotation, strict=not strings)
        except msgspec.ValidationError as exc:
            raise BadMany(_msgspec_errors(exc, decoding=False)) from None

    return convert_msgspec


def body_decoder(annotation: Any, owner: str) -> tuple[Converter, Converter]:
    """``(from_bytes, from_python)`` for a body type: JSON bytes straight into the type
    (pydantic-core's and msgspec's own decoders, no intermediate dict), and a
    converter for a value already parsed (an embedded body key)."""
    if _is_struct(annotation):
        return _msgspec_body(annotation, owner)
    try:
        import pydantic
    except ImportError:
        pydantic = None  # type: ignore[assignment]
    if pydantic is not None:
        if _is_pydantic_model(annotation):
            # The model's compiled validator itself: model_validate_json is a Python
            # wrapper around exactly this call.
            try:
                validator = annotation.__pydantic_validator__
                validate_json, validate_python = validator.validate_json, validator.validate_python
            except pydantic.PydanticUserError:  # not fully defined yet: resolve per call
                validate_json = annotation.model_validate_json
                validate_python = annotation.model_validate
        else:
            try:
                adapter = pydantic.TypeAdapter(annotation)
            except pydantic.PydanticUserError:
                # typing.TypedDict before Python 3.12, for one: msgspec takes it.
                return _msgspec_body(annotation, owner)
            validate_json, validate_python = adapter.validate_json, adapter.validate_python
        error_type = pydantic.ValidationError

        def from_json(data: bytes) -> Any:
            try:
                return validate_json(data)
            except error_type as exc:
                raise BadMany(_pydantic_errors(exc)) from None

        def from_python(value: Any) -> Any:
            try:
                return validate_python(value)
            except error_type as exc:
                raise BadMany(_pydantic_errors(exc)) from None

        return from_json, from_python
    return _msgspec_body(annotation, owner)


def _msgspec_body(annotation: Any, owner: str) -> tuple[Converter, Converter]:
    try:
        import msgspec
    except ImportError:
        raise TypeError(
            f"{owner}: a body of type {annotation!r} needs Pydantic or msgspec: "
            "pip install 'cello[validation]'"
        ) from None
    decoder = msgspec.json.Decoder(annotation)

    def from_bytes_msgspec(data: bytes) -> Any:
        try:
            return decoder.decode(data)
        except msgspec.ValidationError as exc:
            raise BadMany(_msgspec_errors(exc, decoding=False)) from None
        except msgspec.DecodeError as exc:
            raise BadMany([{"type": "json_invalid", "loc": [], "msg": f"Invalid JSON: {exc}"}]) from None

    def from_python_msgspec(value: Any) -> Any:
        try:
            return msgspec.convert(value, annotation)
        except msgspec.ValidationError as exc:
            raise BadMany(_msgspec_errors(exc, decoding=False)) from None

    return from_bytes_msgspec, from_python_msgspec


def response_serializer(annotation: Any, owner: str) -> Callable[[Any], bytes]:
    """Validates a handler's result through `annotation` (dropping extra fields) and
    encodes it to JSON bytes."""
    if _is_struct(annotation):
        import msgspec

        encoder = msgspec.json.Encoder()

        def encode_struct(result: Any) -> bytes:
            if not isinstance(result, annotation):
                result = msgspec.convert(_builtins(result), annotation, from_attributes=True)
            return encoder.encode(result)

        return encode_struct
    try:
        import pydantic
    except ImportError:
        raise TypeError(
            f"{owner}: response_model={annotation!r} needs Pydantic (or a msgspec Struct): "
            "pip install 'cello[validation]'"
        ) from None
    adapter = pydantic.TypeAdapter(annotation)
    validate, dump = adapter.validate_python, adapter.dump_json

    def encode(result: Any) -> bytes:
        return dump(validate(_builtins(result), from_attributes=True))

    return encode


def _builtins(result: Any) -> Any:
    """A model instance as a dict, so validating it into the response model keeps only
    that model's fields (a subclass's extras are dropped, as FastAPI does)."""
    dump = getattr(result, "model_dump", None)
    if dump is not None and callable(dump):
        return dump()
    if isinstance(result, list):
        return [_builtins(r) for r in result]
    return result
