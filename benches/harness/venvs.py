"""Per-peer virtualenvs under the cache directory, created once and reused between runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .console import Log
from .frameworks import PEER_PYTHON, Venv
from .paths import venvs_dir

__all__ = ["VenvStatus", "distribution_versions", "ensure_venv"]

_STAMP = "cello-bench-stamp.json"
_INSTALL_TIMEOUT_S = 1800


@dataclass(frozen=True)
class VenvStatus:
    name: str
    python: Path | None
    """The venv's interpreter, or None when the install failed."""
    error: str | None = None


def _stamp_for(venv: Venv, base_python: str) -> dict[str, object]:
    return {"python": base_python, "requirements": sorted(venv.requirements)}


def _imports_ok(python: Path, modules: tuple[str, ...]) -> str | None:
    code = "import importlib, sys\nfor m in sys.argv[1:]: importlib.import_module(m)"
    done = subprocess.run(
        [str(python), "-c", code, *modules], capture_output=True, text=True, timeout=120
    )
    if done.returncode == 0:
        return None
    lines = done.stderr.strip().splitlines()
    return lines[-1] if lines else f"import exited with {done.returncode}"


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def _install_system_packages(packages: tuple[str, ...], log: Log) -> None:
    if not packages or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return
    missing = [
        name
        for name in packages
        if subprocess.run(["dpkg", "-s", name], capture_output=True).returncode != 0
    ]
    if missing:
        log(f"[install] apt-get install {' '.join(missing)}")
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, check=False)
        subprocess.run(["apt-get", "install", "-y", "-q", *missing], capture_output=True)


def ensure_venv(venv: Venv, base_python: str = PEER_PYTHON, log: Log = print) -> VenvStatus:
    """Create or reuse ``<cache>/venvs/<name>``; never raises for an install failure."""
    root = venvs_dir() / venv.name
    python = root / "bin" / "python"
    stamp_path = root / _STAMP
    wanted = _stamp_for(venv, base_python)
    _install_system_packages(venv.system_packages, log)

    if python.exists() and stamp_path.exists():
        try:
            current = json.loads(stamp_path.read_text())
        except (OSError, ValueError):
            current = None
        if current == wanted and _imports_ok(python, venv.imports) is None:
            return VenvStatus(venv.name, python)

    if not Path(base_python).exists():
        return VenvStatus(venv.name, None, f"base interpreter {base_python} does not exist")

    log(f"[install] {venv.name}: creating {root} with {' '.join(venv.requirements)}")
    shutil.rmtree(root, ignore_errors=True)
    root.parent.mkdir(parents=True, exist_ok=True)
    install_log = root.parent / f"{venv.name}.install.log"
    steps = [
        [base_python, "-m", "venv", str(root)],
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-U", "pip"],
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", *venv.requirements],
    ]
    with install_log.open("w") as out:
        for step in steps:
            out.write(f"$ {' '.join(step)}\n")
            out.flush()
            try:
                done = subprocess.run(
                    step, stdout=out, stderr=subprocess.STDOUT, timeout=_INSTALL_TIMEOUT_S
                )
            except subprocess.TimeoutExpired:
                return VenvStatus(venv.name, None, f"timed out: {' '.join(step)}")
            if done.returncode != 0:
                detail = _tail(install_log)
                return VenvStatus(
                    venv.name,
                    None,
                    f"`{' '.join(step[2:])}` failed (log: {install_log})\n{detail}",
                )
    broken = _imports_ok(python, venv.imports)
    if broken is not None:
        hint = ""
        if venv.system_packages:
            hint = f" (needs Debian packages: {' '.join(venv.system_packages)})"
        return VenvStatus(venv.name, None, f"installed but does not import{hint}: {broken}")
    stamp_path.write_text(json.dumps(wanted, indent=2))
    log(f"[install] {venv.name}: ready")
    return VenvStatus(venv.name, python)


def distribution_versions(python: Path | str, names: tuple[str, ...]) -> dict[str, str]:
    """Installed versions of ``names`` as seen by ``python`` (missing ones are left out)."""
    code = (
        "import json, sys\n"
        "from importlib import metadata\n"
        "out = {}\n"
        "for n in sys.argv[1:]:\n"
        "    try: out[n] = metadata.version(n)\n"
        "    except metadata.PackageNotFoundError: pass\n"
        "out['python'] = sys.version.split()[0]\n"
        "print(json.dumps(out))\n"
    )
    try:
        done = subprocess.run(
            [str(python), "-c", code, *names], capture_output=True, text=True, timeout=60
        )
        return dict(json.loads(done.stdout))
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return {}


if __name__ == "__main__":  # pragma: no cover - manual use: python -m harness.venvs NAME
    from .frameworks import FRAMEWORKS

    for framework in FRAMEWORKS:
        if framework.venv and (len(sys.argv) < 2 or framework.venv.name in sys.argv[1:]):
            print(ensure_venv(framework.venv))
