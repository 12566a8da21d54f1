"""What handlers return, and the `Response` class, in process and over a real socket."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cello import App, FileResponse, Response
from cello.testing import LiveServer, TestClient, TestResponse


def app_returning(value_factory: Callable[[], Any]) -> App:
    app = App()

    @app.get("/")
    def handler(request):
        return value_factory()

    return app


def fetch(value_factory: Callable[[], Any]) -> TestResponse:
    """Serves `value_factory()` from ``GET /`` in process and fetches it."""
    with TestClient(app_returning(value_factory)) as client:
        return client.get("/")


def raw_get(port: int, path: str) -> bytes:
    """The exact bytes the server sends for ``GET path`` (connection closed after)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(f"GET {path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n".encode())
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    return received


# --- plain return values ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "content_type", "body"),
    [
        ({"a": 1, "b": [True, None]}, "application/json", b'{"a":1,"b":[true,null]}'),
        ([1, "two"], "application/json", b'[1,"two"]'),
        ([], "application/json", b"[]"),
        ("héllo", "text/plain; charset=utf-8", "héllo".encode()),
        ("", "text/plain; charset=utf-8", b""),
        (b"\x00\xffraw", "application/octet-stream", b"\x00\xffraw"),
        (bytearray(b"array"), "application/octet-stream", b"array"),
        (42, "application/json", b"42"),
        (True, "application/json", b"true"),
        (2.5, "application/json", b"2.5"),
    ],
    ids=[
        "dict",
        "list",
        "empty-list",
        "str",
        "empty-str",
        "bytes",
        "bytearray",
        "int",
        "bool",
        "float",
    ],
)
def test_plain_values(value: Any, content_type: str, body: bytes) -> None:
    response = fetch(lambda: value)
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.content == body


def test_none_is_204_without_a_body() -> None:
    response = fetch(lambda: None)
    assert response.status_code == 204
    assert response.content == b""
    assert "content-type" not in response.headers


def test_plain_values_over_a_socket(live: Callable[..., LiveServer]) -> None:
    app = App()
    values: dict[str, Any] = {"dict": {"k": "v"}, "str": "text", "bytes": b"\x01\x02", "none": None}

    @app.get("/{kind}")
    def handler(request):
        return values[request.params["kind"]]

    server = live(app)
    with httpx.Client(base_url=server.url) as client:
        response = client.get("/dict")
        assert (response.status_code, response.headers["content-type"], response.content) == (
            200,
            "application/json",
            b'{"k":"v"}',
        )
        assert response.headers["content-length"] == "9"
        response = client.get("/str")
        assert (response.headers["content-type"], response.text) == (
            "text/plain; charset=utf-8",
            "text",
        )
        response = client.get("/bytes")
        assert (response.headers["content-type"], response.content) == (
            "application/octet-stream",
            b"\x01\x02",
        )
        response = client.get("/none")
        assert response.status_code == 204 and response.content == b""
        assert "content-type" not in response.headers
        assert "content-length" not in response.headers  # RFC 9110: never on a 204


# --- tuples ---------------------------------------------------------------------------


def test_body_and_status() -> None:
    response = fetch(lambda: ({"created": True}, 201))
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"created": True}
    response = fetch(lambda: ("teapot", 418))
    assert (response.status_code, response.text) == (418, "teapot")
    response = fetch(lambda: (None, 202))
    assert (response.status_code, response.content) == (202, b"")


def test_body_status_and_dict_headers() -> None:
    response = fetch(lambda: ("a,b", 200, {"Content-Type": "text/csv", "X-Request-Id": "r1"}))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv"  # replaces the inferred type
    assert response.headers.getlist("content-type") == ["text/csv"]
    assert response.headers["x-request-id"] == "r1"
    assert response.text == "a,b"


def test_body_status_and_list_headers() -> None:
    response = fetch(lambda: ({"ok": 1}, 202, [("X-One", "1"), ("X-Two", "2")]))
    assert response.status_code == 202
    assert response.headers["x-one"] == "1" and response.headers["x-two"] == "2"
    assert response.json() == {"ok": 1}


def test_list_headers_may_repeat_a_name() -> None:
    # A list of pairs is how a handler sends several values of one header.
    response = fetch(
        lambda: ("ok", 200, [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("Vary", "Accept")])
    )
    assert response.headers.getlist("set-cookie") == ["a=1", "b=2"]
    assert response.headers.getlist("vary") == ["Accept"]


def test_a_response_inside_a_tuple_takes_the_tuple_status_and_headers() -> None:
    response = fetch(lambda: (Response.text("x", headers={"X-A": "1"}), 201, {"X-B": "2"}))
    assert response.status_code == 201
    assert response.headers["x-a"] == "1" and response.headers["x-b"] == "2"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


def test_tuple_status_204_sends_no_body() -> None:
    response = fetch(lambda: ("ignored", 204))
    assert response.status_code == 204
    assert response.content == b""


def test_tuple_status_204_over_a_socket(live: Callable[..., LiveServer]) -> None:
    server = live(app_returning(lambda: ("ignored", 204)))
    raw = raw_get(server.port, "/")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 204")
    assert body == b""


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ((1, "a"), [1, "a"]),
        (("a", True), ["a", True]),  # bool is not a status
        (("a", "b", "c"), ["a", "b", "c"]),
        ((1, 200, {}, 4), [1, 200, {}, 4]),
        ((1,), [1]),
        ((), []),
        (("x", 2.0), ["x", 2.0]),
        ((1, 2, 3), [1, 2, 3]),  # 3 is not headers, so this is not (body, status, headers)
    ],
    ids=["int-str", "str-bool", "three-str", "four", "one", "empty", "float-second", "three-ints"],
)
def test_other_tuples_are_json_arrays(value: tuple[Any, ...], expected: list[Any]) -> None:
    response = fetch(lambda: value)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == expected


@pytest.mark.parametrize("status", [99, 600, 1000, 0, -1])
def test_tuple_with_an_impossible_status_is_a_500(status: int) -> None:
    response = fetch(lambda: ("body", status))
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"


# --- the Response constructor -----------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "sent"),
    [
        ("text", "text/plain; charset=utf-8", b"text"),
        (b"bytes", "application/octet-stream", b"bytes"),
        (bytearray(b"ba"), "application/octet-stream", b"ba"),
        (memoryview(b"mv"), "application/octet-stream", b"mv"),
        ({"a": 1}, "application/json", b'{"a":1}'),
        ([1, 2], "application/json", b"[1,2]"),
        ((1, 2), "application/json", b"[1,2]"),
        (7, "application/json", b"7"),
        (False, "application/json", b"false"),
    ],
)
def test_constructor_infers_the_content_type(body: Any, content_type: str, sent: bytes) -> None:
    response = Response(body)
    assert response.status_code == response.status == 200
    assert response.content_type == response.media_type == content_type
    assert response.body == sent
    served = fetch(lambda: Response(body))
    assert served.status_code == 200
    assert served.headers["content-type"] == content_type
    assert served.content == sent


def test_constructor_without_a_body() -> None:
    response = Response()
    assert response.body == b"" and response.content_type is None
    served = fetch(lambda: Response(status=200))
    assert served.status_code == 200 and served.content == b""
    assert "content-type" not in served.headers


def test_constructor_content_type_and_headers() -> None:
    response = Response("<x/>", 201, {"X-Trace": "t", "Cache-Control": "no-store"}, "image/svg+xml")
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.headers["x-trace"] == "t"
    served = fetch(lambda: Response("<x/>", 201, {"X-Trace": "t"}, "image/svg+xml"))
    assert served.status_code == 201
    assert served.headers["content-type"] == "image/svg+xml"
    assert served.headers["x-trace"] == "t"
    assert served.text == "<x/>"
    # A Content-Type among the headers wins over inference.
    served = fetch(lambda: Response({"a": 1}, headers={"Content-Type": "application/vnd.api+json"}))
    assert served.headers.getlist("content-type") == ["application/vnd.api+json"]


@pytest.mark.parametrize("status", [99, 600, 0, -200, 1000, "200", 200.0, None])
def test_invalid_status_raises_value_error(status: Any) -> None:
    with pytest.raises(ValueError, match="status must be an int from 100 to 599"):
        Response("x", status)


@pytest.mark.parametrize("status", [100, 200, 299, 404, 451, 599])
def test_valid_statuses_are_sent(status: int) -> None:
    response = fetch(lambda: Response(b"body", status))
    assert response.status_code == status


def test_a_status_made_invalid_after_construction_is_a_500() -> None:
    def make() -> Response:
        response = Response("x")
        response.status_code = 1000
        return response

    response = fetch(make)
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"


def test_304_and_204_responses_drop_the_body(live: Callable[..., LiveServer]) -> None:
    for status in (204, 304):
        response = fetch(lambda status=status: Response(b"not sent", status, {"ETag": '"v1"'}))
        assert response.status_code == status
        assert response.content == b""
        assert response.headers["etag"] == '"v1"'
    server = live(app_returning(lambda: Response(b"not sent", 304, {"ETag": '"v1"'})))
    raw = raw_get(server.port, "/")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 304") and body == b""


# --- named constructors -----------------------------------------------------------------


def test_named_constructors() -> None:
    cases: list[tuple[Response, int, str, bytes]] = [
        (Response.json({"id": 1}, status=201), 201, "application/json", b'{"id":1}'),
        (Response.json([1, "x"]), 200, "application/json", b'[1,"x"]'),
        (Response.text("plain é"), 200, "text/plain; charset=utf-8", "plain é".encode()),
        (Response.html("<b>hi</b>", 202), 202, "text/html; charset=utf-8", b"<b>hi</b>"),
        (Response.xml("<a/>"), 200, "application/xml; charset=utf-8", b"<a/>"),
        (Response.binary(b"\x89PNG"), 200, "application/octet-stream", b"\x89PNG"),
        (Response.binary(b"\x89PNG", content_type="image/png"), 200, "image/png", b"\x89PNG"),
    ]
    app = App()

    @app.get("/{index:int}")
    def handler(request):
        return cases[request.params["index"]][0]

    with TestClient(app) as client:
        for index, (made, status, content_type, body) in enumerate(cases):
            assert (
                made.status_code == status
                and made.content_type == content_type
                and made.body == body
            )
            response = client.get(f"/{index}")
            assert response.status_code == status
            assert response.headers.getlist("content-type") == [content_type]
            assert response.content == body


def test_json_constructor_with_headers_and_a_string_value() -> None:
    response = fetch(lambda: Response.json("just a string", headers={"X-A": "1"}))
    assert response.headers["content-type"] == "application/json"
    assert response.json() == "just a string"
    assert response.headers["x-a"] == "1"


def test_no_content() -> None:
    response = fetch(lambda: Response.no_content({"X-Deleted": "3"}))
    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["x-deleted"] == "3"
    assert "content-type" not in response.headers


# --- redirects ------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_statuses(status: int) -> None:
    response = fetch(lambda: Response.redirect("/target?x=1", status))
    assert response.status_code == status
    assert response.headers["location"] == "/target?x=1"
    assert response.content == b""


def test_redirect_defaults_to_307_and_quotes_the_location() -> None:
    made = Response.redirect("/a path/é?q=a b#frag")
    assert made.status_code == 307
    response = fetch(lambda: Response.redirect("/a path/é?q=a b#frag"))
    assert response.status_code == 307
    assert response.headers["location"] == "/a%20path/%C3%A9?q=a%20b#frag"
    absolute = fetch(lambda: Response.redirect("https://example.com/x?y=1&z=%2F", 302))
    assert absolute.headers["location"] == "https://example.com/x?y=1&z=%2F"


@pytest.mark.parametrize("status", [200, 299, 400, 404, 500, 100, 600])
def test_redirect_refuses_non_3xx_statuses(status: int) -> None:
    with pytest.raises(ValueError, match="a redirect needs a 3xx status"):
        Response.redirect("/x", status)


def test_redirect_refuses_304_which_is_not_a_redirect() -> None:
    # 304 Not Modified answers a conditional request; a client does not follow its Location.
    with pytest.raises(ValueError):
        Response.redirect("/x", 304)


def test_redirect_is_followed_over_a_socket(live: Callable[..., LiveServer]) -> None:
    app = App()

    @app.get("/old")
    def old(request):
        return Response.redirect("/new", 301)

    @app.get("/new")
    def new(request):
        return {"arrived": True}

    server = live(app)
    response = httpx.get(f"{server.url}/old", follow_redirects=True)
    assert response.json() == {"arrived": True}
    assert [r.status_code for r in response.history] == [301]


# --- files ----------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    made = {
        "css": tmp_path / "style.css",
        "json": tmp_path / "data.json",
        "png": tmp_path / "pixel.png",
        "html": tmp_path / "index.html",
        "none": tmp_path / "README",
        "big": tmp_path / "big.bin",
        "empty": tmp_path / "empty.txt",
    }
    made["css"].write_text("body { color: red }")
    made["json"].write_text('{"a": 1}')
    made["png"].write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(32))
    made["html"].write_text("<p>é</p>", encoding="utf-8")
    made["none"].write_bytes(b"no extension")
    # ~3 MiB, not a multiple of the 64 KiB chunk size, every chunk different.
    made["big"].write_bytes(b"".join(i.to_bytes(4, "big") for i in range(786_433)) + b"tail!")
    made["empty"].write_bytes(b"")
    return made


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("css", "text/css; charset=utf-8"),
        ("json", "application/json"),
        ("png", "image/png"),
        ("html", "text/html; charset=utf-8"),
        ("none", "application/octet-stream"),
        ("empty", "text/plain; charset=utf-8"),
    ],
)
def test_file_content_type_length_and_last_modified(
    files: dict[str, Path], name: str, content_type: str
) -> None:
    path = files[name]
    mtime = datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC)
    os.utime(path, (mtime.timestamp(), mtime.timestamp()))
    made = Response.file(path)
    assert isinstance(made, FileResponse) and made.path == str(path)
    response = fetch(lambda: Response.file(path))
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.headers["content-length"] == str(path.stat().st_size)
    assert parsedate_to_datetime(response.headers["last-modified"]) == mtime
    assert response.headers["last-modified"] == "Thu, 04 Mar 2021 05:06:07 GMT"
    assert "content-disposition" not in response.headers
    assert response.content == path.read_bytes()


def test_file_options(files: dict[str, Path]) -> None:
    response = fetch(
        lambda: Response.file(
            str(files["none"]),
            content_type="application/x-custom",
            status=203,
            headers={"X-A": "1"},
        )
    )
    assert response.status_code == 203
    assert response.headers["content-type"] == "application/x-custom"
    assert response.headers["x-a"] == "1"
    assert response.content == b"no extension"
    # Text types get the charset the file is assumed to use, as Starlette does.
    markdown = fetch(lambda: Response.file(files["none"], content_type="text/markdown"))
    assert markdown.headers["content-type"] == "text/markdown; charset=utf-8"


def test_file_filename_gives_content_disposition(files: dict[str, Path]) -> None:
    response = fetch(lambda: Response.file(files["none"], filename="report 2024 é.pdf"))
    assert response.headers["content-disposition"] == (
        "attachment; filename*=utf-8''report%202024%20%C3%A9.pdf"
    )
    # The download name also chooses the content type.
    assert response.headers["content-type"] == "application/pdf"
    assert response.content == b"no extension"


def test_big_file_streams_over_a_socket(
    live: Callable[..., LiveServer], files: dict[str, Path]
) -> None:
    path = files["big"]
    app = App()

    @app.get("/big")
    def big(request):
        return Response.file(path, filename="big.bin")

    server = live(app)
    expected = path.read_bytes()
    with httpx.Client(base_url=server.url) as client:
        for _ in range(2):  # and again on the same keep-alive connection
            response = client.get("/big")
            assert response.status_code == 200
            assert response.headers["content-length"] == str(len(expected))
            assert response.headers["content-type"] == "application/octet-stream"
            assert response.headers["content-disposition"] == "attachment; filename*=utf-8''big.bin"
            assert len(response.content) == len(expected)
            assert response.content == expected
        with client.stream("GET", "/big") as streamed:
            received = b"".join(streamed.iter_bytes())
        assert received == expected
        head = client.head("/big")
        assert head.status_code == 200
        assert head.headers["content-length"] == str(len(expected))
        assert head.content == b""


def test_missing_file_fails_at_construction(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        Response.file(tmp_path / "missing.txt")
    with pytest.raises(IsADirectoryError):
        Response.file(tmp_path)


def test_file_removed_before_sending_is_a_500(
    live: Callable[..., LiveServer], tmp_path: Path
) -> None:
    def make() -> Response:
        path = tmp_path / "short-lived.txt"
        path.write_text("soon gone")
        response = Response.file(path)
        path.unlink()
        return response

    assert fetch(make).status_code == 500
    server = live(app_returning(make))
    with httpx.Client(base_url=server.url) as client:
        assert client.get("/").status_code == 500
        assert client.get("/").status_code == 500  # the worker is still serving


# --- cookies --------------------------------------------------------------------------


def cookie_response() -> Response:
    response = Response.json({"ok": True})
    response.set_cookie("session", "abc 123;=", max_age=3600, httponly=True, secure=True)
    response.set_cookie(
        "prefs",
        "dark",
        path="/app",
        domain="example.com",
        samesite="strict",
        expires=datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    response.set_cookie("bare", "1", path=None, samesite=None)
    response.delete_cookie("old", path="/legacy")
    return response


def test_set_and_delete_cookie_headers() -> None:
    response = fetch(cookie_response)
    assert response.json() == {"ok": True}
    session, prefs, bare, old = response.headers.getlist("set-cookie")
    assert (
        session == "session=abc%20123%3B%3D; Max-Age=3600; Path=/; Secure; HttpOnly; SameSite=Lax"
    )
    assert prefs == (
        "prefs=dark; expires=Wed, 02 Jan 2030 03:04:05 GMT; Path=/app; Domain=example.com; SameSite=Strict"
    )
    assert bare == "bare=1"
    assert old.startswith("old=; Max-Age=0; expires=")
    assert old.endswith("; Path=/legacy; SameSite=Lax")
    assert parsedate_to_datetime(old.split("expires=")[1].split(";")[0]) <= datetime.now(UTC)


def test_several_set_cookie_headers_over_a_socket(live: Callable[..., LiveServer]) -> None:
    server = live(app_returning(cookie_response))
    response = httpx.get(server.url)
    assert len(response.headers.get_list("set-cookie")) == 4
    raw = raw_get(server.port, "/")
    head = raw.partition(b"\r\n\r\n")[0].decode()
    assert sum(line.lower().startswith("set-cookie:") for line in head.split("\r\n")) == 4
    assert response.cookies["session"] == "abc%20123%3B%3D"


def test_cookie_expires_in_seconds() -> None:
    response = Response()
    before = datetime.now(UTC).replace(microsecond=0)
    response.set_cookie("c", "v", expires=120)
    header = response.headers["set-cookie"]
    expires = parsedate_to_datetime(header.split("expires=")[1].split(";")[0])
    assert 119 <= (expires - before).total_seconds() <= 180


@pytest.mark.parametrize("name", ["a b", "a;b", "a=b", 'a"b', "a,b", "a\r\nb"])
def test_invalid_cookie_names_raise(name: str) -> None:
    with pytest.raises(ValueError, match="invalid cookie name"):
        Response().set_cookie(name, "v")


def test_invalid_samesite_raises() -> None:
    with pytest.raises(ValueError, match="samesite"):
        Response().set_cookie("c", "v", samesite="sometimes")  # type: ignore[arg-type]


# --- header injection -----------------------------------------------------------------


def _inject_via_constructor() -> Response:
    return Response("x", headers={"X-Note": "a\r\nX-Evil: 1"})


def _inject_via_mutation() -> Response:
    response = Response("x")
    response.headers["X-Note"] = "a\nX-Evil: 1"
    return response


def _inject_via_tuple() -> Any:
    return ("x", 200, {"X-Note": "a\rX-Evil: 1"})


def _inject_via_tuple_list() -> Any:
    return ("x", 200, [("X-Note", "fine"), ("X-Note", "a\r\nX-Evil: 1")])


def _inject_via_cookie_path() -> Response:
    response = Response("x")
    response.set_cookie("c", "v", path="/\r\nX-Evil: 1")
    return response


def _inject_via_redirect() -> Response:
    response = Response.redirect("/x")
    response.headers["location"] = "/x\r\nX-Evil: 1"
    return response


def _inject_via_header_name() -> Response:
    response = Response("x")
    response.headers.append("X-Note\r\nX-Evil", "1")
    return response


INJECTIONS = [
    _inject_via_constructor,
    _inject_via_mutation,
    _inject_via_tuple,
    _inject_via_tuple_list,
    _inject_via_cookie_path,
    _inject_via_redirect,
    _inject_via_header_name,
]


@pytest.mark.parametrize("make", INJECTIONS, ids=lambda f: f.__name__.removeprefix("_inject_via_"))
def test_header_injection_is_a_500_in_process(make: Callable[[], Any]) -> None:
    response = fetch(make)
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "x-evil" not in response.headers
    assert all("\r" not in v and "\n" not in v for _, v in response.raw_headers)


def test_header_injection_never_splits_a_header_on_the_wire(
    live: Callable[..., LiveServer],
) -> None:
    app = App()

    @app.get("/{index:int}")
    def handler(request):
        return INJECTIONS[request.params["index"]]()

    @app.get("/ok")
    def ok(request):
        return "fine"

    server = live(app)
    for index in range(len(INJECTIONS)):
        raw = raw_get(server.port, f"/{index}")
        head = raw.partition(b"\r\n\r\n")[0]
        assert head.startswith(b"HTTP/1.1 500"), (index, head)
        assert b"x-evil" not in head.lower(), (index, head)
    assert httpx.get(f"{server.url}/ok").text == "fine"


# --- mutation and subclasses ----------------------------------------------------------


def test_header_mutation_is_visible_in_the_sent_response(live: Callable[..., LiveServer]) -> None:
    def make() -> Response:
        response = Response.json({"a": 1})
        response.headers["X-Custom"] = "one"
        response.headers["x-custom"] = "two"  # replaces
        response.headers.append("X-Multi", "1")
        response.headers.append("X-Multi", "2")
        response.headers.update({"X-Updated": "yes"})
        del response.headers["content-type"]
        response.headers["Content-Type"] = "application/vnd.test+json"
        response.status_code = 202
        assert "X-CUSTOM" in response.headers and len(response.headers) == 4
        return response

    in_process = fetch(make)
    over_socket = httpx.get(live(app_returning(make)).url)
    for response in (in_process, over_socket):
        assert response.status_code == 202
        assert response.headers.get_list("x-custom") == ["two"]
        assert response.headers.get_list("x-multi") == ["1", "2"]
        assert response.headers["x-updated"] == "yes"
        assert response.headers.get_list("content-type") == ["application/vnd.test+json"]
        assert response.json() == {"a": 1}


def test_mutable_headers_behave_like_a_mapping() -> None:
    response = Response("x", headers={"X-A": "1"})
    headers = response.headers
    assert headers["x-a"] == headers["X-A"] == "1"
    assert headers.get("missing") is None and headers.get("missing", "d") == "d"
    assert list(headers) == ["content-type", "x-a"]
    headers.append("x-a", "2")
    assert headers.getlist("X-A") == ["1", "2"] and len(headers) == 2
    del headers["X-A"]
    assert "x-a" not in headers
    with pytest.raises(KeyError):
        del headers["x-a"]
    with pytest.raises(KeyError):
        headers["x-a"]


class CreatedResponse(Response):
    """A subclass with its own constructor and a default header."""

    def __init__(self, data: Any, location: str) -> None:
        super().__init__(data, 201, {"Location": location})
        self.headers["X-Kind"] = "created"


class CsvResponse(Response):
    def __init__(self, rows: list[list[str]]) -> None:
        super().__init__("\n".join(",".join(row) for row in rows), content_type="text/csv")


class TaggedResponse(Response):
    """Keeps the base signature, so the named constructors build it too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.headers["X-Tagged"] = "yes"


def test_response_subclasses(live: Callable[..., LiveServer]) -> None:
    app = App()

    @app.post("/items")
    def create(request):
        return CreatedResponse({"id": 9}, "/items/9")

    @app.get("/csv")
    async def csv(request):
        return CsvResponse([["a", "b"], ["1", "2"]])

    @app.get("/html-subclass")
    def html_subclass(request):
        made = TaggedResponse.html("<p>named constructors build the subclass</p>")
        assert type(made) is TaggedResponse
        return made

    for client in (TestClient(app), httpx.Client(base_url=live(app).url)):
        with client:
            created = client.post("/items")
            assert created.status_code == 201
            assert created.headers["location"] == "/items/9"
            assert created.headers["x-kind"] == "created"
            assert created.json() == {"id": 9}
            csv_response = client.get("/csv")
            assert csv_response.headers["content-type"] == "text/csv"
            assert csv_response.text == "a,b\n1,2"
            html = client.get("/html-subclass")
            assert html.headers["content-type"] == "text/html; charset=utf-8"
            assert html.text == "<p>named constructors build the subclass</p>"
            assert html.headers["x-tagged"] == "yes"


def test_async_handlers_return_the_same_things() -> None:
    app = App()

    @app.get("/dict")
    async def as_dict(request):
        return {"async": True}

    @app.get("/tuple")
    async def as_tuple(request):
        return "made", 201, {"X-A": "1"}

    @app.get("/none")
    async def as_none(request):
        return None

    with TestClient(app) as client:
        assert client.get("/dict").json() == {"async": True}
        made = client.get("/tuple")
        assert (made.status_code, made.text, made.headers["x-a"]) == (201, "made", "1")
        assert client.get("/none").status_code == 204


def test_response_repr() -> None:
    assert repr(Response.json({})) == "<Response 200 application/json>"
    assert repr(Response(status=204)) == "<Response 204>"
