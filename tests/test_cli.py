"""The ``cello`` command line, ``run()``'s documented option defaults, and ``--reload``,
in real subprocesses (helpers in ``support/processes.py``).
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cello import App
from cello.server import RunOptions, resolve_options
from support.processes import (
    ACCESS_LOG,
    PROCESS_TIMEOUT,
    ServerProcess,
    cli,
    collect_pids,
    get,
    get_pid,
)

# --- the command line -------------------------------------------------------------------


def test_python_m_cello_run_serves(spawn: Callable[..., ServerProcess]) -> None:
    server = spawn(cli())
    port, info = server.wait_ready()
    assert info == "1 worker, development", info
    # One worker: it serves in the process that was started.
    assert get_pid(port) == server.proc.pid
    # Development defaults to debug, and logs follow debug.
    server.wait_for_line("stderr", ACCESS_LOG)


def test_cello_console_script_serves(spawn: Callable[..., ServerProcess]) -> None:
    executable = Path(sys.executable).parent / "cello"
    assert executable.exists(), (
        f"the `cello` console script is not installed next to {sys.executable}"
    )
    server = spawn([str(executable), "run", "tests.apps.workers_app:app", "--port", "0"])
    port, info = server.wait_ready()
    assert info == "1 worker, development", info
    status, headers, body = get(port, "/pid")
    assert status == 200 and headers["content-type"] == "application/json", body


def test_cli_production_with_two_workers(spawn: Callable[..., ServerProcess]) -> None:
    server = spawn(cli("--env", "production", "--workers", "2"))
    port, info = server.wait_ready()
    assert info == "2 workers, production", info
    assert len(collect_pids(port, want=2)) == 2
    # Production: no debug, so a 500 reveals nothing, and no access log by default.
    status, _, body = get(port, "/boom")
    assert status == 500
    assert "boom from the handler" not in body.decode() and "Traceback" not in body.decode()
    assert server.terminate_and_wait() == 0, server.output()
    server.finish_output()
    assert server.stderr_matches(ACCESS_LOG) == [], server.output()


def test_cli_no_logs_silences_the_access_log(spawn: Callable[..., ServerProcess]) -> None:
    server = spawn(cli("--no-logs"))
    port, _ = server.wait_ready()
    for _ in range(3):
        get_pid(port)
    assert server.terminate_and_wait() == 0, server.output()
    server.finish_output()  # everything the server wrote is in now
    assert server.stderr_matches(ACCESS_LOG) == [], server.output()
    assert server.stderr_matches(r'"GET ') == [], server.output()


def test_cli_debug_writes_the_access_log(spawn: Callable[..., ServerProcess]) -> None:
    server = spawn(cli("--env", "production", "--debug"))
    port, info = server.wait_ready()
    # Debug means one worker, even in production.
    assert info == "1 worker, production", info
    for _ in range(3):
        get_pid(port)
    server.wait_for_line("stderr", ACCESS_LOG, skip=2)
    # Debug mode: a 500 shows the traceback.
    status, _, body = get(port, "/boom")
    assert status == 500
    assert "boom from the handler" in json.loads(body)["detail"]
    server.wait_for_line("stderr", r'INFO \S+ "GET /boom" 500 ')


def test_cli_reports_a_bad_target(spawn: Callable[..., ServerProcess]) -> None:
    server = spawn([sys.executable, "-m", "cello", "run", "tests.apps.no_such_module:app"])
    try:
        code = server.proc.wait(PROCESS_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the CLI did not exit\n{server.output()}") from None
    server.finish_output()
    assert code != 0
    assert server.stderr_matches(r"cannot import 'tests\.apps\.no_such_module'"), server.output()


# --- resolve_options: the documented run() defaults -------------------------------------


def resolve(argv: list[str] | None = None, **arguments: Any) -> RunOptions:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": 8000,
        "debug": None,
        "env": "development",
        "workers": None,
        "reload": False,
        "logs": None,
    }
    values.update(arguments)
    return resolve_options(**values, argv=argv or [])


def test_run_signature_defaults_match_the_documentation() -> None:
    parameters = inspect.signature(App.run).parameters
    defaults = {name: p.default for name, p in parameters.items() if name != "self"}
    assert defaults == {
        "host": "127.0.0.1",
        "port": 8000,
        "debug": None,
        "env": "development",
        "workers": None,
        "reload": False,
        "logs": None,
        "config": None,
        "tls": None,
        "http3": False,
    }


def test_resolve_options_development_defaults() -> None:
    assert resolve() == RunOptions(
        host="127.0.0.1",
        port=8000,
        debug=True,
        env="development",
        workers=1,
        reload=False,
        logs=True,
    )


def test_resolve_options_production_defaults() -> None:
    options = resolve(env="production")
    assert options.debug is False
    assert options.workers == (os.cpu_count() or 1)
    assert options.logs is False
    assert (options.host, options.port, options.reload) == ("127.0.0.1", 8000, False)


def test_resolve_options_debug_in_production_means_one_worker_and_logs() -> None:
    options = resolve(env="production", debug=True)
    assert (options.debug, options.workers, options.logs) == (True, 1, True)


def test_resolve_options_explicit_arguments_win_over_defaults() -> None:
    options = resolve(debug=False, workers=3, logs=True, reload=True, host="0.0.0.0", port=0)
    assert options == RunOptions(
        host="0.0.0.0", port=0, debug=False, env="development", workers=3, reload=True, logs=True
    )
    assert resolve(debug=True, logs=False).logs is False
    assert resolve(debug=False).logs is False


def test_resolve_options_command_line_flags_override_arguments() -> None:
    argv = [
        "run",
        "app:app",
        "--host",
        "0.0.0.0",
        "--port",
        "9001",
        "--env",
        "production",
        "--debug",
        "--reload",
        "--workers",
        "3",
        "--no-logs",
    ]
    options = resolve(argv, host="127.0.0.1", port=8000, env="development", workers=1, logs=True)
    assert options == RunOptions(
        host="0.0.0.0", port=9001, debug=True, env="production", workers=3, reload=True, logs=False
    )


def test_resolve_options_partial_flags_keep_the_other_arguments() -> None:
    options = resolve(["--port", "0"], host="127.0.0.2", workers=2, env="production", debug=False)
    assert options == RunOptions(
        host="127.0.0.2", port=0, debug=False, env="production", workers=2, reload=False, logs=False
    )
    assert resolve(["--env", "production"]).workers == (os.cpu_count() or 1)


def test_resolve_options_reads_sys_argv_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["app.py", "--port", "4321", "--no-logs"])
    options = resolve_options("127.0.0.1", 8000, None, "development", None, False, None)
    assert (options.port, options.logs, options.debug) == (4321, False, True)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"env": "staging"}, "env must be"),
        ({"workers": 0}, "workers must be at least 1"),
        ({"port": 70000}, "port must be"),
    ],
)
def test_resolve_options_rejects_bad_values(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resolve(**arguments)


# --- reload -----------------------------------------------------------------------------

RELOAD_APP = """
import os

from cello import App

VERSION = {version}

app = App()


@app.get("/pid")
def pid(request):
    return {{"pid": os.getpid(), "version": VERSION}}


if __name__ == "__main__":
    app.run()
"""


def test_reload_restarts_on_a_python_file_change(
    spawn: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    source = tmp_path / "reload_app.py"
    source.write_text(RELOAD_APP.format(version=1))
    server = spawn([sys.executable, "reload_app.py", "--port", "0", "--reload"], cwd=tmp_path)
    port, _ = server.wait_ready()
    status, _, body = get(port, "/pid")
    first = json.loads(body)
    assert status == 200 and first["version"] == 1
    assert first["pid"] != server.proc.pid, "with --reload the app runs in a child process"
    server.wait_for_line("stderr", r"watching .* for changes")

    source.write_text(RELOAD_APP.format(version=2))
    # Move the mtime well away, whatever the file system's timestamp granularity.
    stamp = source.stat().st_mtime + 10
    os.utime(source, (stamp, stamp))

    server.wait_for_line("stderr", r"change detected; restarting")
    port, _ = server.wait_ready(skip=1)
    status, _, body = get(port, "/pid")
    second = json.loads(body)
    assert status == 200
    assert second["version"] == 2, "the restarted server runs the old code"
    assert second["pid"] != first["pid"], "the server was not restarted"
    assert server.proc.poll() is None, "the reloader itself exited"


def test_reload_notices_a_new_python_file(
    spawn: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    (tmp_path / "reload_app.py").write_text(RELOAD_APP.format(version=7))
    server = spawn([sys.executable, "reload_app.py", "--port", "0", "--reload"], cwd=tmp_path)
    port, _ = server.wait_ready()
    first = json.loads(get(port, "/pid")[2])
    server.wait_for_line("stderr", r"watching .* for changes")
    (tmp_path / "helpers.py").write_text("VALUE = 1\n")
    server.wait_for_line("stderr", r"change detected; restarting")
    port, _ = server.wait_ready(skip=1)
    second = json.loads(get(port, "/pid")[2])
    assert second["version"] == 7
    assert second["pid"] != first["pid"]
