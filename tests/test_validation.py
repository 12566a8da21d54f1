"""Typed parameters and validation: every parameter kind with good and bad input,
Pydantic, msgspec, dataclass and TypedDict bodies, forms and files, response models;
bad input is always a 422 problem+json, never a 500."""

from __future__ import annotations

import dataclasses
import enum
import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypedDict

import httpx
import msgspec
import pytest
from cello import (
    App,
    Body,
    Cookie,
    File,
    Form,
    Header,
    Path,
    Query,
    RequestValidationError,
    Response,
)
from cello.forms import UploadFile
from cello.testing import LiveServer, TestClient
from pydantic import BaseModel, field_validator


class CreateItem(BaseModel):
    name: str
    price: float


class Strict(BaseModel):
    name: str

    @field_validator("name")
    @classmethod
    def no_admin(cls, value: str) -> str:
        if value == "admin":
            raise ValueError("reserved name")
        if value == "boom":
            raise KeyError("a validator bug")  # not a ValueError: still the client's 422
        return value


class StructItem(msgspec.Struct):
    name: str
    tags: list[str] = []


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Movie(TypedDict):
    title: str
    year: int


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class PublicUser(BaseModel):
    name: str


class PrivateUser(PublicUser):
    password: str


def errors_of(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 422 and body["title"]
    return body["errors"]


def test_path_parameters_typed_by_annotation(live: Callable[..., LiveServer]) -> None:
    app = App()

    @app.get("/int/{item_id}")
    def by_int(item_id: int):
        return {"item_id": item_id, "type": type(item_id).__name__}

    @app.get("/uuid/{key}")
    def by_uuid(key: uuid.UUID):
        return {"key": str(key), "version": key.version}

    @app.get("/float/{value}")
    def by_float(value: float):
        return {"value": value}

    @app.get("/color/{color}")
    def by_enum(color: Color):
        return {"color": color.name}

    @app.get("/bounded/{n}")
    def bounded(n: Annotated[int, Path(ge=1, le=10)]):
        return {"n": n}

    server = live(app)
    get = lambda path: httpx.get(server.url + path)
    assert get("/int/42").json() == {"item_id": 42, "type": "int"}
    key = uuid.uuid4()
    assert get(f"/uuid/{key}").json() == {"key": str(key), "version": 4}
    assert get("/float/2.5").json() == {"value": 2.5}
    assert get("/color/blue").json() == {"color": "BLUE"}
    assert get("/bounded/10").json() == {"n": 10}

    assert errors_of(get("/int/abc")) == [{
        "type": "int_parsing", "loc": ["path", "item_id"], "input": "abc",
        "msg": "Input should be a valid integer, unable to parse string as an integer",
    }]
    assert errors_of(get("/uuid/not-a-uuid"))[0]["type"] == "uuid_parsing"
    assert errors_of(get("/float/nan"))[0]["type"] == "finite_number"
    assert errors_of(get("/color/green"))[0]["loc"] == ["path", "color"]
    bounded_error = errors_of(get("/bounded/11"))[0]
    assert bounded_error["type"] == "less_than_equal" and bounded_error["ctx"] == {"le": 10}


def test_query_parameters_defaults_lists_aliases_and_constraints() -> None:
    app = App()

    @app.get("/search")
    def search(
        q: str | None = None,
        limit: int = Query(10, ge=1, le=100),
        tags: list[str] = Query([]),
        ids: list[int] = Query([]),
        sort: Literal["asc", "desc"] = "asc",
        page_size: int = Query(20, alias="page-size"),
        code: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
        flag: bool = False,
    ):
        return {"q": q, "limit": limit, "tags": tags, "ids": ids, "sort": sort,
                "page_size": page_size, "code": code, "flag": flag}

    @app.get("/required")
    def required(term: str, n: int = Query()):
        return {"term": term, "n": n}

    with TestClient(app) as client:
        assert client.get("/search").json() == {
            "q": None, "limit": 10, "tags": [], "ids": [], "sort": "asc",
            "page_size": 20, "code": None, "flag": False,
        }
        full = client.get("/search?q=x&limit=5&tags=a&tags=b&ids=1&ids=2&sort=desc"
                          "&page-size=3&code=ABC&flag=yes").json()
        assert full == {"q": "x", "limit": 5, "tags": ["a", "b"], "ids": [1, 2], "sort": "desc",
                        "page_size": 3, "code": "ABC", "flag": True}
        errors = errors_of(client.get("/search?limit=0&ids=1&ids=x&sort=up&code=abc&flag=maybe"))
        kinds = {tuple(e["loc"]): e["type"] for e in errors}
        assert kinds == {
            ("query", "limit"): "greater_than_equal",
            ("query", "ids", 1): "int_parsing",
            ("query", "sort"): "literal_error",
            ("query", "code"): "string_pattern_mismatch",
            ("query", "flag"): "bool_parsing",
        }
        missing = errors_of(client.get("/required"))
        assert [(e["type"], e["loc"]) for e in missing] == [
            ("missing", ["query", "term"]), ("missing", ["query", "n"]),
        ]


def test_headers_and_cookies() -> None:
    app = App()

    @app.get("/")
    def index(
        user_agent: str = Header("none"),
        x_count: Annotated[int, Header()] = 0,
        x_tags: list[str] = Header([]),
        session: str | None = Cookie(None),
    ):
        return {"ua": user_agent, "count": x_count, "tags": x_tags, "session": session}

    with TestClient(app) as client:
        body = client.get("/", headers={"user-agent": "t/1", "x-count": "3", "x-tags": "a"},
                          cookies={"session": "s1"}).json()
        assert body == {"ua": "t/1", "count": 3, "tags": ["a"], "session": "s1"}
        assert errors_of(client.get("/", headers={"x-count": "many"}))[0]["loc"] == ["header", "x-count"]


def test_pydantic_body_seed_004_with_guard_and_cache(live: Callable[..., LiveServer]) -> None:
    from cello import cache
    from cello.guards import RoleGuard

    class FakeDb:
        def __init__(self) -> None:
            self.rows: list[dict[str, Any]] = []

        async def insert(self, row: dict[str, Any]) -> dict[str, Any]:
            self.rows.append(row)
            return {"id": len(self.rows)}

        async def fetch_all(self, sql: str) -> list[dict[str, Any]]:
            return self.rows

    db = FakeDb()
    app = App()

    def current_user(request):
        role = request.headers.get("x-role")
        if role:
            request.context["user"] = {"name": "u", "roles": [role]}
        return True

    app.add_guard(current_user)

    # Seed 004, unchanged:
    @app.post("/items", guards=[RoleGuard(["editor"])])
    async def create_item(request, item: CreateItem):
        result = await db.insert(item.model_dump())
        return {"id": result["id"], "name": item.name}

    @app.get("/items")
    @cache(ttl=120, tags=["items"])
    async def list_items(request):
        items = await db.fetch_all("SELECT * FROM items")
        return {"items": items}

    server = live(app)
    url = server.url + "/items"
    created = httpx.post(url, json={"name": "pen", "price": 1.5}, headers={"x-role": "editor"})
    assert created.status_code == 200 and created.json() == {"id": 1, "name": "pen"}
    assert httpx.post(url, json={"name": "pen", "price": 1.5}).status_code == 401
    assert httpx.post(url, json={"name": "pen", "price": 1.5}, headers={"x-role": "viewer"}).status_code == 403
    invalid = httpx.post(url, json={"name": "pen", "price": "cheap"}, headers={"x-role": "editor"})
    assert errors_of(invalid)[0]["loc"] == ["body", "price"]
    assert errors_of(httpx.post(url, content=b"{", headers={"x-role": "editor"}))[0]["type"] == "json_invalid"
    assert errors_of(httpx.post(url, headers={"x-role": "editor"}))[0] == {
        "type": "missing", "loc": ["body"], "msg": "Field required", "input": None,
    }
    listed = httpx.get(url)
    assert listed.json() == {"items": [{"name": "pen", "price": 1.5}]}
    assert listed.headers["x-cache-tags"] == "items"


def test_custom_validators_are_422_whatever_they_raise() -> None:
    app = App()

    @app.post("/")
    def create(body: Strict):
        return {"name": body.name}

    with TestClient(app) as client:
        assert client.post("/", json={"name": "ada"}).json() == {"name": "ada"}
        reserved = errors_of(client.post("/", json={"name": "admin"}))[0]
        assert reserved["type"] == "value_error" and "reserved name" in reserved["msg"]
        bug = errors_of(client.post("/", json={"name": "boom"}))[0]
        assert bug["loc"][0] == "body" and "a validator bug" in bug["msg"]


def test_msgspec_dataclass_and_typeddict_bodies() -> None:
    app = App()

    @app.post("/struct")
    def struct(item: StructItem):
        return {"name": item.name, "tags": item.tags}

    @app.post("/point")
    def point(p: Point):
        return {"sum": p.x + p.y}

    @app.post("/movie")
    def movie(m: Movie):
        return {"title": m["title"], "year": m["year"]}

    with TestClient(app) as client:
        assert client.post("/struct", json={"name": "a", "tags": ["x"]}).json() == {"name": "a", "tags": ["x"]}
        wrong = errors_of(client.post("/struct", json={"name": 1}))[0]
        assert wrong["loc"] == ["body", "name"] and wrong["type"] == "type_error"
        assert errors_of(client.post("/struct", json={}))[0] == {
            "type": "missing", "loc": ["body", "name"], "msg": "Field required",
        }
        assert errors_of(client.post("/struct", content=b"{\"name\": \"a\""))[0]["type"] == "json_invalid"
        assert client.post("/point", json={"x": 1, "y": 2}).json() == {"sum": 3}
        assert errors_of(client.post("/point", json={"x": 1}))[0]["loc"] == ["body", "y"]
        assert client.post("/movie", json={"title": "M", "year": 1927}).json() == {"title": "M", "year": 1927}
        assert errors_of(client.post("/movie", json={"title": "M", "year": "old"}))[0]["loc"] == ["body", "year"]


def test_embedded_and_multiple_body_parameters() -> None:
    app = App()

    @app.post("/two")
    def two(item: CreateItem, point: Point, note: str = Body("none")):
        return {"item": item.name, "x": point.x, "note": note}

    @app.post("/embed")
    def embed(item: CreateItem = Body(embed=True)):
        return {"item": item.name}

    with TestClient(app) as client:
        ok = client.post("/two", json={"item": {"name": "a", "price": 1}, "point": {"x": 1, "y": 2}})
        assert ok.json() == {"item": "a", "x": 1, "note": "none"}
        errors = errors_of(client.post("/two", json={"item": {"name": "a"}}))
        assert {tuple(e["loc"]) for e in errors} == {("body", "item", "price"), ("body", "point")}
        assert errors_of(client.post("/two", json=[1]))[0]["type"] == "model_attributes_type"
        assert client.post("/embed", json={"item": {"name": "b", "price": 2}}).json() == {"item": "b"}


def test_the_original_body_option() -> None:
    app = App()

    @app.post("/typed", body=CreateItem)
    def typed(request, item: CreateItem):
        return {"name": item.name}

    @app.post("/named", body=CreateItem)
    def named(request, body):
        return {"price": body.price}

    @app.post("/checked", body=CreateItem)
    def checked(request):
        return {"raw": request.json()["name"]}

    with TestClient(app) as client:
        assert client.post("/typed", json={"name": "a", "price": 1}).json() == {"name": "a"}
        assert client.post("/named", json={"name": "a", "price": 3}).json() == {"price": 3.0}
        assert client.post("/checked", json={"name": "c", "price": 3}).json() == {"raw": "c"}
        assert client.post("/checked", json={"name": "c"}).status_code == 422


def test_form_fields_and_uploaded_files(live: Callable[..., LiveServer]) -> None:
    app = App()

    @app.post("/form")
    async def form(name: str = Form(), age: int = Form(), tags: list[str] = Form([])):
        return {"name": name, "age": age, "tags": tags}

    @app.post("/upload")
    async def upload(file: UploadFile, note: str = Form("")):
        return {"filename": file.filename, "size": file.size, "content": (await file.read()).decode(),
                "note": note}

    @app.post("/bytes")
    async def raw(data: bytes = File(), more: list[UploadFile] = File([])):
        return {"data": data.decode(), "more": [f.filename for f in more]}

    server = live(app)
    ok = httpx.post(server.url + "/form", data={"name": "ada", "age": "36", "tags": ["a", "b"]})
    assert ok.json() == {"name": "ada", "age": 36, "tags": ["a", "b"]}
    bad = errors_of(httpx.post(server.url + "/form", data={"name": "ada", "age": "old"}))
    assert bad[0]["loc"] == ["form", "age"]
    assert errors_of(httpx.post(server.url + "/form", data={"age": "1"}))[0]["loc"] == ["form", "name"]

    files = {"file": ("a.txt", b"hello", "text/plain")}
    uploaded = httpx.post(server.url + "/upload", files=files, data={"note": "n"})
    assert uploaded.json() == {"filename": "a.txt", "size": 5, "content": "hello", "note": "n"}
    assert errors_of(httpx.post(server.url + "/upload", data={"note": "n"}))[0]["loc"] == ["file", "file"]
    assert errors_of(httpx.post(server.url + "/upload", data={"file": "text"}))[0]["type"] == "value_error"
    several = [("data", ("d.bin", b"raw", "application/octet-stream")),
               ("more", ("1.txt", b"1", "text/plain")), ("more", ("2.txt", b"2", "text/plain"))]
    assert httpx.post(server.url + "/bytes", files=several).json() == {"data": "raw", "more": ["1.txt", "2.txt"]}


def test_response_model_filters_and_status_code() -> None:
    app = App()

    @app.get("/user", response_model=PublicUser)
    def user():
        return PrivateUser(name="ada", password="secret")

    @app.get("/dict", response_model=PublicUser)
    def as_dict():
        return {"name": "bob", "password": "secret"}

    @app.get("/users", response_model=list[PublicUser])
    def users():
        return [{"name": "a", "password": "x"}, PrivateUser(name="b", password="y")]

    @app.post("/created", status_code=201)
    def created():
        return {"created": True}

    @app.delete("/gone", status_code=204)
    def gone():
        return None

    @app.get("/passthrough", response_model=PublicUser)
    def passthrough():
        return Response.text("as is", status=202)

    with TestClient(app) as client:
        assert client.get("/user").json() == {"name": "ada"}
        assert client.get("/dict").json() == {"name": "bob"}
        assert client.get("/users").json() == [{"name": "a"}, {"name": "b"}]
        created = client.post("/created")
        assert created.status_code == 201 and created.json() == {"created": True}
        gone = client.delete("/gone")
        assert gone.status_code == 204 and gone.content == b""
        passthrough = client.get("/passthrough")
        assert passthrough.status_code == 202 and passthrough.text == "as is"


def test_returning_models_serialises_them() -> None:
    app = App()

    @app.get("/model/{name}")
    def model(name: str):
        return CreateItem(name=name, price=1)

    with TestClient(app) as client:
        assert client.get("/model/x").json() == {"name": "x", "price": 1.0}


def test_validation_errors_can_be_handled_by_the_app() -> None:
    app = App()

    @app.exception_handler(RequestValidationError)
    def handle(request, exc):
        return Response.json({"detail": exc.errors()}, status=400)

    @app.get("/{n}")
    def index(n: int):
        return {"n": n}

    with TestClient(app) as client:
        response = client.get("/x")
        assert response.status_code == 400
        assert response.json()["detail"][0]["loc"] == ["path", "n"]


def test_registration_errors_name_the_problem() -> None:
    app = App()
    with pytest.raises(TypeError, match="not in the route's path"):

        @app.get("/items")
        def missing_path(item_id: int = Path()):
            return {}

    with pytest.raises(TypeError, match="either a JSON body or form fields"):

        @app.post("/mixed")
        async def mixed(item: CreateItem, name: str = Form()):
            return {}

    with pytest.raises(TypeError, match="positional-only"):

        @app.get("/pos/{n}")
        def positional(n: int, /):
            return {}


def test_hostile_values_never_500() -> None:
    app = App()

    @app.post("/{n}")
    def index(n: int, q: list[float] = Query([]), item: CreateItem | None = None):
        return {"n": n}

    with TestClient(app) as client:
        for path, body in [
            ("/9" * 1, b"\xff\xfe"), ("/1e309", b"{}"), ("/%00", b"null"), ("/1?q=inf", b""),
            ("/1?q=1&q=--", b'{"name": {"$gt": ""}}'), ("/" + "9" * 5000, b"[]"),
        ]:
            response = client.post(path, content=body)
            assert response.status_code in (200, 422), (path, body, response.status_code, response.text)
