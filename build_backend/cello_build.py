"""Cello's in-tree PEP 517 build backend: lays out the patched h2 and hyper in ``vendor/``
(``vendor_patched.py``), turns Cello's build options into maturin arguments, then hands
every hook to maturin. This is what makes ``pip install .``, ``pip install git+URL``,
``pip wheel .`` and ``python -m build`` work from a fresh clone or an sdist with nothing
but Python and cargo present (docs/decisions.md, "An in-tree build backend").

Build options, as environment variables or ``--config-settings`` (``-C`` for pip and
``python -m build``) of the same name in lower case without the prefix:

``CELLO_FEATURES`` / ``-C features=...``
    The cargo features of the native module, comma-separated, replacing the defaults.
    Unset: the default set (``http3``). Empty: the slimmest build (no optional
    subsystem). ``full``: everything. ``cello.features()`` reports what a build has.
``CELLO_BUILD_PROFILE`` / ``-C profile=...``
    The cargo profile; default ``release`` (fat LTO). ``testing`` builds in a fraction
    of the time for CI and local checks.

``MATURIN_PEP517_ARGS`` still works and wins over both, for anything else maturin takes.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import maturin

sys.path.insert(0, str(Path(__file__).resolve().parent))
from vendor_patched import VendorError, vendor_all

__all__ = [
    "build_editable",
    "build_sdist",
    "build_wheel",
    "get_requires_for_build_editable",
    "get_requires_for_build_sdist",
    "get_requires_for_build_wheel",
    "prepare_metadata_for_build_wheel",
]


def _option(config_settings: Mapping[str, Any] | None, name: str) -> str | None:
    if config_settings and name in config_settings:
        value = config_settings[name]
        return ",".join(value) if isinstance(value, list) else str(value)
    return os.environ.get(f"CELLO_{name.upper().replace('-', '_')}")


def maturin_args(config_settings: Mapping[str, Any] | None) -> list[str]:
    """The maturin arguments for Cello's build options (empty when none is given)."""
    if os.environ.get("MATURIN_PEP517_ARGS"):
        return shlex.split(os.environ["MATURIN_PEP517_ARGS"])
    args: list[str] = []
    features = _option(config_settings, "features")
    if features is not None:
        names = [name.strip() for name in features.replace(" ", ",").split(",") if name.strip()]
        args.append("--no-default-features")
        if names:
            args += ["--features", ",".join(names)]
    profile = _option(config_settings, "profile")
    if profile and profile != "release":
        args += ["--profile", profile]
    return args


def _prepare(config_settings: Mapping[str, Any] | None) -> dict[str, Any]:
    try:
        vendor_all(Path.cwd())
    except VendorError as error:
        raise SystemExit(f"cello build: {error}") from error
    settings = dict(config_settings or {})
    args = maturin_args(config_settings)
    # maturin reads its arguments from `maturin.build-args` when config_settings has it.
    settings["maturin.build-args"] = args
    if args:
        print(f"cello build: maturin arguments {' '.join(args)}", flush=True)
    return settings


def build_wheel(
    wheel_directory: str,
    config_settings: Mapping[str, Any] | None = None,
    metadata_directory: str | None = None,
) -> str:
    return str(maturin.build_wheel(wheel_directory, _prepare(config_settings), metadata_directory))


def build_editable(
    wheel_directory: str,
    config_settings: Mapping[str, Any] | None = None,
    metadata_directory: str | None = None,
) -> str:
    return str(
        maturin.build_editable(wheel_directory, _prepare(config_settings), metadata_directory)
    )


def build_sdist(sdist_directory: str, config_settings: Mapping[str, Any] | None = None) -> str:
    _prepare(config_settings)
    return str(maturin.build_sdist(sdist_directory, config_settings))


def prepare_metadata_for_build_wheel(
    metadata_directory: str, config_settings: Mapping[str, Any] | None = None
) -> str:
    return str(
        maturin.prepare_metadata_for_build_wheel(metadata_directory, _prepare(config_settings))
    )


get_requires_for_build_wheel = maturin.get_requires_for_build_wheel
get_requires_for_build_editable = maturin.get_requires_for_build_editable
get_requires_for_build_sdist = maturin.get_requires_for_build_sdist
