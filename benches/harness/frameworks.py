"""The registry of frameworks the harness knows: how each is installed and started.

A framework is one row of the result tables. Several may share an app file (FastAPI on
Granian and on Uvicorn) or a virtualenv; each virtualenv holds one framework family so a
broken install takes down only its own rows.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

__all__ = [
    "FRAMEWORKS",
    "PEER_PYTHON",
    "Framework",
    "Launcher",
    "Role",
    "Venv",
    "by_name",
]

_PYENV_312 = "/root/.pyenv/versions/3.12.1/bin/python"


def _peer_python() -> str:
    """``$CELLO_BENCH_PYTHON``, else pyenv's 3.12.1, else ``python3.12`` on PATH."""
    configured = os.environ.get("CELLO_BENCH_PYTHON")
    if configured:
        return configured
    if os.path.exists(_PYENV_312):
        return _PYENV_312
    return shutil.which("python3.12") or _PYENV_312


# Every peer runs on the same interpreter so the comparison is like for like. The original
# framework needs Python 3.12+, which fixes the choice.
PEER_PYTHON = _peer_python()

Role = Literal["subject", "original", "peer", "ceiling"]
Launcher = Literal["cello", "python-app", "nginx", "rust-example"]


@dataclass(frozen=True)
class Venv:
    """One virtualenv under the cache, reused while its requirements are unchanged."""

    name: str
    requirements: tuple[str, ...]
    imports: tuple[str, ...]
    """Modules that must import once installed; a failure marks the install as broken."""
    system_packages: tuple[str, ...] = ()
    """Debian packages the wheels load at run time (installed with apt-get when root)."""


@dataclass(frozen=True)
class Framework:
    name: str
    label: str
    role: Role
    launcher: Launcher
    app: str | None = None
    """File under benches/apps/ for the Python launchers."""
    app_args: tuple[str, ...] = ()
    venv: Venv | None = None
    distributions: tuple[str, ...] = ()
    """Distributions whose installed versions the report records."""
    unsupported: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Scenario name -> why this framework cannot serve it (reported as n/a, not failed)."""


# Top-level packages are pinned so two runs months apart compare the same peers; bump them
# deliberately (the report records what was installed).
_GRANIAN = "granian[uvloop]==2.8.7"
# The typed-parameter scenarios validate with Pydantic on every row that runs them.
_PYDANTIC = "pydantic==2.14.4"
# The TechEmpower database scenarios (scenarios/db.py and the three after it): the ASGI
# peers talk to PostgreSQL through asyncpg and render fortunes with Jinja2, as their
# TechEmpower entries do.
_ASYNCPG = "asyncpg==0.32.0"
_JINJA2 = "jinja2==3.1.6"

_ORIGINAL = Venv("cello-original", ("cello-framework==1.4.1", _PYDANTIC), ("cello", "pydantic"))
_ROBYN = Venv("robyn", ("robyn==0.88.0",), ("robyn",))
_GRANIAN_ONLY = Venv("granian", (_GRANIAN,), ("granian", "uvloop"))
_BLACKSHEEP = Venv("blacksheep", ("blacksheep==2.6.4", _GRANIAN), ("blacksheep", "granian"))
_STARLETTE = Venv(
    "starlette",
    ("starlette==1.10.0", _GRANIAN, _ASYNCPG, _JINJA2),
    ("starlette", "granian", "asyncpg", "jinja2"),
)
_FASTAPI = Venv(
    "fastapi",
    ("fastapi==0.165.0", _GRANIAN, "uvicorn[standard]==0.54.0", _ASYNCPG, _JINJA2),
    ("fastapi", "granian", "uvicorn", "uvloop", "httptools", "asyncpg", "jinja2"),
)
_LITESTAR = Venv("litestar", ("litestar==2.25.0", _GRANIAN), ("litestar", "granian"))
# socketify's wheel ships a prebuilt uWebSockets library linked against the system libuv.
_SOCKETIFY = Venv("socketify", ("socketify==0.0.31",), ("socketify",), ("libuv1",))

_DB_ONLY = "the database scenarios are written for Cello, the original, Starlette and FastAPI"
_NO_DB = {name: _DB_ONLY for name in ("db", "queries", "fortunes", "updates")}
_NO_TYPED = MappingProxyType(
    {
        "typed_body": "the typed-parameter scenarios are written for Cello, the original and FastAPI",
        "typed_body_manual": "the typed-parameter scenarios are written for Cello, the original and FastAPI",
        **_NO_DB,
    }
)
_NO_TYPED_BUT_DB = MappingProxyType(
    {name: why for name, why in _NO_TYPED.items() if name not in _NO_DB}
)
_NO_BODY_ECHO = MappingProxyType(
    {
        "echo_1k": "a static nginx config cannot parse and re-encode a request body",
        "echo_64k": "a static nginx config cannot parse and re-encode a request body",
        **_NO_TYPED,
    }
)

FRAMEWORKS: tuple[Framework, ...] = (
    Framework("cello", "Cello", "subject", "cello", app="cello_app.py"),
    Framework(
        "cello-original",
        "cello-framework (original)",
        "original",
        "python-app",
        app="cello_app.py",
        venv=_ORIGINAL,
        distributions=("cello-framework",),
    ),
    Framework(
        "robyn",
        "Robyn",
        "peer",
        "python-app",
        app="robyn_app.py",
        venv=_ROBYN,
        unsupported=_NO_TYPED,
        distributions=("robyn",),
    ),
    Framework(
        "granian-rsgi",
        "Granian (raw RSGI app)",
        "peer",
        "python-app",
        app="granian_rsgi_app.py",
        venv=_GRANIAN_ONLY,
        unsupported=_NO_TYPED,
        distributions=("granian", "uvloop"),
    ),
    Framework(
        "granian-asgi",
        "Granian (raw ASGI app)",
        "peer",
        "python-app",
        app="granian_asgi_app.py",
        venv=_GRANIAN_ONLY,
        unsupported=_NO_TYPED,
        distributions=("granian", "uvloop"),
    ),
    Framework(
        "blacksheep-granian",
        "BlackSheep + Granian",
        "peer",
        "python-app",
        app="blacksheep_app.py",
        venv=_BLACKSHEEP,
        unsupported=_NO_TYPED,
        distributions=("blacksheep", "granian"),
    ),
    Framework(
        "starlette-granian",
        "Starlette + Granian",
        "peer",
        "python-app",
        app="starlette_app.py",
        app_args=("--server", "granian"),
        venv=_STARLETTE,
        unsupported=_NO_TYPED_BUT_DB,
        distributions=("starlette", "granian"),
    ),
    Framework(
        "fastapi-granian",
        "FastAPI + Granian",
        "peer",
        "python-app",
        app="fastapi_app.py",
        app_args=("--server", "granian"),
        venv=_FASTAPI,
        distributions=("fastapi", "pydantic", "granian"),
    ),
    Framework(
        "fastapi-uvicorn",
        "FastAPI + Uvicorn",
        "peer",
        "python-app",
        app="fastapi_app.py",
        app_args=("--server", "uvicorn"),
        venv=_FASTAPI,
        distributions=("fastapi", "pydantic", "uvicorn", "uvloop", "httptools"),
    ),
    Framework(
        "litestar-granian",
        "Litestar + Granian",
        "peer",
        "python-app",
        app="litestar_app.py",
        app_args=("--server", "granian"),
        venv=_LITESTAR,
        unsupported=_NO_TYPED,
        distributions=("litestar", "msgspec", "granian"),
    ),
    Framework(
        "socketify",
        "socketify.py",
        "peer",
        "python-app",
        app="socketify_app.py",
        venv=_SOCKETIFY,
        unsupported=MappingProxyType(_NO_DB),
        distributions=("socketify",),
    ),
    Framework("nginx", "nginx (static ceiling)", "ceiling", "nginx", unsupported=_NO_BODY_ECHO),
    Framework("cello-http", "cello-http pure Rust (ceiling)", "ceiling", "rust-example", unsupported=_NO_TYPED),
)


def by_name(name: str) -> Framework:
    for framework in FRAMEWORKS:
        if framework.name == name:
            return framework
    known = ", ".join(f.name for f in FRAMEWORKS)
    raise KeyError(f"unknown framework {name!r}; known: {known}")
