"""Seed 003's observability examples (App reference: enable_prometheus,
enable_telemetry, enable_health_checks), run unchanged: the seed's lines, then
requests showing they really work."""

from __future__ import annotations

import cello
import pytest
from cello.testing import TestClient


def test_seed_003_prometheus() -> None:
    from cello import App

    app = App()
    app.enable_prometheus(
        endpoint="/metrics",
        namespace="cello",
        subsystem="http"
    )

    @app.get("/")
    def index(request):
        return {}

    with TestClient(app) as client:
        client.get("/")
        text = client.get("/metrics").text
    assert 'cello_http_requests_total{method="GET",route="/",status="200"}' in text


@pytest.mark.skipif("otel" not in cello.features(), reason="built without the `otel` feature")
def test_seed_003_telemetry() -> None:
    from cello import App, OpenTelemetryConfig

    app = App()
    app.enable_telemetry(OpenTelemetryConfig(
        service_name="my-service",
        otlp_endpoint="http://collector:4317",
        sampling_rate=0.1
    ))

    @app.get("/")
    def index(request):
        return {"trace_id": request.trace_id}

    with TestClient(app) as client:
        response = client.get("/", headers={"traceparent": f"00-{'a' * 32}-{'b' * 16}-01"})
    # The collector is unreachable here; the span is still made and propagated.
    assert response.json()["trace_id"] == "a" * 32
    assert response.headers["traceparent"].startswith(f"00-{'a' * 32}-")


def test_seed_003_telemetry_without_the_feature_says_how_to_get_it() -> None:
    if "otel" in cello.features():
        pytest.skip("built with the `otel` feature")
    from cello import App, OpenTelemetryConfig
    from cello.exceptions import MissingFeatureError

    app = App()
    with pytest.raises(MissingFeatureError, match="CELLO_FEATURES=.*otel"):
        app.enable_telemetry(OpenTelemetryConfig(service_name="my-service"))


def test_seed_003_health_checks() -> None:
    from cello import App, HealthCheckConfig

    app = App()
    app.enable_health_checks(HealthCheckConfig(
        base_path="/health",
        include_system_info=True
    ))

    with TestClient(app) as client:
        assert client.get("/health/live").json()["status"] == "UP"
        assert client.get("/health/ready").json()["ready"] is True
        assert client.get("/health/startup").status_code == 200
        report = client.get("/health").json()
    assert report["status"] == "UP" and "uptime_seconds" in report and "system" in report


def test_seed_003_health_checks_without_a_config() -> None:
    from cello import App

    app = App()
    app.enable_health_checks()
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200


@pytest.mark.skipif("otel" not in cello.features(), reason="built without the `otel` feature")
def test_telemetry_freed_while_another_app_serves_does_not_panic() -> None:
    """An app with OTLP export owns a runtime for its exporters; freed (by the collector,
    or here by a handler dropping the last reference) while another app's loop runs
    Python, that runtime is shut down without blocking instead of panicking ("Cannot
    drop a runtime in a context where blocking is not allowed")."""
    import gc

    from cello import App, OpenTelemetryConfig

    first = App()
    first.enable_telemetry(OpenTelemetryConfig(service_name="first", otlp_endpoint="http://127.0.0.1:9"))

    @first.get("/")
    def index(request):
        return {}

    with TestClient(first) as client:
        client.get("/")
    holder: list[object] = [first]
    del first, index, client
    second = App()

    @second.get("/drop")
    def drop(request):
        holder.clear()  # the last reference to the first app, its telemetry and runtime
        gc.collect()  # the app is in reference cycles: the collector frees it, here
        return {"dropped": True}

    with TestClient(second) as client:
        assert client.get("/drop").json() == {"dropped": True}
        assert client.get("/drop").json() == {"dropped": True}
