"""Health probes: bodies, checks flipping readiness, timeouts, config spellings; over a
real socket, the startup probe before the startup hooks finish and readiness while
the worker drains."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cello import App, HealthCheckConfig
from cello.testing import TestClient
from support.processes import PROCESS_TIMEOUT, REPO, ServerProcess, get, wait_until

APP = REPO / "tests" / "apps" / "observability_app.py"


def test_the_probes_answer_the_documented_bodies() -> None:
    app = App()
    app.enable_health_checks(HealthCheckConfig(version="1.2.3"))

    @app.health_check("database")
    async def database():
        return {"pool_size": 4}

    with TestClient(app) as client:
        live = client.get("/health/live")
        assert live.status_code == 200
        assert live.json()["status"] == "UP" and "timestamp" in live.json()
        ready = client.get("/health/ready").json()
        assert ready["status"] == "UP" and ready["ready"] is True
        started = client.get("/health/startup")
        assert started.status_code == 200 and started.json()["started"] is True
        report = client.get("/health")
        body = report.json()
        assert report.status_code == 200
        assert body["status"] == "UP" and body["version"] == "1.2.3"
        assert body["uptime_seconds"] >= 0
        assert body["checks"]["database"]["status"] == "UP"
        assert body["checks"]["database"]["details"] == {"pool_size": 4}
        assert "system" not in body


def test_a_failing_check_makes_readiness_503_until_it_passes_again() -> None:
    app = App()
    app.enable_health_checks()
    healthy = {"value": True}

    @app.health_check("flag")
    def flag():
        if not healthy["value"]:
            raise ConnectionError("cannot reach the flag service")
        return True

    with TestClient(app) as client:
        assert client.get("/health/ready").status_code == 200
        healthy["value"] = False
        ready = client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["ready"] is False and ready.json()["failed_checks"] == ["flag"]
        report = client.get("/health")
        assert report.status_code == 503
        assert "cannot reach the flag service" in report.json()["checks"]["flag"]["error"]
        # Liveness does not depend on the checks.
        assert client.get("/health/live").status_code == 200
        healthy["value"] = True
        assert client.get("/health/ready").status_code == 200


def test_a_check_that_times_out_fails_and_false_fails() -> None:
    app = App()
    app.enable_health_checks(HealthCheckConfig(timeout_secs=30))
    never = asyncio.Event()

    @app.health_check("hangs", timeout_secs=0.05)
    async def hangs():
        await never.wait()

    @app.health_check("says_no")
    def says_no():
        return False

    with TestClient(app) as client:
        report = client.get("/health")
    assert report.status_code == 503
    checks = report.json()["checks"]
    assert checks["hangs"] == {"status": "DOWN", "error": "timed out after 0.05 s", "duration_ms": checks["hangs"]["duration_ms"]}
    assert checks["says_no"]["status"] == "DOWN"


def test_config_spellings_presets_and_cache() -> None:
    app = App()
    app.enable_health_checks(
        HealthCheckConfig(
            base_path="/status", liveness_path="/livez", readiness_path="/readyz",
            startup_path="/startz", include_details=False, cache_secs=3600,
        )
    )
    calls = []

    @app.health_check("counted")
    def counted():
        calls.append(1)
        return {"secret": "not shown"}

    with TestClient(app) as client:
        for path in ("/livez", "/readyz", "/startz", "/status"):
            assert client.get(path).status_code == 200, path
        assert client.get("/status").json()["checks"] == {"counted": {"status": "UP"}}
        assert client.get("/health/live").status_code == 404
    assert len(calls) == 1, "results are cached for cache_secs"
    assert HealthCheckConfig.kubernetes().include_details is False
    detailed = HealthCheckConfig.detailed()
    assert detailed.include_details and detailed.include_system_info
    plain = App()
    plain.enable_health_checks(HealthCheckConfig.detailed())
    with TestClient(plain) as client:
        assert client.get("/health").json()["system"]["pid"] > 0
    with pytest.raises(ValueError, match="must be a path"):
        HealthCheckConfig(base_path="health")


def test_the_probes_skip_rate_limits() -> None:
    app = App()
    app.enable_rate_limit(requests=1, window=3600)
    app.enable_health_checks()
    with TestClient(app) as client:
        assert all(client.get("/health/live").status_code == 200 for _ in range(5))


def test_the_probes_and_metrics_skip_app_wide_guards_hooks_and_middleware() -> None:
    from cello import Response

    app = App()
    app.enable_health_checks()
    app.enable_prometheus()
    app.add_guard(lambda request: False)
    calls: list[str] = []

    @app.before_request
    def refuse(request):
        calls.append(request.path)
        return Response("no", status=401)

    @app.middleware("http")
    async def stamp(request, call_next):
        response = await call_next(request)
        response.headers["x-user-middleware"] = "ran"
        return response

    @app.get("/")
    def index():
        return {"ok": True}

    with TestClient(app) as client:
        assert client.get("/").status_code == 401
        for path in ("/health/live", "/health/ready", "/health/startup", "/health", "/metrics"):
            response = client.get(path)
            assert response.status_code == 200, (path, response.text)
            assert "x-user-middleware" not in response.headers
    assert calls == ["/"]
    guarded = App()
    guarded.enable_health_checks()
    guarded.add_guard(lambda request: False)
    with TestClient(guarded) as client:
        assert client.get("/health/ready").status_code == 200


def test_the_database_pool_registers_its_check(tmp_path: Path) -> None:
    from cello import DatabaseConfig

    app = App()
    app.enable_database(DatabaseConfig(f"sqlite://{tmp_path / 'app.db'}"))
    app.enable_health_checks()
    with TestClient(app) as client:
        report = client.get("/health")
        assert report.status_code == 200
        check = report.json()["checks"]["database"]
        assert check["status"] == "UP"
        assert check["details"]["backend"] == "sqlite"
        assert check["details"]["max_size"] >= 1
        assert client.get("/health/ready").status_code == 200


def test_an_apps_own_check_replaces_the_pools_and_no_health_checks_means_no_probe(tmp_path: Path) -> None:
    from cello import DatabaseConfig

    app = App()
    app.enable_health_checks()

    @app.health_check("database")
    def database():
        return {"mine": True}

    app.enable_database(DatabaseConfig(f"sqlite://{tmp_path / 'app.db'}"))
    with TestClient(app) as client:
        assert client.get("/health").json()["checks"]["database"]["details"] == {"mine": True}

    quiet = App()
    quiet.enable_database(DatabaseConfig(f"sqlite://{tmp_path / 'other.db'}"))
    with TestClient(quiet) as client:
        assert client.get("/health").status_code == 404


def spawn_app(spawn: Callable[..., ServerProcess], env: dict[str, str]) -> tuple[ServerProcess, int]:
    server = spawn([sys.executable, str(APP), "--port", "0"], env=env)
    port, _ = server.wait_ready()
    return server, port


def test_startup_is_503_until_the_startup_hooks_finish(
    spawn: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    _server, port = spawn_app(spawn, {"CELLO_OBS_STARTUP_GATE": str(gate)})
    status, _, body = get(port, "/health/startup")
    assert status == 503, body
    assert get(port, "/health/ready")[0] == 503
    assert get(port, "/health/live")[0] == 200
    # Other routes are not served before the app has started.
    status, headers, _ = get(port, "/pid")
    assert status == 503 and headers["retry-after"] == "1"
    gate.touch()
    wait_until(lambda: get(port, "/health/startup")[0] == 200, PROCESS_TIMEOUT, "the startup probe to pass")
    assert get(port, "/pid")[0] == 200
    assert get(port, "/health/ready")[0] == 200


def test_readiness_follows_a_check_and_is_503_while_draining(
    spawn: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    failing = tmp_path / "fail"
    server, port = spawn_app(
        spawn, {"CELLO_OBS_FAIL": str(failing), "CELLO_OBS_SHUTDOWN_DELAY": "120"}
    )
    assert get(port, "/health/ready")[0] == 200
    failing.touch()
    assert get(port, "/health/ready")[0] == 503
    failing.unlink()
    assert get(port, "/health/ready")[0] == 200
    server.proc.send_signal(signal.SIGTERM)

    def draining() -> bool:
        status, _, body = get(port, "/health/ready")
        return status == 503 and b'"draining"' in body

    wait_until(draining, PROCESS_TIMEOUT, "readiness to report the drain")
    # Still serving during the shutdown delay: load balancers take it out meanwhile.
    assert get(port, "/health/live")[0] == 200
    assert get(port, "/pid")[0] == 200
    # A second SIGTERM drains at once.
    assert server.terminate_and_wait() == 0


def test_a_live_server_with_health_checks_starts_after_its_hooks(live: Callable[..., object]) -> None:
    import httpx

    app = App()
    app.enable_health_checks()
    started = []

    @app.on_event("startup")
    async def warm_up() -> None:
        await asyncio.sleep(0)
        started.append(True)

    @app.get("/")
    def index(request):
        return {"started": bool(started)}

    server = live(app)
    assert started == [True]
    assert httpx.get(server.url + "/").json() == {"started": True}  # type: ignore[attr-defined]
    assert httpx.get(server.url + "/health/startup").status_code == 200  # type: ignore[attr-defined]


def test_a_failing_startup_hook_fails_a_live_server(live: Callable[..., object]) -> None:
    app = App()
    app.enable_health_checks()

    @app.on_event("startup")
    def broken() -> None:
        raise RuntimeError("no database")

    with pytest.raises(RuntimeError, match="no database"):
        live(app)
