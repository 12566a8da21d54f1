"""Installing Cello from source as a new user would (issue #9): a copy of this checkout
laid out like a fresh clone (tracked and unignored files only: no vendor/, no .venv),
new virtualenvs, and pip, build and maturin from PyPI through the in-tree backend.

- ``pip install CLONE`` then ``python examples/hello.py`` serves over a real socket;
- ``python -m build -C features=`` makes an sdist and, from it, a slim wheel without
  ``http3``: it imports, serves, reports ``cello.features()`` without it, and
  ``app.run(http3=True)`` raises `MissingFeatureError` naming the feature and the command;
- ``pip install`` of that sdist in another fresh virtualenv builds the default features.

Each build compiles the workspace crates again (new paths), with the ``testing`` profile
and the shared cargo target directory, so crates.io dependencies are reused. The three
builds took 5 minutes 46 seconds on two cores shared with other builds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.processes import ServerProcess

REPO = Path(__file__).resolve().parent.parent
BUILD_TIMEOUT = 1500


def _run(args: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        args,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, f"{' '.join(args)} failed\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _build_env() -> dict[str, str]:
    # Neither the test run's own virtualenv nor build options set outside may leak in.
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("VIRTUAL_ENV", "CELLO_FEATURES", "MATURIN_PEP517_ARGS", "PYTHONPATH")
    }
    env.setdefault("CARGO_TARGET_DIR", str(Path.home() / ".cache" / "cello-target"))
    env["CELLO_BUILD_PROFILE"] = "testing"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _venv(path: Path) -> Path:
    _run([sys.executable, "-m", "venv", str(path)])
    return path / "bin" / "python"


def _pip_install(python: Path, *args: str) -> None:
    _run([str(python), "-m", "pip", "install", "-q", *args], env=_build_env())


def _serves_hello(python: Path, cwd: Path) -> None:
    server = ServerProcess(
        [str(python), "examples/hello.py", "--host", "127.0.0.1", "--port", "0"], cwd=cwd
    )
    try:
        port, _ = server.wait_ready()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/users/7", timeout=10) as response:
            assert response.status == 200
            assert json.loads(response.read()) == {"id": "7", "name": "Alice"}
    finally:
        server.kill()


def _features(python: Path) -> list[str]:
    out = _run([str(python), "-c", "import cello, json; print(json.dumps(cello.features()))"])
    return list(json.loads(out))


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """This checkout's files as a fresh clone has them (committed or not, never ignored)."""
    listed = _run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO)
    dest = tmp_path_factory.mktemp("clone") / "cello"
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    assert not (dest / "vendor").exists()
    yield dest


@pytest.mark.timeout(BUILD_TIMEOUT)
def test_pip_install_from_a_fresh_clone_serves(clone: Path, tmp_path: Path) -> None:
    python = _venv(tmp_path / "venv")
    _pip_install(python, str(clone))
    assert "http3" in _features(python)
    _serves_hello(python, clone)


@pytest.mark.timeout(2 * BUILD_TIMEOUT)
def test_sdist_and_slim_wheel_then_pip_install_of_the_sdist(clone: Path, tmp_path: Path) -> None:
    tools = _venv(tmp_path / "tools")
    _pip_install(tools, "build")
    dist = tmp_path / "dist"
    # An sdist, then a wheel built from that sdist (what `python -m build` does), slim:
    # `-C features=` (empty) leaves every optional cargo feature out.
    _run(
        [str(tools), "-m", "build", "-C", "features=", "--outdir", str(dist), str(clone)],
        env=_build_env(),
    )
    (sdist,) = dist.glob("cello-*.tar.gz")
    (wheel,) = dist.glob("cello-*.whl")
    listing = _run(["tar", "tzf", str(sdist)])
    assert "/build_backend/vendor_patched.py" in listing and "/patches/" in listing
    assert "/vendor/" not in listing

    slim = _venv(tmp_path / "slim")
    _pip_install(slim, str(wheel))
    features = _features(slim)
    assert "http3" not in features and "http1" in features, features
    _serves_hello(slim, clone)
    refused = subprocess.run(
        [str(slim), "-c", "from cello import App; App().run(http3=True)"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode != 0
    assert "MissingFeatureError" in refused.stderr, refused.stderr
    assert (
        "`http3` feature" in refused.stderr and "CELLO_FEATURES=http3 pip install" in refused.stderr
    )

    fresh = _venv(tmp_path / "from-sdist")
    _pip_install(fresh, str(sdist))
    assert "http3" in _features(fresh)
    _serves_hello(fresh, clone)
