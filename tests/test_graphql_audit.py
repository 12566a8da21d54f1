"""The GraphQL-over-HTTP audit of the `graphql-http` npm package (its `auditServer`)
against a real server: every MUST passes. The package is installed once into
``$HOME/.cache/cello-graphql-audit`` with the machine's npm."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cello import App, GraphQLConfig, features
from cello.graphql import Query, Schema

pytestmark = pytest.mark.skipif("graphql" not in features(), reason="needs a build with the graphql feature (make test builds it)")
MODULES = Path.home() / ".cache" / "cello-graphql-audit"
SCRIPT = Path(__file__).parent / "support" / "graphql_audit.mjs"


def audit_modules() -> Path:
    if not (MODULES / "node_modules" / "graphql-http").is_dir():
        npm = shutil.which("npm")
        assert npm is not None, "the audit needs Node.js and npm on PATH (apt-get install nodejs npm)"
        MODULES.mkdir(parents=True, exist_ok=True)
        subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(MODULES), "graphql-http@1", "graphql@16"], check=True, timeout=600)
    return MODULES / "node_modules"


@Query
def hello(name: str = "world") -> str:
    return f"hello {name}"


def test_every_must_of_the_graphql_over_http_audit_passes(live: Any) -> None:
    modules = audit_modules()
    app = App()
    # introspection on: the audit queries `__type` to check variables
    app.enable_graphql(GraphQLConfig(path="/graphql", introspection=True), schema=Schema().query(hello))
    server = live(app)
    node = shutil.which("node")
    assert node is not None
    run = subprocess.run([node, str(SCRIPT), str(modules), server.url + "/graphql"], capture_output=True, text=True, timeout=300, check=True)
    results = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    assert len(results) > 30, run.stdout + run.stderr
    failed = [r for r in results if r["status"] == "error"]
    assert failed == [], json.dumps(failed, indent=1)
