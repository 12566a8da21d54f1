"""What a scenario is, the checks scenarios share, and the loader of benches/scenarios/.

A scenario is one file, ``benches/scenarios/<name>.py``, that defines ``SCENARIO``. The
loader imports every such file, so a new scenario plugs in without touching the harness
unless it needs a new kind of load client (see ``Scenario.client``).
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from .paths import SCENARIOS_DIR

__all__ = [
    "Check",
    "Client",
    "Response",
    "Scenario",
    "expect_json",
    "expect_json_echo",
    "expect_text",
    "load_scenarios",
]


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    """Lower-cased header names."""
    body: bytes


Check = Callable[["Scenario", Response], "str | None"]
"""Returns None when the response is right, else what is wrong with it."""

Client = Literal["wrk", "idle-connections"]


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    description: str
    path: str
    check: Check
    method: str = "GET"
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    client: Client = "wrk"
    """Which load client runs it: ``wrk`` for throughput, ``idle-connections`` for memory."""
    pipeline_depth: int = 1
    """Requests written back to back per connection before reading (wrk Lua script)."""
    idle_connections: int = 0
    """For the idle-connections client: how many keep-alive connections to hold open."""
    wrk_lua: str = ""
    """Extra Lua for wrk (request generation); the harness adds its own ``done()`` hook."""
    order: int = 100
    """Position in reports and runs (ties sorted by name); new scenarios can leave it."""
    database: bool = False
    """Needs the TechEmpower tables in PostgreSQL: the harness fills them first
    (harness/database.py) and starts their servers with ``CELLO_BENCH_DB_URL`` set."""
    before_check: Callable[[], None] | None = None
    """Called just before the check's request (the updates check snapshots the table)."""


def _content_type_is(response: Response, prefix: str) -> str | None:
    got = response.headers.get("content-type", "")
    if got.lower().startswith(prefix):
        return None
    return f"content-type {got!r}, expected {prefix}"


def expect_json(expected: object, status: int = 200) -> Check:
    def check(_scenario: Scenario, response: Response) -> str | None:
        if response.status != status:
            return f"status {response.status}, expected {status}: {response.body[:120]!r}"
        try:
            got = json.loads(response.body)
        except ValueError:
            return f"body is not JSON: {response.body[:120]!r}"
        if got != expected:
            return f"body {got!r:.160}, expected {expected!r:.160}"
        return _content_type_is(response, "application/json")

    return check


def expect_json_echo(status: int = 200) -> Check:
    """The response body must parse to the same JSON value as the request body."""

    def check(scenario: Scenario, response: Response) -> str | None:
        return expect_json(json.loads(scenario.body), status)(scenario, response)

    return check


def expect_text(expected: str, status: int = 200) -> Check:
    def check(_scenario: Scenario, response: Response) -> str | None:
        if response.status != status:
            return f"status {response.status}, expected {status}: {response.body[:120]!r}"
        if response.body != expected.encode():
            return f"body {response.body[:120]!r}, expected {expected!r}"
        return _content_type_is(response, "text/plain")

    return check


def load_scenarios(directory: Path = SCENARIOS_DIR) -> dict[str, Scenario]:
    """Every ``SCENARIO`` under ``directory``, by name, in ``order`` then name order."""
    found: dict[str, Scenario] = {}
    for path in sorted(directory.glob("*.py")):
        if path.name.startswith("_"):
            continue
        # A private module name: scenario files named like stdlib modules (json.py) must
        # not shadow or be shadowed by them.
        spec = importlib.util.spec_from_file_location(f"_cello_bench_scenario_{path.stem}", path)
        if spec is None or spec.loader is None:
            continue
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        scenario = getattr(module, "SCENARIO", None)
        if not isinstance(scenario, Scenario):
            raise TypeError(f"{path} defines no SCENARIO = Scenario(...)")
        if scenario.name != path.stem:
            raise ValueError(f"{path}: SCENARIO.name {scenario.name!r} must match the file name")
        found[scenario.name] = scenario
    return dict(sorted(found.items(), key=lambda item: (item[1].order, item[0])))
