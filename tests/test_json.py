"""JSON in Rust: `cello.json_dumps`, `cello.json_loads`, handler return values and
`request.json()`, checked against the standard library's `json` module."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import json
import math
import subprocess
import sys
import textwrap
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, ClassVar

import cello
import httpx
import msgspec
import pydantic
import pytest
from cello import App, InvalidJSON
from cello.testing import LiveServer, TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

# --- strict comparison --------------------------------------------------------------


def assert_same(actual: Any, expected: Any, where: str = "value") -> None:
    """Equality that `==` does not give: types must match exactly (True is not 1,
    1.0 is not 1), floats bit for bit (-0.0 is not 0.0), dict keys in the same order."""
    assert type(actual) is type(expected), f"{where}: {actual!r} is not {expected!r}"
    if isinstance(expected, float):
        assert actual.hex() == expected.hex(), f"{where}: {actual!r} != {expected!r}"
    elif isinstance(expected, dict):
        assert list(actual) == list(expected), f"{where}: keys {list(actual)} != {list(expected)}"
        for key in expected:
            assert_same(actual[key], expected[key], f"{where}[{key!r}]")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), f"{where}: {actual!r} != {expected!r}"
        for index, (left, right) in enumerate(zip(actual, expected)):
            assert_same(left, right, f"{where}[{index}]")
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


# --- strategies -----------------------------------------------------------------------

#: Characters JSON has to escape, plus the ones encoders commonly get wrong.
AWKWARD = '"\\/\x00\x01\x08\x09\x0a\x0b\x0c\x0d\x1f\x7f\x80\xa0\u2028\u2029\ufeff\uffff'

texts = st.text(
    st.one_of(
        st.sampled_from(AWKWARD),
        st.characters(codec="utf-8"),  # every code point except surrogates
        st.characters(min_codepoint=0x10000, codec="utf-8"),  # non-BMP: emoji and friends
    )
)
integers = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**256), max_value=2**256),
    st.sampled_from([0, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64 - 1, 2**64, -(10**40)]),
)
floats = st.floats(allow_nan=False, allow_infinity=False)
scalars = st.one_of(st.none(), st.booleans(), integers, floats, texts)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=6),
        st.dictionaries(texts, children, max_size=6),
    ),
    max_leaves=40,
)

PROPERTY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- round trips ----------------------------------------------------------------------


@PROPERTY
@given(json_values)
@example({"big": [2**64, -(2**200), 10**100]})
@example(['\x00"\\\u2028', "\U0001f600", "\U0010ffff", -0.0, 5e-324, 1.7976931348623157e308])
def test_cello_dumps_is_read_back_exactly_by_json_loads(value: Any) -> None:
    assert_same(json.loads(cello.json_dumps(value)), value)


@PROPERTY
@given(json_values)
@example([2**63, 2**64, -(2**63) - 1, 123456789012345678901234567890])
@example(["\U0001f600"])  # json.dumps writes the surrogate pair \ud83d\ude00
def test_cello_loads_reads_json_dumps_exactly(value: Any) -> None:
    assert_same(cello.json_loads(json.dumps(value)), value)
    assert_same(cello.json_loads(json.dumps(value, ensure_ascii=False).encode("utf-8")), value)


@PROPERTY
@given(json_values)
def test_cello_round_trip(value: Any) -> None:
    assert_same(cello.json_loads(cello.json_dumps(value)), value)
    assert_same(cello.json_loads(cello.json_dumps(value).decode("utf-8")), value)


@PROPERTY
@given(floats)
def test_floats_round_trip_bit_for_bit(number: float) -> None:
    encoded = cello.json_dumps(number)
    assert json.loads(encoded).hex() == number.hex()
    assert cello.json_loads(encoded).hex() == number.hex()
    assert cello.json_loads(repr(number)).hex() == number.hex()


def test_control_characters_are_escaped_and_text_stays_utf8() -> None:
    encoded = cello.json_dumps('a"b\\c\n\r\t\b\f\x00\x1f é😀')
    assert encoded == b'"a\\"b\\\\c\\n\\r\\t\\b\\f\\u0000\\u001f \xc3\xa9\xf0\x9f\x98\x80"'
    # No raw control byte survives (they would make the document invalid).
    assert not any(byte < 0x20 for byte in encoded)


# --- lone surrogates ------------------------------------------------------------------


@pytest.mark.parametrize("value", ["\ud800", "a\udfffb", ["ok", "\udc00"], {"\ud83d": 1}])
def test_lone_surrogates_cannot_be_encoded_and_say_so(value: Any) -> None:
    with pytest.raises(UnicodeEncodeError, match="surrogates not allowed"):
        cello.json_dumps(value)


@pytest.mark.parametrize(
    "document", ['"\\ud800"', '"a\\ud800b"', '"\\udbff"', '"\\udc00"', '{"\\ud800": 1}']
)
def test_escaped_lone_surrogates_decode_like_json_or_fail_clearly(document: str) -> None:
    # JSON's grammar allows an escaped lone surrogate. Acceptable answers are what
    # `json.loads` gives, or a ValueError; silently changing the text is not.
    try:
        decoded = cello.json_loads(document)
    except ValueError:
        return
    assert decoded == json.loads(document)


# --- dict keys ------------------------------------------------------------------------


def test_dict_key_order_is_preserved_both_ways() -> None:
    keys = ["zeta", "alpha", "mid", "0", "Ä", "_"]
    value = {key: index for index, key in enumerate(keys)}
    assert list(json.loads(cello.json_dumps(value))) == keys
    assert (
        cello.json_dumps(value)
        == json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    )
    assert list(cello.json_loads(json.dumps(value))) == keys
    assert list(cello.json_loads(b'{"b": {"y": 1, "x": 2}, "a": 0}')) == ["b", "a"]
    assert list(cello.json_loads(b'{"b": {"y": 1, "x": 2}, "a": 0}')["b"]) == ["y", "x"]


class IntKey(int, enum.Enum):
    ONE = 1


class StrKey(str, enum.Enum):
    NAME = "name"


@pytest.mark.parametrize(
    "value",
    [
        {1: "int", -7: "negative", 2**70: "big"},
        {1.5: "float", 1e20: "exponent", -0.0: "negative zero", 0.1: "tenth"},
        {True: "yes", False: "no"},
        {None: "null"},
        {"s": 1, 2: 2, None: 3, False: 4, 2.5: 5},
        {StrKey.NAME: "str enum"},
        {IntKey.ONE: "int enum"},
    ],
    ids=["int", "float", "bool", "none", "mixed", "str-enum", "int-enum"],
)
def test_non_str_keys_are_written_like_json_dumps(value: dict[Any, Any]) -> None:
    assert json.loads(cello.json_dumps(value)) == json.loads(json.dumps(value))
    assert list(json.loads(cello.json_dumps(value))) == list(json.loads(json.dumps(value)))


@pytest.mark.parametrize("key", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_float_keys_match_json_dumps_or_are_refused(key: float) -> None:
    # json.dumps writes "NaN"/"Infinity"/"-Infinity"; refusing (as for values) is
    # also acceptable. Python's str() spelling ("nan", "inf") is neither.
    try:
        encoded = cello.json_dumps({key: 1})
    except ValueError:
        return
    assert json.loads(encoded) == json.loads(json.dumps({key: 1}))


@pytest.mark.parametrize("key", [(1, 2), b"bytes", frozenset(), object(), uuid.UUID(int=1)])
def test_other_keys_raise_type_error(key: Any) -> None:
    with pytest.raises(TypeError, match="keys must be str"):
        cello.json_dumps({key: 1})
    with pytest.raises(TypeError):
        json.dumps({key: 1})


# --- types beyond the JSON builtins -----------------------------------------------------


class Color(str, enum.Enum):
    RED = "red"


class Priority(enum.IntEnum):
    HIGH = 1


class Shape(enum.Enum):
    SQUARE = {"sides": 4}  # noqa: RUF012 - an Enum member, not a mutable default


@dataclasses.dataclass
class Point:
    x: int
    y: float
    registry: ClassVar[list[str]] = ["never", "encoded"]


@dataclasses.dataclass
class Polygon:
    name: str
    points: list[Point]
    anchor: Point
    color: Color
    created: datetime.date
    tags: tuple[str, ...] = ()
    kind: ClassVar[str] = "polygon"


class Address(pydantic.BaseModel):
    street: str
    code: decimal.Decimal


class Customer(pydantic.BaseModel):
    id: uuid.UUID
    name: str
    joined: datetime.datetime
    address: Address
    color: Color
    scores: list[float]
    nickname: str | None = None


class Item(msgspec.Struct):
    name: str
    price: float
    when: datetime.date


class Basket(msgspec.Struct):
    items: list[Item]
    owner: str


class MyDict(dict):  # type: ignore[type-arg]
    pass


class MyList(list):  # type: ignore[type-arg]
    pass


class MyStr(str):
    pass


class MyInt(int):
    pass


class MyFloat(float):
    pass


UTC = datetime.UTC
PLUS_0530 = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
CUSTOMER = Customer(
    id=uuid.UUID("12345678-1234-5678-1234-567812345678"),
    name="Ada",
    joined=datetime.datetime(2024, 2, 29, 12, 30, tzinfo=UTC),
    address=Address(street="1 Main St", code=decimal.Decimal("12.50")),
    color=Color.RED,
    scores=[1.5, -0.25],
)
BASKET = Basket(items=[Item("pen", 1.25, datetime.date(2024, 1, 2))], owner="ada")
POLYGON = Polygon(
    name="tri",
    points=[Point(0, 0.5), Point(1, 2.0)],
    anchor=Point(-1, 1e-9),
    color=Color.RED,
    created=datetime.date(2024, 5, 6),
    tags=("a", "b"),
)

#: (id, value, the JSON text the encoder must write)
RICH_VALUES: list[tuple[str, Any, bytes]] = [
    (
        "naive-datetime",
        datetime.datetime(2024, 1, 2, 3, 4, 5, 600),
        b'"2024-01-02T03:04:05.000600"',
    ),
    (
        "utc-datetime",
        datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        b'"2024-01-02T03:04:05+00:00"',
    ),
    (
        "offset-datetime",
        datetime.datetime(2024, 1, 2, tzinfo=PLUS_0530),
        b'"2024-01-02T00:00:00+05:30"',
    ),
    ("date", datetime.date(1999, 12, 31), b'"1999-12-31"'),
    ("time", datetime.time(23, 59, 1), b'"23:59:01"'),
    ("aware-time", datetime.time(1, 2, 3, 4, tzinfo=UTC), b'"01:02:03.000004+00:00"'),
    (
        "uuid",
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
        b'"12345678-1234-5678-1234-567812345678"',
    ),
    ("decimal", decimal.Decimal("1.10"), b"1.10"),
    ("decimal-exponent", decimal.Decimal("1E+3"), b"1E+3"),
    ("decimal-small", decimal.Decimal("-0.000001"), b"-0.000001"),
    (
        "decimal-long",
        decimal.Decimal("123456789012345678901234567890.123456789012345678901234567890"),
        b"123456789012345678901234567890.123456789012345678901234567890",
    ),
    ("str-enum", Color.RED, b'"red"'),
    ("int-enum", Priority.HIGH, b"1"),
    ("dict-enum", Shape.SQUARE, b'{"sides":4}'),
    ("tuple", (1, "two", None, (3.5,)), b'[1,"two",null,[3.5]]'),
    ("dict-subclass", MyDict(b=1, a=2), b'{"b":1,"a":2}'),
    ("ordered-dict", OrderedDict([("z", 1), ("y", 2)]), b'{"z":1,"y":2}'),
    ("list-subclass", MyList([1, MyList([2])]), b"[1,[2]]"),
    ("str-subclass", [MyStr('te"xt')], b'["te\\"xt"]'),
    ("int-subclass", [MyInt(7), MyInt(2**70)], b"[7,1180591620717411303424]"),
    ("float-subclass", [MyFloat(2.5)], b"[2.5]"),
    (
        "big-int",
        [2**100, -(2**100)],
        b"[1267650600228229401496703205376,-1267650600228229401496703205376]",
    ),
    (
        "dataclass",
        POLYGON,
        (
            b'{"name":"tri","points":[{"x":0,"y":0.5},{"x":1,"y":2.0}],"anchor":{"x":-1,"y":1e-9},'
            b'"color":"red","created":"2024-05-06","tags":["a","b"]}'
        ),
    ),
]


@pytest.mark.parametrize(
    ("value", "expected"), [v[1:] for v in RICH_VALUES], ids=[v[0] for v in RICH_VALUES]
)
def test_rich_values_encode_to_the_expected_text(value: Any, expected: bytes) -> None:
    assert cello.json_dumps(value) == expected


def test_decimals_keep_their_exact_digits() -> None:
    @PROPERTY
    @given(st.decimals(allow_nan=False, allow_infinity=False))
    def check(number: decimal.Decimal) -> None:
        encoded = cello.json_dumps(number)
        assert encoded == str(number).encode()
        parsed = json.loads(encoded, parse_float=decimal.Decimal, parse_int=decimal.Decimal)
        assert parsed == number

    check()


@pytest.mark.parametrize("text", ["NaN", "sNaN", "Infinity", "-Infinity"])
def test_non_finite_decimals_raise_value_error(text: str) -> None:
    with pytest.raises(ValueError, match=f"cannot encode Decimal {text}"):
        cello.json_dumps({"amount": decimal.Decimal(text)})


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_non_finite_floats_raise_value_error_with_a_clear_message(number: float) -> None:
    with pytest.raises(ValueError, match="NaN and infinity have no JSON form"):
        cello.json_dumps(number)
    with pytest.raises(ValueError, match="NaN and infinity have no JSON form"):
        cello.json_dumps({"nested": [1, number]})


def test_dataclass_fields_and_classvars() -> None:
    decoded = json.loads(cello.json_dumps(POLYGON))
    assert decoded == json.loads(json.dumps(dataclasses.asdict(POLYGON), default=str))
    assert "kind" not in decoded and "registry" not in decoded["anchor"]


def test_dataclass_initvar_is_skipped() -> None:
    @dataclasses.dataclass
    class Account:
        owner: str
        secret: dataclasses.InitVar[str]
        balance: int = dataclasses.field(init=False, default=0)

        def __post_init__(self, secret: str) -> None:
            self.balance = len(secret)

    assert json.loads(cello.json_dumps(Account("ada", "xyz"))) == {"owner": "ada", "balance": 3}


def test_a_dataclass_class_is_not_an_instance() -> None:
    with pytest.raises(TypeError, match="Object of type type is not JSON serializable"):
        cello.json_dumps(Point)


def test_pydantic_models_encode_like_model_dump_json_mode() -> None:
    assert json.loads(cello.json_dumps(CUSTOMER)) == CUSTOMER.model_dump(mode="json")
    assert json.loads(cello.json_dumps({"customers": [CUSTOMER, CUSTOMER.address]})) == {
        "customers": [CUSTOMER.model_dump(mode="json"), CUSTOMER.address.model_dump(mode="json")]
    }
    assert list(json.loads(cello.json_dumps(CUSTOMER))) == list(Customer.model_fields)


def test_msgspec_structs_encode_like_to_builtins() -> None:
    assert json.loads(cello.json_dumps(BASKET)) == msgspec.to_builtins(BASKET)
    assert json.loads(cello.json_dumps([BASKET, {"item": BASKET.items[0]}])) == [
        msgspec.to_builtins(BASKET),
        {"item": msgspec.to_builtins(BASKET.items[0])},
    ]


class Widget:
    pass


@pytest.mark.parametrize(
    ("value", "type_name"),
    [
        (Widget(), "Widget"),
        ({1, 2}, "set"),
        (b"raw", "bytes"),
        ({"deep": [complex(1, 2)]}, "complex"),
    ],
)
def test_unsupported_objects_raise_type_error_naming_the_type(value: Any, type_name: str) -> None:
    with pytest.raises(TypeError, match=f"Object of type {type_name} is not JSON serializable"):
        cello.json_dumps(value)


def test_self_referencing_containers_raise_value_error_not_a_crash() -> None:
    looping_list: list[Any] = [1]
    looping_list.append(looping_list)
    looping_dict: dict[str, Any] = {}
    looping_dict["self"] = looping_dict
    mutual: list[Any] = []
    mutual.append({"back": mutual})
    for value in (looping_list, looping_dict, mutual):
        with pytest.raises(ValueError, match="nesting deeper than"):
            cello.json_dumps(value)


def test_deep_but_finite_nesting_still_encodes() -> None:
    value: Any = "leaf"
    for _ in range(200):
        value = [value]
    assert json.loads(cello.json_dumps(value)) == value


def _run_isolated(code: str) -> subprocess.CompletedProcess[str]:
    """Runs `code` in a fresh interpreter, so a native crash fails one test instead of
    killing the whole test run."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        check=False,
        capture_output=True,
        text=True,
        timeout=50,
    )


def test_deeply_nested_input_does_not_crash_the_decoder() -> None:
    # Untrusted input (request bodies) reaches this decoder: hostile nesting must be
    # parsed or refused with an exception, never overflow the native stack.
    result = _run_isolated(
        """
        import cello
        for depth in (1_000, 100_000, 1_000_000):
            try:
                cello.json_loads(b"[" * depth + b"]" * depth)
                print(depth, "parsed")
            except Exception as error:
                print(depth, "refused", type(error).__name__)
        """
    )
    assert result.returncode == 0, (
        f"the interpreter died (exit {result.returncode}) after: {result.stdout!r} {result.stderr[-500:]!r}"
    )
    assert result.stdout.count("\n") == 3


def test_deeply_nested_request_body_is_answered_not_fatal() -> None:
    result = _run_isolated(
        """
        import cello
        from cello.testing import TestClient
        app = cello.App()
        @app.post("/echo")
        def echo(request):
            request.json()
            return {"ok": True}
        with TestClient(app) as client:
            depth = 200_000
            response = client.post("/echo", content=b'{"a":' * depth + b"1" + b"}" * depth)
            print(response.status_code)
            print(client.post("/echo", content=b"[1]").status_code)
        """
    )
    assert result.returncode == 0, (
        f"the interpreter died (exit {result.returncode}): {result.stderr[-500:]!r}"
    )
    first, second = result.stdout.split()
    assert first in ("200", "400")
    assert second == "200"


# --- handler return values, in process and over a socket --------------------------------

#: What handlers return, and the Python value the JSON body must decode to. Top-level
#: str/bytes/tuples have response meanings of their own, so those are wrapped.
HANDLER_VALUES: list[tuple[str, Any, Any]] = [
    ("dict", {"b": 1, "a": [True, None, 1.5, "x"]}, {"b": 1, "a": [True, None, 1.5, "x"]}),
    ("list", [1, "two", {"three": 3}], [1, "two", {"three": 3}]),
    ("int", 42, 42),
    ("big-int", 2**80, 2**80),
    ("float", 0.1, 0.1),
    ("bool", False, False),
    ("unicode", {"text": 'é😀\u2028"\\\x00'}, {"text": 'é😀\u2028"\\\x00'}),
    (
        "datetime",
        {"at": datetime.datetime(2024, 1, 2, 3, 4, tzinfo=UTC)},
        {"at": "2024-01-02T03:04:00+00:00"},
    ),
    ("date-time", [datetime.date(2024, 1, 2), datetime.time(5, 6)], ["2024-01-02", "05:06:00"]),
    ("uuid", {"id": uuid.UUID(int=255)}, {"id": "00000000-0000-0000-0000-0000000000ff"}),
    ("decimal", {"price": decimal.Decimal("19.990")}, {"price": 19.99}),
    ("enums", [Color.RED, Priority.HIGH, Shape.SQUARE], ["red", 1, {"sides": 4}]),
    ("dataclass", POLYGON, json.loads(json.dumps(dataclasses.asdict(POLYGON), default=str))),
    ("pydantic", CUSTOMER, CUSTOMER.model_dump(mode="json")),
    ("msgspec", BASKET, msgspec.to_builtins(BASKET)),
    ("subclasses", MyDict(k=MyList([MyStr("s"), MyInt(1), MyFloat(0.5)])), {"k": ["s", 1, 0.5]}),
    ("tuple-array", (1, "a", None), [1, "a", None]),
    ("int-keys", {1: "a", None: "b"}, {"1": "a", "null": "b"}),
]


def handler_values_app() -> App:
    app = App()

    @app.get("/value/{index:int}")
    def value(request):
        return HANDLER_VALUES[request.params["index"]][1]

    @app.get("/raw/{index:int}")
    def raw(request):  # the same values, through Response.json
        return cello.Response.json(HANDLER_VALUES[request.params["index"]][1])

    return app


def test_handler_values_become_json_in_process() -> None:
    with TestClient(handler_values_app()) as client:
        for index, (name, value, expected) in enumerate(HANDLER_VALUES):
            for prefix in ("/value", "/raw"):
                response = client.get(f"{prefix}/{index}")
                assert response.status_code == 200, name
                assert response.headers["content-type"] == "application/json", name
                assert response.content == cello.json_dumps(value), name
                assert response.json() == expected, name


def test_handler_values_become_json_over_a_socket(live: Callable[..., LiveServer]) -> None:
    server = live(handler_values_app())
    with httpx.Client(base_url=server.url) as client:
        for index, (name, value, expected) in enumerate(HANDLER_VALUES):
            for prefix in ("/value", "/raw"):
                response = client.get(f"{prefix}/{index}")
                assert response.status_code == 200, name
                assert response.headers["content-type"] == "application/json", name
                assert response.headers["content-length"] == str(len(response.content)), name
                assert response.content == cello.json_dumps(value), name
                assert response.json() == expected, name


def test_unencodable_return_value_is_a_500_and_the_worker_survives(
    live: Callable[..., LiveServer],
) -> None:
    app = App()

    @app.get("/nan")
    def nan(request):
        return {"value": math.nan}

    @app.get("/widget")
    def widget(request):
        return [Widget()]

    @app.get("/loop")
    def loop(request):
        looping: list[Any] = []
        looping.append(looping)
        return looping

    @app.get("/ok")
    def ok(request):
        return {"ok": True}

    server = live(app)
    with httpx.Client(base_url=server.url) as client:
        for path in ("/nan", "/widget", "/loop"):
            response = client.get(path)
            assert response.status_code == 500, path
            assert response.headers["content-type"] == "application/problem+json"
            assert client.get("/ok").json() == {"ok": True}


# --- request.json() -------------------------------------------------------------------


def json_app() -> App:
    app = App()

    @app.post("/echo")
    def echo(request):
        value = request.json()
        assert request.json() is value  # parsed once, then cached
        return {"value": value, "type": type(value).__name__}

    @app.post("/own-error")
    def own_error(request):
        try:
            return {"value": request.json()}
        except InvalidJSON as error:
            return {"caught": str(error)}, 422

    return app


VALID_DOCUMENTS: list[tuple[bytes, Any]] = [
    (b'{"a": [1, 2.5, null, true, false, "x"]}', {"a": [1, 2.5, None, True, False, "x"]}),
    (b"[]", []),
    (b"{}", {}),
    (b'"just a string"', "just a string"),
    (b"0", 0),
    (b"-1.5e-3", -0.0015),
    (b"  \n\t[1]\r\n ", [1]),
    (b'{"z": 1, "a": 2, "m": 3}', {"z": 1, "a": 2, "m": 3}),
    ('{"name": "Zoë", "emoji": "😀"}'.encode(), {"name": "Zoë", "emoji": "😀"}),
    (b'"\\ud83d\\ude00 \\u00e9 \\n \\" \\\\ \\/"', '😀 é \n " \\ /'),
    (b"123456789012345678901234567890", 123456789012345678901234567890),
    (
        b"[18446744073709551615, 18446744073709551616, -9223372036854775809]",
        [2**64 - 1, 2**64, -(2**63) - 1],
    ),
    (b'{"id": 340282366920938463463374607431768211457}', {"id": 2**128 + 1}),
]


def test_request_json_parses_valid_documents() -> None:
    with TestClient(json_app()) as client:
        for body, expected in VALID_DOCUMENTS:
            response = client.post(
                "/echo", content=body, headers={"content-type": "application/json"}
            )
            assert response.status_code == 200, body
            assert_same(response.json()["value"], expected)
            assert response.json()["type"] == type(expected).__name__


def test_request_json_over_a_socket_keeps_big_ints_exact(live: Callable[..., LiveServer]) -> None:
    server = live(json_app())
    for body, expected in VALID_DOCUMENTS:
        response = httpx.post(f"{server.url}/echo", content=body)
        assert response.status_code == 200, body
        assert_same(response.json()["value"], expected)


@pytest.mark.parametrize(
    ("body", "hint"),
    [
        (b"{bad", "line 1 column 2"),
        (b'{"a": 1,}', "line 1 column 9"),
        (b"[1, 2", "line 1 column 6"),
        (b"[1] trailing", "Extra data"),
        (b"'single'", "line 1 column 1"),
        (b"   ", "Expecting value"),
        (b'"\xff\xfe"', "utf-8"),
    ],
)
def test_invalid_json_is_a_400_problem_with_a_helpful_detail(body: bytes, hint: str) -> None:
    with TestClient(json_app()) as client:
        response = client.post("/echo", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 400 and problem["title"] == "Bad Request"
    assert problem["detail"].startswith("the request body is not valid JSON")
    assert hint in problem["detail"]


@pytest.mark.parametrize("body", [b"NaN", b"Infinity", b"-Infinity", b'{"x": NaN}', b"[Infinity]"])
def test_non_json_number_literals_are_rejected(body: bytes) -> None:
    # NaN and Infinity are JavaScript, not JSON (RFC 8259 section 6).
    app = App()

    @app.post("/parse")
    def parse(request):
        return f"request.json() returned {request.json()!r}"

    with TestClient(app) as client:
        response = client.post("/parse", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "not valid JSON" in response.json()["detail"]


def test_empty_body_is_a_400_that_says_what_to_send() -> None:
    with TestClient(json_app()) as client:
        response = client.post("/echo", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "the request has no body; send a JSON document"


def test_invalid_json_over_a_socket(live: Callable[..., LiveServer]) -> None:
    server = live(json_app())
    with httpx.Client(base_url=server.url) as client:
        bad = client.post("/echo", content=b"{oops")
        assert bad.status_code == 400
        assert bad.headers["content-type"] == "application/problem+json"
        assert "not valid JSON" in bad.json()["detail"]
        empty = client.post("/echo")
        assert empty.status_code == 400
        assert "no body" in empty.json()["detail"]
        # The connection and the worker are fine afterwards.
        assert client.post("/echo", json={"ok": 1}).json()["value"] == {"ok": 1}


def test_a_handler_may_catch_invalid_json_itself() -> None:
    assert issubclass(InvalidJSON, cello.CelloError)
    with TestClient(json_app()) as client:
        bad = client.post("/own-error", content=b"{nope")
        empty = client.post("/own-error")
        good = client.post("/own-error", json={"fine": True})
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/json"
    assert bad.json()["caught"].startswith("the request body is not valid JSON")
    assert empty.status_code == 422
    assert empty.json() == {"caught": "the request has no body; send a JSON document"}
    assert good.status_code == 200 and good.json() == {"value": {"fine": True}}


def test_an_exception_handler_for_invalid_json_takes_over() -> None:
    app = json_app()

    @app.exception_handler(InvalidJSON)
    def invalid_json(request, exc):
        return {"error": "custom", "path": request.path}, 418

    with TestClient(app) as client:
        response = client.post("/echo", content=b"{bad")
    assert response.status_code == 418
    assert response.json() == {"error": "custom", "path": "/echo"}


@given(json_values)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_request_json_echo_round_trips_through_the_engine(value: Any) -> None:
    app = App()

    @app.post("/echo")
    def echo(request):
        return [request.json()]  # wrapped: a top-level str would be sent as text

    with TestClient(app) as client:
        response = client.post("/echo", content=json.dumps(value).encode())
    assert response.status_code == 200
    assert_same(response.json(), [value])


# --- what the decoder accepts, the encoder can send back (issue #18) ----------------------


def _nested(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


def test_decoder_and_encoder_agree_on_the_depth_limit() -> None:
    deepest = cello.json_loads(_nested(256))  # the outermost list is level 0 of 255
    assert cello.json_loads(cello.json_dumps(deepest)) == deepest
    with pytest.raises(ValueError, match="nested deeper than 255"):
        cello.json_loads(_nested(257))
    # The fallback path (a big integer sends the document to Python's parser) holds the
    # same limit.
    with pytest.raises(ValueError, match="nested deeper than 255"):
        cello.json_loads(b"[" * 257 + b"123456789012345678901234567890" + b"]" * 257)
    assert cello.json_loads(b"[" * 256 + b"123456789012345678901234567890" + b"]" * 256)
    # Brackets inside strings are not nesting.
    assert cello.json_loads(b'["' + b"[" * 400 + b'"]') == ["[" * 400]


def test_lone_surrogates_are_refused_and_pairs_are_text() -> None:
    for document in (b'"\\ud800"', b'"\\udc00"', b'["a\\ud83dxyz"]', b'"\\ud83d\\u0041"', b'{"k\\ud800": 1}'):
        with pytest.raises(ValueError, match="lone surrogate"):
            cello.json_loads(document)
    assert cello.json_loads(b'"\\ud83d\\ude00"') == "\U0001f600"
    assert cello.json_loads(b'"\\\\ud800"') == "\\ud800"  # an escaped backslash, then text


def test_numbers_beyond_the_float_range_are_refused() -> None:
    for document in (b"1e999999", b"[-1e400]", b'{"x": 1.5e309}'):
        with pytest.raises(ValueError, match="beyond the range"):
            cello.json_loads(document)
    assert cello.json_loads(b"1.7976931348623157e308") == 1.7976931348623157e308


def test_hostile_json_bodies_are_400s_never_500s() -> None:
    app = App()

    @app.post("/echo")
    def echo(request):
        return request.json()

    with TestClient(app) as client:
        for body in (_nested(1000), b'"\\ud800"', b"1e999999", b"NaN", b"[Infinity]"):
            response = client.post("/echo", content=body)
            assert response.status_code == 400, (body[:20], response.text)
            assert response.headers["content-type"] == "application/problem+json"
        assert client.post("/echo", content=_nested(200)).status_code == 200


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
        max_leaves=30,
    )
)
def test_whatever_decodes_encodes_back(value: object) -> None:
    encoded = cello.json_dumps(value)
    assert cello.json_loads(cello.json_dumps(cello.json_loads(encoded))) == cello.json_loads(encoded)
