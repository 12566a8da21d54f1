"""The OpenAPI 3.1 document, Swagger UI and ReDoc (docs/openapi.md).

The example app's document is checked by openapi-spec-validator and by schemathesis
against the app on a real socket; the pages are rendered by headless Chromium with
every host but 127.0.0.1 unresolvable; the rest builds small apps inline.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import logging
import re
import runpy
import shutil
import subprocess
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import httpx
import msgspec
import pytest
from cello import (
    App,
    Blueprint,
    Body,
    Cookie,
    File,
    Form,
    Header,
    JwtConfig,
    Query,
    Request,
    UploadFile,
)
from cello.openapi import schemas as openapi_schemas
from cello.testing import LiveServer, TestClient
from pydantic import BaseModel, Field

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "openapi_app.py"
SECRET = "a-secret-of-at-least-thirty-two-bytes!"


def example_app() -> App:
    """A fresh copy of examples/openapi_app.py (its item store starts empty)."""
    app = runpy.run_path(str(EXAMPLE), run_name="openapi_example")["app"]
    assert isinstance(app, App)
    return app


def document(app: App) -> dict[str, Any]:
    with TestClient(app) as client:
        response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    result: dict[str, Any] = response.json()
    return result


class Item(BaseModel):
    name: str = Field(max_length=20)
    price: float = Field(ge=0)


class Secret(BaseModel):
    name: str


class Point(msgspec.Struct):
    x: int
    y: int


class Color(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Pair:
    left: int
    right: Color | None = None


class Named(typing.TypedDict):
    name: str


# --- the example app: a valid document, and the server keeps to it -----------------


def test_example_document_validates_as_openapi_3_1(live: Callable[..., LiveServer]) -> None:
    from openapi_spec_validator import validate

    server = live(example_app())
    served = httpx.get(server.url + "/openapi.json")
    assert served.headers["content-type"] == "application/json"
    spec = served.json()
    validate(spec)  # picks the 3.1 validator from the "openapi" field
    assert spec["openapi"] == "3.1.0"
    assert spec["info"]["title"] == "Shop API"
    assert set(spec["paths"]) == {"/items", "/items/{item_id}", "/items/search", "/health"}
    assert httpx.get(server.url + "/openapi.json").content == served.content  # made once, kept


def fuzz(operation: Any, mode: Any, checks: list[Any], base_url: str) -> None:
    """Sends `operation` a fixed number of generated cases from a fixed seed (the same
    requests on any machine) and runs `checks` on each answer."""
    from hypothesis import HealthCheck, Phase, given, settings

    @settings(
        max_examples=15,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: Any) -> None:
        case.call_and_validate(base_url=base_url, checks=checks)

    check()


@pytest.mark.timeout(120)
def test_schemathesis_finds_the_example_keeps_to_its_document(live: Callable[..., LiveServer]) -> None:
    """Positive cases (valid data: no 5xx, every status, media type and body as
    documented) and negative ones (invalid data must be refused with a 4xx)."""
    import schemathesis
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi import checks

    server = live(example_app())
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    conformance = [
        not_a_server_error,
        checks.status_code_conformance,
        checks.content_type_conformance,
        checks.response_schema_conformance,
        checks.response_headers_conformance,
    ]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 6
    tried: list[str] = []
    for operation in operations:
        modes = [(GenerationMode.POSITIVE, conformance)]
        if operation.path_parameters or operation.query or operation.headers or operation.body:
            modes.append((GenerationMode.NEGATIVE, [*conformance, checks.negative_data_rejection]))
        for mode, chosen in modes:
            fuzz(operation, mode, chosen, server.url)
            tried.append(f"{mode.value} {operation.label}")
    assert "negative POST /items" in tried and "positive GET /health" in tried


# --- the pages, rendered offline ---------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Redocly's attribution logo is an <img> from its CDN, hidden by ReDoc when it fails to
# load; the page's CSP blocks it before any request is made.
ALLOWED_VIOLATIONS = ("https://cdn.redoc.ly/redoc/logo-mini.svg",)


def render(url: str, profile: Path) -> tuple[str, list[str]]:
    """The DOM once the page settled, and its Content-Security-Policy violations."""
    if CHROMIUM is None:
        pytest.skip(
            "HEADLESS CHROMIUM IS MISSING: install the Debian package `chromium` "
            "(apt-get install -y chromium) to render /docs and /redoc"
        )
    completed = subprocess.run(
        [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            f"--user-data-dir={profile}",
            # Any host but the test server fails to resolve: nothing can be fetched elsewhere.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            # Virtual time: the page gets 15 s of its own clock however slow the machine.
            "--virtual-time-budget=15000",
            "--enable-logging=stderr", "--v=0",
            "--dump-dom", url,
        ],
        capture_output=True, text=True, timeout=100, check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    violations = [
        line for line in completed.stderr.splitlines() if "Content Security Policy" in line
    ]
    return completed.stdout, violations


def same_origin_only(page: str) -> None:
    references = re.findall(r'(?:src|href|spec-url)="([^"]*)"', page)
    assert references
    assert all(ref.startswith("/") and not ref.startswith("//") for ref in references), references


@pytest.mark.timeout(120)
def test_swagger_ui_renders_offline(live: Callable[..., LiveServer], tmp_path: Path) -> None:
    server = live(example_app())
    page = httpx.get(server.url + "/docs")
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    same_origin_only(page.text)
    dom, violations = render(server.url + "/docs", tmp_path)
    assert violations == []
    paths = set(re.findall(r'class="opblock-summary-path[^"]*" data-path="([^"]+)"', dom))
    assert paths == {"/items", "/items/{item_id}", "/items/search", "/health"}
    assert dom.count('class="opblock opblock-') == 6
    assert "Read one item." in dom and "Create an item." in dom
    assert "opblock-deprecated" in dom


@pytest.mark.timeout(120)
def test_redoc_renders_offline(live: Callable[..., LiveServer], tmp_path: Path) -> None:
    server = live(example_app())
    page = httpx.get(server.url + "/redoc")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    same_origin_only(page.text)
    dom, violations = render(server.url + "/redoc", tmp_path)
    assert all(any(url in line for url in ALLOWED_VIOLATIONS) for line in violations), violations
    headings = [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<h2[^>]*>(.*?)</h2>", dom)]
    for summary in ("List items.", "Read one item.", "Create an item.", "Delete an item.", "Whether the service is up."):
        assert summary in headings, headings
    assert "Shop API" in dom


def test_pages_serve_their_files_from_the_app() -> None:
    app = App()
    app.enable_openapi()
    with TestClient(app) as client:
        for path, media_type in (
            ("/docs/swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
            ("/docs/swagger-initializer.js", "text/javascript; charset=utf-8"),
            ("/docs/swagger-ui.css", "text/css; charset=utf-8"),
            ("/docs/favicon-32x32.png", "image/png"),
            ("/redoc/redoc.standalone.js", "text/javascript; charset=utf-8"),
        ):
            response = client.get(path)
            assert response.status_code == 200, path
            assert response.headers["content-type"] == media_type
            assert response.content
        initializer = client.get("/docs/swagger-initializer.js").text
        assert '"url": "/openapi.json"' in initializer and '"validatorUrl": null' in initializer
    assert all(p not in json.dumps(document(app)["paths"]) for p in ("/docs", "/redoc", "/openapi.json"))


def test_missing_assets_answer_503_and_the_document_still_works(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import cello.openapi

    monkeypatch.setattr(cello.openapi, "find_assets", lambda: None)
    app = App()
    with caplog.at_level(logging.WARNING, logger="cello"):
        app.enable_openapi()
    assert "cello[openapi]" in caplog.text
    with TestClient(app) as client:
        for path in ("/docs", "/redoc", "/docs/swagger-ui-bundle.js"):
            response = client.get(path)
            assert response.status_code == 503
            assert response.headers["content-type"] == "application/problem+json"
            assert "pip install 'cello[openapi]'" in response.json()["detail"]
        assert client.get("/openapi.json").status_code == 200


def test_urls_are_configurable_and_none_turns_a_page_off() -> None:
    app = App()
    app.enable_openapi(openapi_url="/api/schema.json", docs_url="/api/docs", redoc_url=None)
    with TestClient(app) as client:
        assert client.get("/api/schema.json").status_code == 200
        assert client.get("/api/docs").status_code == 200
        assert client.get("/api/docs/swagger-ui.css").status_code == 200
        assert '"url": "/api/schema.json"' in client.get("/api/docs/swagger-initializer.js").text
        assert client.get("/redoc").status_code == 404
        assert client.get("/openapi.json").status_code == 404
    with pytest.raises(ValueError, match="already called"):
        app.enable_openapi()
    with pytest.raises(ValueError, match="must be a path"):
        App().enable_openapi(docs_url="docs")


# --- what the document says ----------------------------------------------------------


def test_info_servers_tags_and_operation_texts() -> None:
    app = App()
    app.enable_openapi(
        "Shop", "2.0.0", description="All of it", servers=["https://api.example.com"],
        tags=[{"name": "items", "description": "Items"}], contact={"name": "Ops"},
        license_info={"name": "MIT", "identifier": "MIT"},
    )

    @app.get("/items", tags=["items"])
    def list_items(request: Request) -> dict[str, Any]:
        """List items.

        Newest first.
        """
        return {}

    @app.get("/plain", summary="Given summary", description="Given text", operation_id="plainOp")
    def plain(request: Request) -> dict[str, Any]:
        """Ignored."""
        return {}

    @app.route("/both", methods=["GET", "POST"])
    def both(request: Request) -> dict[str, Any]:
        return {}

    @app.get("/again", name="list_items")
    def again(request: Request) -> dict[str, Any]:
        return {}

    spec = document(app)
    assert spec["info"] == {
        "title": "Shop", "version": "2.0.0", "description": "All of it",
        "contact": {"name": "Ops"}, "license": {"name": "MIT", "identifier": "MIT"},
    }
    assert spec["servers"] == [{"url": "https://api.example.com"}]
    assert spec["tags"] == [{"name": "items", "description": "Items"}]
    listed = spec["paths"]["/items"]["get"]
    assert (listed["tags"], listed["summary"], listed["description"]) == (["items"], "List items.", "Newest first.")
    given = spec["paths"]["/plain"]["get"]
    assert (given["summary"], given["description"], given["operationId"]) == ("Given summary", "Given text", "plainOp")
    assert spec["paths"]["/both"]["get"]["summary"] == "Both"
    ids = [op["operationId"] for ops in spec["paths"].values() for op in ops.values()]
    assert sorted(ids) == ["both_get", "both_post", "list_items", "list_items_2", "plainOp"]
    with TestClient(app) as client:
        policy = client.get("/docs").headers["content-security-policy"]
    assert "connect-src 'self' https://api.example.com;" in policy  # for "Try it out"


def test_deprecated_hidden_and_websocket_routes() -> None:
    app = App()

    @app.get("/old", deprecated=True)
    def old(request: Request) -> dict[str, Any]:
        return {}

    @app.get("/secret", include_in_schema=False)
    def secret(request: Request) -> dict[str, Any]:
        return {}

    @app.get("/search")
    def search(q: str = "", token: Annotated[str, Query(include_in_schema=False)] = "") -> dict[str, Any]:
        return {}

    @app.websocket("/ws")
    async def ws(socket: Any) -> None:
        return None

    spec = app.openapi()
    assert spec["paths"]["/old"]["get"]["deprecated"] is True
    assert set(spec["paths"]) == {"/old", "/search"}
    assert [p["name"] for p in spec["paths"]["/search"]["get"]["parameters"]] == ["q"]


def test_path_patterns_and_their_converters() -> None:
    app = App()

    @app.get("/users/{id:int}/files/{*rest}")
    def file(request: Request) -> dict[str, Any]:
        return {}

    @app.get("/orders/{order_id:uuid}")
    def order(order_id: str) -> dict[str, Any]:
        return {}

    @app.get("/tags/{name}")
    def tag(name: Annotated[str, Query(max_length=8)]) -> dict[str, Any]:
        return {}

    spec = app.openapi()
    parameters = spec["paths"]["/users/{id}/files/{rest}"]["get"]["parameters"]
    assert [(p["name"], p["in"], p["required"]) for p in parameters] == [("id", "path", True), ("rest", "path", True)]
    assert parameters[0]["schema"]["type"] == "integer"
    assert parameters[1]["schema"] == {"type": "string", "minLength": 1}
    assert spec["paths"]["/orders/{order_id}"]["get"]["parameters"][0]["schema"]["format"] == "uuid"
    assert "422" not in spec["paths"]["/users/{id}/files/{rest}"]["get"]["responses"]


def test_parameters_carry_their_constraints_and_texts() -> None:
    app = App()

    @app.get("/search")
    def search(
        q: Annotated[str | None, Query(max_length=50, description="words", examples=["tea"])] = None,
        limit: Annotated[int, Query(ge=1, le=100, deprecated=True)] = 10,
        tags: Annotated[list[str] | None, Query()] = None,
        x_trace: Annotated[str, Header()] = "",
        session: Annotated[str | None, Cookie()] = None,
    ) -> dict[str, Any]:
        return {}

    operation = app.openapi()["paths"]["/search"]["get"]
    by_name = {p["name"]: p for p in operation["parameters"]}
    assert by_name["q"]["in"] == "query" and by_name["q"]["required"] is False
    assert by_name["q"]["description"] == "words"
    assert by_name["q"]["schema"] == {
        "anyOf": [{"type": "string"}, {"type": "null"}], "maxLength": 50, "examples": ["tea"],
    }
    assert by_name["limit"]["deprecated"] is True
    assert by_name["limit"]["schema"] == {
        "type": "integer", "minimum": 1, "maximum": 100, "deprecated": True, "default": 10,
    }
    assert by_name["tags"]["schema"]["anyOf"][0] == {"type": "array", "items": {"type": "string"}}
    assert by_name["x-trace"]["in"] == "header"
    assert by_name["session"]["in"] == "cookie"
    assert operation["responses"]["422"]["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/ValidationProblem"
    }


def test_a_model_used_twice_is_one_shared_component() -> None:
    app = App()
    app.enable_openapi()

    @app.post("/items", status_code=201, response_model=Item)
    def create(item: Item) -> Item:
        return item

    @app.put("/items/{id:int}", response_model=Item, responses={404: {"description": "No such item"}})
    def replace(id: int, item: Item) -> Item:
        return item

    spec = document(app)
    reference = {"$ref": "#/components/schemas/Item"}
    create_op, replace_op = spec["paths"]["/items"]["post"], spec["paths"]["/items/{id}"]["put"]
    for operation, status in ((create_op, "201"), (replace_op, "200")):
        assert operation["requestBody"]["content"]["application/json"]["schema"] == reference
        assert operation["requestBody"]["required"] is True
        assert operation["responses"][status]["content"]["application/json"]["schema"] == reference
        assert "422" in operation["responses"]
        assert operation["responses"]["default"]["content"]["application/problem+json"]["schema"] == {
            "$ref": "#/components/schemas/Problem"
        }
    assert replace_op["responses"]["404"] == {
        "description": "No such item",
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    schemas = spec["components"]["schemas"]
    assert schemas["Item"]["properties"]["name"] == {"maxLength": 20, "title": "Name", "type": "string"}
    assert schemas["Item"]["required"] == ["name", "price"]
    assert set(schemas) == {"Item", "Problem", "ValidationProblem"}
    assert schemas["ValidationProblem"]["properties"]["errors"]["items"]["required"] == ["loc", "msg", "type"]


def test_response_schema_from_response_model_or_return_annotation() -> None:
    app = App()

    @app.get("/model", response_model=Item)
    def model(request: Request) -> dict[str, Any]:
        return {}

    @app.get("/annotated")
    def annotated(request: Request) -> list[Secret]:
        return []

    @app.get("/text")
    def text(request: Request) -> str:
        return ""

    @app.delete("/gone", status_code=204)
    def gone(request: Request) -> None:
        return None

    spec = app.openapi()
    assert spec["paths"]["/model"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Item"
    }
    assert spec["paths"]["/annotated"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "type": "array", "items": {"$ref": "#/components/schemas/Secret"},
    }
    assert spec["paths"]["/text"]["get"]["responses"]["200"]["content"] == {
        "text/plain": {"schema": {"type": "string"}}
    }
    assert spec["paths"]["/gone"]["delete"]["responses"]["204"] == {"description": "No Content"}


def test_request_bodies_json_embedded_form_and_files() -> None:
    app = App()

    @app.post("/embedded")
    def embedded(item: Item, note: Annotated[str, Body(max_length=9)]) -> dict[str, Any]:
        return {}

    @app.post("/point")
    def point(p: Point) -> dict[str, Any]:
        return {}

    @app.post("/login")
    async def login(user: Annotated[str, Form()], password: Annotated[str, Form(min_length=8)]) -> dict[str, Any]:
        return {}

    @app.post("/upload")
    async def upload(title: Annotated[str, Form()], files: Annotated[list[UploadFile], File()]) -> dict[str, Any]:
        return {}

    @app.post("/legacy", body=Item)
    def legacy(request: Request) -> dict[str, Any]:
        return {}

    spec = app.openapi()
    embedded_body = spec["paths"]["/embedded"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert embedded_body == {
        "type": "object",
        "properties": {"item": {"$ref": "#/components/schemas/Item"}, "note": {"type": "string", "maxLength": 9}},
        "required": ["item", "note"],
    }
    assert spec["paths"]["/point"]["post"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Point"
    }
    assert spec["components"]["schemas"]["Point"]["required"] == ["x", "y"]
    form = spec["paths"]["/login"]["post"]["requestBody"]["content"]
    assert list(form) == ["application/x-www-form-urlencoded"]
    assert form["application/x-www-form-urlencoded"]["schema"]["properties"]["password"] == {
        "type": "string", "minLength": 8,
    }
    multipart = spec["paths"]["/upload"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert multipart["properties"]["files"] == {
        "type": "array",
        "items": {"type": "string", "format": "binary", "contentMediaType": "application/octet-stream"},
    }
    assert multipart["required"] == ["title", "files"]
    legacy_body = spec["paths"]["/legacy"]["post"]["requestBody"]
    assert legacy_body["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Item"}


def test_builtin_schemas_without_pydantic_or_msgspec() -> None:
    registry = openapi_schemas.SchemaRegistry()
    assert openapi_schemas.builtin_schema(list[int], registry) == {"type": "array", "items": {"type": "integer"}}
    assert openapi_schemas.builtin_schema(Pair, registry) == {"$ref": "#/components/schemas/Pair"}
    assert openapi_schemas.builtin_schema(Named, registry) == {"$ref": "#/components/schemas/Named"}
    assert registry.components["Pair"] == {
        "title": "Pair", "type": "object", "required": ["left"],
        "properties": {
            "left": {"type": "integer"},
            "right": {"anyOf": [{"$ref": "#/components/schemas/Color"}, {"type": "null"}]},
        },
    }
    assert registry.components["Color"] == {"title": "Color", "enum": ["red"]}


def test_security_schemes_of_the_enabled_authentication() -> None:
    jwt = App()
    jwt.enable_jwt(JwtConfig(secret=SECRET))

    @jwt.get("/me")
    def me(request: Request) -> dict[str, Any]:
        return {}

    spec = jwt.openapi()
    assert spec["components"]["securitySchemes"] == {
        "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    }
    assert spec["security"] == [{"bearerAuth": []}]
    assert "security" not in spec["paths"]["/me"]["get"]
    assert "401" in spec["paths"]["/me"]["get"]["responses"]

    basic = App()
    basic.enable_basic_auth({"ada": "lovelace"})
    assert basic.openapi()["components"]["securitySchemes"] == {"basicAuth": {"type": "http", "scheme": "basic"}}

    keyed = App()
    keyed.enable_api_key(["k1"])
    assert keyed.openapi()["components"]["securitySchemes"] == {
        "apiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    }


def test_skip_paths_and_the_configured_header() -> None:
    jwt = App()
    jwt.enable_jwt(JwtConfig(secret=SECRET), skip_paths=["/login", "/public*"])
    if "_auth_scheme" not in jwt.__dict__:
        pytest.skip("NEEDS the auth registrar to record what it enabled (_auth_scheme), "
                    "see cello/openapi/security.py")

    @jwt.post("/login")
    def login(request: Request) -> dict[str, Any]:
        return {}

    @jwt.get("/publications")
    def publications(request: Request) -> dict[str, Any]:
        return {}

    @jwt.get("/me")
    def me(request: Request) -> dict[str, Any]:
        return {}

    paths = jwt.openapi()["paths"]
    assert paths["/login"]["post"]["security"] == []
    assert "401" not in paths["/login"]["post"]["responses"]
    assert paths["/publications"]["get"]["security"] == []
    assert "security" not in paths["/me"]["get"]

    keyed = App()
    keyed.enable_api_key(["k1"], header="X-Shop-Key")
    assert keyed.openapi()["components"]["securitySchemes"]["apiKeyAuth"]["name"] == "X-Shop-Key"


def test_blueprint_authentication_guards_and_sessions() -> None:
    app = App()
    app.enable_session()
    admin = Blueprint("/admin")
    admin.enable_basic_auth({"ada": "lovelace"})

    @admin.get("/users")
    def users(request: Request) -> dict[str, Any]:
        return {}

    @app.get("/public", guards=[lambda request: True])
    def public(request: Request) -> dict[str, Any]:
        return {}

    app.register_blueprint(admin)
    spec = app.openapi()
    assert "security" not in spec
    assert spec["components"]["securitySchemes"] == {
        "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "session_id"},
        "basicAuth": {"type": "http", "scheme": "basic"},
    }
    assert spec["paths"]["/admin/users"]["get"]["security"] == [{"basicAuth": []}]
    assert "security" not in spec["paths"]["/public"]["get"]
    assert "403" in spec["paths"]["/public"]["get"]["responses"]
    assert "403" not in spec["paths"]["/admin/users"]["get"]["responses"]
    app.add_guard(lambda request: True)

    @app.get("/late")
    def late(request: Request) -> dict[str, Any]:
        return {}

    assert "403" in app.openapi()["paths"]["/admin/users"]["get"]["responses"]


def test_the_document_follows_routes_added_later_and_can_be_customised() -> None:
    app = App()
    app.enable_openapi()
    with TestClient(app) as client:
        assert client.get("/openapi.json").json()["paths"] == {}

        @app.get("/late")
        def late(request: Request) -> dict[str, Any]:
            return {}

        assert app.openapi() is app.openapi()
        app.openapi()["info"]["x-logo"] = {"url": "/logo.png"}
    with TestClient(app) as client:
        spec = client.get("/openapi.json").json()
    assert "/late" in spec["paths"] and spec["info"]["x-logo"] == {"url": "/logo.png"}
