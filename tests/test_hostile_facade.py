"""Hostile input through the Python facade (issue #18): arbitrary methods, paths,
headers, cookies, query strings and bodies, read through every `Request` accessor and
every kind of typed parameter. Invariant: the answer is a 2xx or a 4xx (never a 500
caused by the client) and the worker keeps serving."""

from __future__ import annotations

import string
from typing import Any

import pytest
from cello import App, Cookie, Form, Header, Query
from cello.testing import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel


class Item(BaseModel):
    name: str
    price: float
    tags: list[str] = []


def build_app() -> App:
    app = App()

    @app.route("/raw/{part}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def raw(request):
        # Every accessor, as a handler might read them.
        seen: dict[str, Any] = {
            "method": request.method, "path": request.path, "url": request.url,
            "query": request.query.multi_items(), "headers": request.headers.items(),
            "cookies": request.cookies, "params": request.params,
            "content_type": request.content_type, "size": len(request.body()),
        }
        try:
            seen["text"] = request.text()
        except UnicodeDecodeError:
            seen["text"] = None
        return {"keys": sorted(seen)}

    @app.post("/json")
    def echo(request):
        return request.json()

    @app.post("/typed/{n}")
    def typed(n: int, item: Item, q: list[float] = Query([]),
              x_token: str | None = Header(None), session: str | None = Cookie(None)):
        return {"n": n, "name": item.name}

    @app.post("/form")
    async def form(name: str = Form(), age: int = Form(0)):
        return {"name": name, "age": age}

    @app.post("/files")
    async def files(request):
        form = await request.form()
        return {"fields": sorted(form.keys())}

    @app.get("/alive")
    def alive(request):
        return {"alive": True}

    return app


@pytest.fixture(scope="module")
def client() -> Any:
    with TestClient(build_app()) as test_client:
        yield test_client


token = st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=12)
header_value = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
segment = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/?#\x00"),
                  min_size=1, max_size=30)
bodies = st.one_of(
    st.binary(max_size=300),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=20,
    ).map(lambda value: repr(value).encode()),
    st.sampled_from([
        b"[" * 600 + b"]" * 600, b'"\\ud800"', b"1e999999", b'{"name": "a", "price": "NaN"}',
        b'{"name": "a", "price": 1e999}', b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--',
        b"name=%FF%FE&age=9999999999999999999999", b"\xff\xfe\x00",
    ]),
)
content_types = st.sampled_from([
    None, "application/json", "application/x-www-form-urlencoded", "multipart/form-data",
    "multipart/form-data; boundary=x", "multipart/form-data; boundary=", "text/plain; charset=latin-1",
    "application/json; charset=utf-16",
])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]),
    target=st.sampled_from(["/raw/", "/json", "/typed/", "/form", "/files", "/"]),
    part=segment,
    query=st.lists(st.tuples(st.text(max_size=10), st.text(max_size=10)), max_size=5),
    headers=st.dictionaries(token.map(lambda t: "x-" + t), header_value, max_size=4),
    cookie=header_value,
    body=bodies,
    content_type=content_types,
)
def test_no_client_input_causes_a_500(
    client: Any, method: str, target: str, part: str, query: list[tuple[str, str]],
    headers: dict[str, str], cookie: str, body: bytes, content_type: str | None,
) -> None:
    path = target + part if target.endswith("/") and target != "/" else target
    sent = dict(headers)
    if content_type is not None:
        sent["content-type"] = content_type
    sent["cookie"] = cookie
    response = client.request(method, path, params=query, headers=sent, content=body)
    assert response.status_code < 500, (method, path, body[:60], content_type, response.text[:300])


def test_the_worker_still_serves_after_the_fuzzing(client: Any) -> None:
    assert client.get("/alive").json() == {"alive": True}
