"""The GraphiQL page of ``GraphQLConfig(playground=True)``, served with its JavaScript and
CSS by the app itself.

The files come from the ``graphene-django-graphiql-static`` package (in the
``cello[graphql]`` extra; it needs no Django to be read): GraphiQL 2.1, React 17 and the
``graphql-ws`` client, so subscriptions run from the page over the WebSocket endpoint.
Nothing is loaded from a CDN, and the page carries a Content-Security-Policy that forbids it.
"""

from __future__ import annotations

import functools
import html
import importlib.util
from pathlib import Path

from cello.responses import Response

__all__ = ["ASSETS", "INSTALL_HINT", "asset", "find_assets", "page", "wants_page"]

INSTALL_HINT = (
    "pip install 'cello[graphql]' (it installs graphene-django-graphiql-static==0.8, "
    "which carries GraphiQL's files)"
)
#: The files the page loads, in order (each is served at ``{path}/graphiql/{name}``).
ASSETS = ("graphiql.min.css", "react.production.min.js", "react-dom.production.min.js", "graphiql.min.js", "graphql-ws.min.js")
_INIT = "cello-graphiql.js"
_MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}

# Reads the endpoint from the page (no inline script: the CSP allows 'self' only) and
# renders GraphiQL with a fetcher for HTTP and graphql-ws for subscriptions.
_INIT_SCRIPT = b"""(function () {
  var root = document.getElementById("graphiql");
  var endpoint = root.getAttribute("data-endpoint");
  var socket = location.origin.replace(/^http/, "ws") + endpoint;
  var fetcher = GraphiQL.createFetcher({ url: endpoint, wsClient: graphqlWs.createClient({ url: socket, lazy: true }) });
  ReactDOM.render(React.createElement(GraphiQL, { fetcher: fetcher }), root);
})();
"""

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self' ws: wss:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)


def find_assets() -> Path | None:
    """The folder of GraphiQL's files, or ``None`` when the package is not installed."""
    spec = importlib.util.find_spec("graphene_django_graphiql_static")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "static" / "graphene_django_graphiql_static"
    return folder if all((folder / name).is_file() for name in ASSETS) else None


def wants_page(method: str, accept: str | None, query_string: str) -> bool:
    """A browser's GET: ``Accept: text/html`` and no ``query`` parameter."""
    if method != "GET" or "text/html" not in (accept or "").lower():
        return False
    return not any(part.split("=", 1)[0] == "query" for part in query_string.split("&"))


def page(path: str) -> Response:
    """The page, or a 503 saying what to install when the files are missing."""
    if find_assets() is None:
        response = Response.json({"type": "about:blank", "title": "Service Unavailable", "status": 503, "detail": f"the GraphiQL page cannot be shown: its files are not installed. {INSTALL_HINT}."}, status=503)
        response.headers["content-type"] = "application/problem+json"
        return response
    base = html.escape(path.rstrip("/") + "/graphiql")
    styles = "".join(f'<link rel="stylesheet" href="{base}/{name}">\n' for name in ASSETS if name.endswith(".css"))
    scripts = "".join(f'<script src="{base}/{name}"></script>\n' for name in (*ASSETS, _INIT) if name.endswith(".js"))
    body = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>GraphiQL</title>
{styles}<style>html, body, #graphiql {{ height: 100%; margin: 0; }}</style>
</head>
<body>
<div id="graphiql" data-endpoint="{html.escape(path)}">Loading GraphiQL…</div>
{scripts}</body>
</html>
"""
    response = Response(body, content_type="text/html; charset=utf-8")
    response.headers["content-security-policy"] = CONTENT_SECURITY_POLICY
    return response


def asset(name: str) -> Response:
    """One of the page's files (404 for any other name)."""
    if name == _INIT:
        return _file_response(_INIT_SCRIPT, name)
    folder = find_assets()
    if name not in ASSETS or folder is None:
        return Response.json({"type": "about:blank", "title": "Not Found", "status": 404}, status=404)
    return _file_response(_read(folder / name), name)


@functools.cache
def _read(path: Path) -> bytes:
    return path.read_bytes()


def _file_response(body: bytes, name: str) -> Response:
    response = Response(body, content_type=_MEDIA_TYPES[Path(name).suffix])
    response.headers["cache-control"] = "public, max-age=86400"
    return response
