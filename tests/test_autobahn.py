"""WebSocket conformance: the Autobahn|Testsuite fuzzing-client cases (via `kosoku`)
against the echo example, over real sockets. Every case must end OK, NON-STRICT or
INFORMATIONAL, and every permessage-deflate case (12.*, 13.*) OK. Takes about 4
minutes, 9 with both cores busy; the echo server sends no pings, so no case depends on
the machine's speed (docs/reports/autobahn.md)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ACCEPTED = {"OK", "NON-STRICT", "INFORMATIONAL"}


@pytest.mark.timeout(1600)
def test_autobahn_fuzzingclient_cases(tmp_path: Path) -> None:
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "examples" / "websocket_echo.py"), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True,
    )
    try:
        assert server.stdout is not None
        match = re.search(r"Cello running at http://([\d.]+:\d+)", server.stdout.readline())
        assert match is not None, "the echo server did not start"
        kosoku = Path(sys.executable).with_name("kosoku")
        run = subprocess.run(
            [str(kosoku), match.group(1), "-p", "2", "-o", str(tmp_path)],
            capture_output=True, text=True, timeout=1500, check=False,
        )
        report = json.loads((tmp_path / "index.json").read_text())
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        if server.stdout is not None:
            server.stdout.close()
    (cases,) = report.values()
    assert len(cases) >= 517, run.stdout + run.stderr
    failed = {case: result["behavior"] for case, result in cases.items() if result["behavior"] not in ACCEPTED}
    failed_close = {
        case: result["behaviorClose"] for case, result in cases.items() if result["behaviorClose"] not in ACCEPTED
    }
    assert not failed, failed
    assert not failed_close, failed_close
    compression = {case: result["behavior"] for case, result in cases.items() if case.startswith(("12.", "13."))}
    assert len(compression) == 216
    assert set(compression.values()) == {"OK"}, compression
