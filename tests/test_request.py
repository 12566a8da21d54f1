"""What handlers see on `request`, in process (TestClient) and over a real socket."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from cello import App, Headers, QueryParams, Request
from cello.testing import LiveServer, TestClient


def raw_exchange(port: int, request: bytes) -> tuple[int, bytes]:
    """Sends `request` on a fresh connection (which the request must close) and returns
    the connection's local port and everything the server sent."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        local_port = connection.getsockname()[1]
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    return local_port, received


# --- method, path, query string, url --------------------------------------------------


def describe_app() -> App:
    app = App()

    @app.route("/echo/{name}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def echo(request):
        return {
            "method": request.method,
            "path": request.path,
            "query_string": request.query_string,
            "url": request.url,
            "scheme": request.scheme,
            "params": request.params,
            "http_version": request.http_version,
            "content_type": request.content_type,
        }

    return app


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_method(method: str) -> None:
    with TestClient(describe_app()) as client:
        assert client.request(method, "/echo/x").json()["method"] == method


def test_path_stays_encoded_and_params_are_decoded() -> None:
    with TestClient(describe_app()) as client:
        seen = client.get("/echo/a%20b%2Fc%E2%82%AC?x=%20y&x=2&flag").json()
    assert seen["path"] == "/echo/a%20b%2Fc%E2%82%AC"
    assert seen["params"] == {"name": "a b/c€"}
    assert seen["query_string"] == "x=%20y&x=2&flag"
    assert seen["url"] == "http://testserver/echo/a%20b%2Fc%E2%82%AC?x=%20y&x=2&flag"
    assert seen["scheme"] == "http"


def test_query_string_is_empty_without_a_query() -> None:
    with TestClient(describe_app(), base_url="http://example.org:8080") as client:
        seen = client.get("/echo/plain").json()
    assert seen["query_string"] == ""
    assert seen["url"] == "http://example.org:8080/echo/plain"


def test_method_path_and_url_over_a_socket(live: Callable[..., LiveServer]) -> None:
    server = live(describe_app())
    with httpx.Client(base_url=server.url) as client:
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            assert client.request(method, "/echo/x").json()["method"] == method
        seen = client.get("/echo/caf%C3%A9%20au%20lait?q=a+b&q=%26").json()
    assert seen["path"] == "/echo/caf%C3%A9%20au%20lait"
    assert seen["params"] == {"name": "café au lait"}
    assert seen["query_string"] == "q=a+b&q=%26"
    assert seen["url"] == f"http://127.0.0.1:{server.port}/echo/caf%C3%A9%20au%20lait?q=a+b&q=%26"
    assert seen["http_version"] == "1.1"


def test_http_version_1_0_over_a_socket(live: Callable[..., LiveServer]) -> None:
    server = live(describe_app())
    _, answer = raw_exchange(server.port, b"GET /echo/v HTTP/1.0\r\nHost: h\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith((b"HTTP/1.0 200", b"HTTP/1.1 200"))
    assert b'"http_version":"1.0"' in body
    assert b'"url":"http://h/echo/v"' in body


def test_http_version_in_process() -> None:
    with TestClient(describe_app()) as client:
        assert client.get("/echo/v").json()["http_version"] == "1.1"


# --- path parameters and converters ---------------------------------------------------


def converter_app() -> App:
    app = App()

    @app.get("/int/{id:int}")
    def int_param(request):
        value = request.params["id"]
        return {
            "type": type(value).__name__,
            "value": value,
            "same": request.path_params == request.params,
        }

    @app.get("/float/{x:float}")
    def float_param(request):
        value = request.params["x"]
        return {"type": type(value).__name__, "value": value}

    @app.get("/uuid/{u:uuid}")
    def uuid_param(request):
        value = request.params["u"]
        assert isinstance(value, uuid.UUID)
        return {"type": type(value).__name__, "value": str(value), "version": value.version}

    @app.get("/mixed/{org}/{id:int}/{*rest}")
    def mixed(request):
        return {key: [type(value).__name__, value] for key, value in request.path_params.items()}

    @app.get("/none")
    def no_params(request):
        return {"params": request.params, "path_params": request.path_params}

    return app


@pytest.mark.parametrize(
    ("text", "value"), [("42", 42), ("-7", -7), ("0", 0), ("9223372036854775807", 2**63 - 1)]
)
def test_int_converter(text: str, value: int) -> None:
    with TestClient(converter_app()) as client:
        assert client.get(f"/int/{text}").json() == {"type": "int", "value": value, "same": True}


@pytest.mark.parametrize("text", ["abc", "1.5", "", "99999999999999999999"])
def test_int_converter_refuses_what_is_not_an_int(text: str) -> None:
    with TestClient(converter_app()) as client:
        assert client.get(f"/int/{text}").status_code == 404


@pytest.mark.parametrize(
    ("text", "value"), [("1.5", 1.5), ("-0.25", -0.25), ("3", 3.0), ("1e3", 1000.0)]
)
def test_float_converter(text: str, value: float) -> None:
    with TestClient(converter_app()) as client:
        assert client.get(f"/float/{text}").json() == {"type": "float", "value": value}
        assert client.get("/float/pi").status_code == 404


def test_uuid_converter() -> None:
    identifier = uuid.uuid4()
    with TestClient(converter_app()) as client:
        assert client.get(f"/uuid/{identifier}").json() == {
            "type": "UUID",
            "value": str(identifier),
            "version": 4,
        }
        assert client.get("/uuid/not-a-uuid").status_code == 404


def test_params_of_several_kinds_with_a_catch_all() -> None:
    with TestClient(converter_app()) as client:
        assert client.get("/mixed/ac%20me/7/a/b%20c/d.txt").json() == {
            "org": ["str", "ac me"],
            "id": ["int", 7],
            "rest": ["str", "a/b c/d.txt"],
        }
        assert client.get("/none").json() == {"params": {}, "path_params": {}}


def test_converters_over_a_socket(live: Callable[..., LiveServer]) -> None:
    server = live(converter_app())
    identifier = uuid.uuid4()
    with httpx.Client(base_url=server.url) as client:
        assert client.get("/int/-12").json() == {"type": "int", "value": -12, "same": True}
        assert client.get("/float/2.5").json() == {"type": "float", "value": 2.5}
        assert client.get(f"/uuid/{identifier}").json()["value"] == str(identifier)
        assert client.get("/int/x").status_code == 404


# --- query parameters -----------------------------------------------------------------


def query_app() -> App:
    app = App()

    @app.get("/q")
    def query(request):
        q = request.query
        assert q is request.query_params
        assert isinstance(q, QueryParams)
        return {
            "a": q["a"],
            "a_list": q.getlist("a"),
            "missing_list": q.getlist("missing"),
            "get": q.get("a"),
            "get_missing": q.get("missing"),
            "get_default": q.get("missing", "fallback"),
            "has_a": "a" in q,
            "has_missing": "missing" in q,
            "len": len(q),
            "keys": q.keys(),
            "iter": list(q),
            "items": q.items(),
            "multi_items": q.multi_items(),
            "eq_dict": q == dict(q.items()),
            "eq_wrong": q == {"a": "1"},
            "missing_key_error": _key_error(q, "missing"),
        }

    return app


def _key_error(mapping: Any, key: str) -> str | None:
    try:
        mapping[key]
    except KeyError as error:
        return str(error.args[0])
    return None


def test_query_parameters_are_multi_valued() -> None:
    with TestClient(query_app()) as client:
        seen = client.get("/q?a=1&b=x+y&a=2&c=%26%3D%20&empty=&bare&a=3").json()
    assert seen["a"] == "3"  # the last value
    assert seen["a_list"] == ["1", "2", "3"]
    assert seen["missing_list"] == []
    assert seen["get"] == "3"
    assert seen["get_missing"] is None
    assert seen["get_default"] == "fallback"
    assert seen["has_a"] is True and seen["has_missing"] is False
    assert seen["len"] == 5
    assert seen["keys"] == seen["iter"] == ["a", "b", "c", "empty", "bare"]
    assert seen["items"] == [["a", "3"], ["b", "x y"], ["c", "&= "], ["empty", ""], ["bare", ""]]
    assert seen["multi_items"] == [
        ["a", "1"],
        ["b", "x y"],
        ["a", "2"],
        ["c", "&= "],
        ["empty", ""],
        ["bare", ""],
        ["a", "3"],
    ]
    assert seen["eq_dict"] is True
    assert seen["eq_wrong"] is False
    assert seen["missing_key_error"] == "missing"


def test_query_params_from_the_client_params_argument() -> None:
    with TestClient(query_app()) as client:
        seen = client.get("/q", params={"a": ["x", "é"], "b": "1 2"}).json()
    assert seen["a_list"] == ["x", "é"]
    assert seen["items"] == [["a", "é"], ["b", "1 2"]]


def test_query_params_over_a_socket(live: Callable[..., LiveServer]) -> None:
    server = live(query_app())
    seen = httpx.get(f"{server.url}/q", params=[("a", "1"), ("a", "two words"), ("z", "ü")]).json()
    assert seen["a"] == "two words"
    assert seen["a_list"] == ["1", "two words"]
    assert seen["items"] == [["a", "two words"], ["z", "ü"]]
    assert seen["len"] == 2


def test_query_params_type_compares_with_dicts_and_itself() -> None:
    params = QueryParams("a=1&b=2&a=3")
    assert params == {"a": "3", "b": "2"}
    assert params != {"a": "1", "b": "2"}
    assert params != {"a": "3"}
    assert params == QueryParams("a=1&b=2&a=3")
    assert params != QueryParams("a=3&b=2")
    assert params.getlist("a") == ["1", "3"]


# --- headers --------------------------------------------------------------------------


def headers_app() -> App:
    app = App()

    @app.get("/h")
    def headers(request):
        h = request.headers
        assert isinstance(h, Headers)
        return {
            "upper": h["X-CUSTOM"],
            "lower": h["x-custom"],
            "mixed": h.get("X-Custom"),
            "get_missing": h.get("x-missing"),
            "get_default": h.get("x-missing", "fallback"),
            "getlist": h.getlist("X-Multi"),
            "get_all": h.get_all("x-multi"),
            "first_of_multi": h["x-multi"],
            "getlist_missing": h.getlist("x-missing"),
            "has": "X-Custom" in h,
            "has_missing": "x-missing" in h,
            "keys": h.keys(),
            "iter": list(h),
            "items": h.items(),
            "len": len(h),
            "missing_key_error": _key_error(h, "X-Missing"),
        }

    return app


def test_headers_in_process() -> None:
    with TestClient(headers_app()) as client:
        seen = client.get("/h", headers={"X-Custom": "Value With Case", "X-Multi": "a, b"}).json()
    assert seen["upper"] == seen["lower"] == seen["mixed"] == "Value With Case"
    assert seen["get_missing"] is None and seen["get_default"] == "fallback"
    assert seen["has"] is True and seen["has_missing"] is False
    assert seen["getlist"] == seen["get_all"] == ["a, b"]
    assert seen["getlist_missing"] == []
    assert seen["keys"] == seen["iter"] == ["host", "x-custom", "x-multi"]
    assert seen["items"] == [
        ["host", "testserver"],
        ["x-custom", "Value With Case"],
        ["x-multi", "a, b"],
    ]
    assert seen["len"] == 3
    assert seen["missing_key_error"] == "X-Missing"


def test_repeated_headers_over_a_socket(live: Callable[..., LiveServer]) -> None:
    server = live(headers_app())
    response = httpx.get(
        f"{server.url}/h",
        headers=[
            ("X-Custom", "one"),
            ("X-Multi", "first"),
            ("x-multi", "second"),
            ("X-MULTI", "third"),
        ],
    )
    seen = response.json()
    assert seen["upper"] == "one"
    assert seen["getlist"] == seen["get_all"] == ["first", "second", "third"]
    assert seen["first_of_multi"] == "first"
    assert [pair for pair in seen["items"] if pair[0] == "x-multi"] == [
        ["x-multi", "first"],
        ["x-multi", "second"],
        ["x-multi", "third"],
    ]
    assert seen["keys"].count("x-multi") == 1
    assert seen["len"] == len(seen["keys"])
    assert "host" in seen["keys"] and "user-agent" in seen["keys"]


# --- cookies --------------------------------------------------------------------------


def cookies_app() -> App:
    app = App()

    @app.get("/c")
    def cookies(request):
        return request.cookies

    return app


def test_cookies_plain_quoted_and_percent_encoded() -> None:
    header = (
        'session=abc123; quoted="two words"; euro=%E2%82%AC; eq=a=b;  spaced = yes ; theme=dark'
    )
    with TestClient(cookies_app()) as client:
        assert client.get("/c", headers={"cookie": header}).json() == {
            "session": "abc123",
            "quoted": "two words",
            "euro": "€",
            "eq": "a=b",
            "spaced": "yes",
            "theme": "dark",
        }
        assert client.get("/c", cookies={"a": "1", "b": "2"}).json() == {"a": "1", "b": "2"}
        assert client.get("/c").json() == {}


def test_cookies_over_a_socket(live: Callable[..., LiveServer]) -> None:
    server = live(cookies_app())
    response = httpx.get(
        f"{server.url}/c", headers={"Cookie": 'id=42; name="Ada L"; city=S%C3%A3o%20Paulo'}
    )
    assert response.json() == {"id": "42", "name": "Ada L", "city": "São Paulo"}
    # Two Cookie header lines (allowed from HTTP/2 proxies) are both read.
    _, answer = raw_exchange(
        server.port,
        b"GET /c HTTP/1.1\r\nHost: h\r\nCookie: a=1\r\nCookie: b=2\r\nConnection: close\r\n\r\n",
    )
    assert answer.endswith(b'{"a":"1","b":"2"}')


# --- body, text, json -----------------------------------------------------------------


def body_app() -> App:
    app = App()

    @app.post("/body")
    def body(request):
        raw = request.body()
        assert isinstance(raw, bytes)
        return {"length": len(raw), "hex": raw.hex(), "content_type": request.content_type}

    @app.post("/text")
    def text(request):
        return {"text": request.text()}

    @app.post("/json")
    def json_body(request):
        return {"json": request.json(), "content_type": request.content_type}

    @app.post("/all")
    def all_three(request):
        # Reading the body several ways is allowed and consistent.
        return {"body": request.body().decode(), "text": request.text(), "json": request.json()}

    return app


def test_body_text_and_json_in_process() -> None:
    payload = bytes(range(256))
    with TestClient(body_app()) as client:
        assert client.post("/body", content=payload).json() == {
            "length": 256,
            "hex": payload.hex(),
            "content_type": None,
        }
        assert client.post("/body").json() == {"length": 0, "hex": "", "content_type": None}
        assert client.post("/text", content="héllo wörld 😀".encode()).json() == {
            "text": "héllo wörld 😀"
        }
        assert client.post("/json", json={"a": [1, None]}).json() == {
            "json": {"a": [1, None]},
            "content_type": "application/json",
        }
        assert client.post("/all", content=b'{"k": "v"}').json() == {
            "body": '{"k": "v"}',
            "text": '{"k": "v"}',
            "json": {"k": "v"},
        }


def test_text_uses_the_declared_charset() -> None:
    # Documented: "the charset of Content-Type, UTF-8 by default".
    with TestClient(body_app()) as client:
        response = client.post(
            "/text",
            content="café".encode("latin-1"),
            headers={"content-type": "text/plain; charset=iso-8859-1"},
        )
    assert response.status_code == 200, response.text
    assert response.json() == {"text": "café"}


def test_text_of_a_body_that_is_not_utf8_raises_unicode_decode_error() -> None:
    app = App()

    @app.post("/text")
    def text(request):
        try:
            request.text()
        except UnicodeDecodeError as error:
            return {"error": "UnicodeDecodeError", "message": str(error)}
        except Exception as error:  # noqa: BLE001 - reported, so a failure shows what was raised
            return {"error": type(error).__name__, "message": str(error)}
        return {"error": None}

    with TestClient(app) as client:
        seen = client.post("/text", content=b"\xff\xfe\x00").json()
    assert seen["error"] == "UnicodeDecodeError", seen


def test_big_body_over_a_socket(live: Callable[..., LiveServer]) -> None:
    server = live(body_app())
    payload = bytes(range(256)) * 4096  # 1 MiB
    response = httpx.post(
        f"{server.url}/body", content=payload, headers={"content-type": "application/octet-stream"}
    )
    seen = response.json()
    assert seen["length"] == len(payload)
    assert seen["hex"] == payload.hex()
    assert seen["content_type"] == "application/octet-stream"
    assert httpx.post(f"{server.url}/json", json=[1, "ü"]).json() == {
        "json": [1, "ü"],
        "content_type": "application/json",
    }


def test_content_type_is_the_header_value_or_none() -> None:
    with TestClient(describe_app()) as client:
        assert client.get("/echo/x").json()["content_type"] is None
        seen = client.post("/echo/x", headers={"Content-Type": "text/csv; charset=utf-8"}).json()
        assert seen["content_type"] == "text/csv; charset=utf-8"


# --- client, app, state ---------------------------------------------------------------


async def _suspend() -> None:
    """Really suspends the handler once (a future resolved on the next loop turn)."""
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    loop.call_soon(future.set_result, None)
    await future


def context_app() -> App:
    app = App()
    app.state.name = "the app"

    @app.get("/client")
    def client(request):
        peer = request.client
        if peer is None:
            return {"client": None}
        host, port = peer
        return {"host": peer.host, "port": peer.port, "unpacked": [host, port]}

    @app.get("/app")
    def which_app(request):
        return {"is_app": request.app is app, "name": request.app.state.name}

    @app.get("/state/{value}")
    def state(request):
        before = sorted(vars(request.state))
        request.state.value = request.params["value"]
        assert request.state is request.state
        return {"before": before, "after": request.state.value}

    @app.get("/async-state/{value}")
    async def async_state(request):
        before = sorted(vars(request.state))
        request.state.value = request.params["value"]
        await _suspend()
        return {"before": before, "after": request.state.value, "is_app": request.app is app}

    @app.get("/blocking", blocking=True)
    def blocking(request):
        return {"is_app": request.app is app, "path": request.path, "q": request.query.get("x")}

    return app


def test_client_is_none_in_process() -> None:
    with TestClient(context_app()) as client:
        assert client.get("/client").json() == {"client": None}


def test_client_address_over_a_socket(live: Callable[..., LiveServer]) -> None:
    server = live(context_app())
    local_port, answer = raw_exchange(
        server.port, b"GET /client HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
    )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    expected = f'{{"host":"127.0.0.1","port":{local_port},"unpacked":["127.0.0.1",{local_port}]}}'
    assert body == expected.encode()


def test_request_app_is_the_app(live: Callable[..., LiveServer]) -> None:
    app = context_app()
    with TestClient(app) as client:
        assert client.get("/app").json() == {"is_app": True, "name": "the app"}
    server = live(app)
    assert httpx.get(f"{server.url}/app").json() == {"is_app": True, "name": "the app"}


def test_request_state_is_per_request(live: Callable[..., LiveServer]) -> None:
    app = context_app()
    with TestClient(app) as client:
        assert client.get("/state/one").json() == {"before": [], "after": "one"}
        assert client.get("/state/two").json() == {"before": [], "after": "two"}
        assert client.get("/async-state/three").json() == {
            "before": [],
            "after": "three",
            "is_app": True,
        }
        assert client.get("/async-state/four").json() == {
            "before": [],
            "after": "four",
            "is_app": True,
        }
    server = live(app)
    with httpx.Client(base_url=server.url) as client:  # one keep-alive connection
        for value in ("a", "b", "c"):
            assert client.get(f"/state/{value}").json() == {"before": [], "after": value}


def test_blocking_handler_reads_the_request() -> None:
    with TestClient(context_app()) as client:
        assert client.get("/blocking?x=1").json() == {"is_app": True, "path": "/blocking", "q": "1"}


def test_request_repr_and_type() -> None:
    app = App()

    @app.get("/r")
    def r(request):
        return {"is_request": isinstance(request, Request), "repr": repr(request)}

    with TestClient(app) as client:
        assert client.get("/r?x=1").json() == {"is_request": True, "repr": "<Request GET /r?x=1>"}
