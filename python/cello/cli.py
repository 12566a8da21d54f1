"""``cello run module:app [--host --port --env --debug --reload --workers --no-logs
--max-worker-memory]``."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

__all__ = ["load_app", "main"]


def load_app(target: str) -> object:
    """Imports ``module:attribute`` (the current directory is importable)."""
    module_name, _, attribute = target.partition(":")
    attribute = attribute or "app"
    if not module_name:
        raise SystemExit(f"cello: expected module:app, got {target!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise SystemExit(f"cello: cannot import {module_name!r}: {error}") from None
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise SystemExit(f"cello: module {module_name!r} has no attribute {attribute!r}") from None


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``cello`` command."""
    parser = argparse.ArgumentParser(prog="cello", description="Run a Cello application.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="serve module:app")
    run.add_argument("target", help="the application, as module:attribute (e.g. app:app)")
    run.add_argument("--host")
    run.add_argument("--port", type=int)
    run.add_argument("--env", choices=["development", "production"])
    run.add_argument("--debug", action="store_true")
    run.add_argument("--reload", action="store_true")
    run.add_argument("--workers", type=int)
    run.add_argument("--no-logs", action="store_true")
    run.add_argument("--max-worker-memory", help="replace a worker whose RSS stays above this size (512M, 2G)")
    arguments = parser.parse_args(argv)
    app = load_app(arguments.target)
    from cello.app import App

    if not isinstance(app, App):
        raise SystemExit(f"cello: {arguments.target} is a {type(app).__name__}, not a cello.App")
    from cello.server import run_app

    flags = list(sys.argv[1:] if argv is None else argv)
    run_app(app, "127.0.0.1", 8000, None, "development", None, False, None, None, argv=flags)


if __name__ == "__main__":
    main()
