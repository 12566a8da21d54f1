"""The GraphiQL page of ``GraphQLConfig(playground=True)``: served with its files by the
app (no CDN), rendered by headless Chromium, which fetches the schema from the endpoint."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from cello import App, GraphQLConfig, features
from cello.graphql import Query, Schema, graphiql
from test_openapi import render, same_origin_only

pytestmark = pytest.mark.skipif("graphql" not in features(), reason="needs a build with the graphql feature (make test builds it)")
HTML = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@Query
def hello(name: str = "world") -> str:
    return f"hello {name}"


def app_with_page(seen: list[bytes] | None = None, playground: bool = True) -> App:
    lock = threading.Lock()

    def context(request: Any) -> dict[str, Any]:
        if seen is not None and request.method == "POST":
            with lock:
                seen.append(request.body())
        return {}

    app = App()
    app.enable_graphql(GraphQLConfig(path="/graphql", playground=playground, introspection=True), schema=Schema().query(hello), context=context)
    return app


def test_a_browser_get_is_the_page_and_everything_else_is_graphql(live: Any) -> None:
    assert graphiql.find_assets() is not None, graphiql.INSTALL_HINT
    url = live(app_with_page()).url + "/graphql"
    page = httpx.get(url, headers=HTML)
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    same_origin_only(page.text)
    for name in re.findall(r'(?:src|href)="([^"]+)"', page.text):
        asset = httpx.get(live_base(url) + name)
        assert asset.status_code == 200, name
        assert asset.headers["content-type"].startswith(("text/javascript", "text/css")), name
    # a query from a browser, or any client that is not asking for HTML, is GraphQL
    assert httpx.get(url, params={"query": "{ hello }"}, headers=HTML).json() == {"data": {"hello": "hello world"}}
    assert httpx.get(url, params={"query": "{ hello }"}).json() == {"data": {"hello": "hello world"}}
    assert httpx.get(url + "/graphiql/secret.py").status_code == 404


def live_base(url: str) -> str:
    return url.removesuffix("/graphql")


def test_no_page_without_playground(live: Any) -> None:
    url = live(app_with_page(playground=False)).url + "/graphql"
    assert "html" not in httpx.get(url, headers=HTML).headers["content-type"]
    assert httpx.get(url + "/graphiql/graphiql.min.js").status_code == 404


@pytest.mark.timeout(120)
def test_graphiql_renders_offline_and_reads_the_schema(live: Any, tmp_path: Path) -> None:
    seen: list[bytes] = []
    url = live(app_with_page(seen)).url + "/graphql"
    dom, violations = render(url, tmp_path)
    assert violations == []
    assert "graphiql-container" in dom
    assert "Loading GraphiQL" not in dom
    assert any(b"__schema" in body for body in seen), seen
