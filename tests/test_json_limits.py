"""What the JSON decoder accepts, the encoder can send back (issue #18): one depth limit,
lone surrogates and out-of-range numbers refused at decode time with a 400."""

from __future__ import annotations

import cello
import pytest
from cello import App
from cello.testing import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st


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


def test_a_nul_byte_is_refused_not_read_as_the_end() -> None:
    # Found by the `json` fuzz target (docs/reports/fuzzing.md): simd-json stopped at a
    # NUL after a number and accepted `[12345678\x0012]` as [12345678].
    # (b"1\x00" alone is not among them: json.loads reads those two bytes as UTF-16.)
    for document in (b"[12345678\x0012]", b'{"a": 1\x00}', b"[1,\x00 2]"):
        with pytest.raises(ValueError):
            cello.json_loads(document)
    app = App()

    @app.post("/echo")
    def echo(request):
        return request.json()

    with TestClient(app) as client:
        response = client.post("/echo", content=b"[12345678\x0012]")
        assert response.status_code == 400, response.text
