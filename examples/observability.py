"""Observability in one app: Prometheus metrics of the whole server, health probes
with a check of your own, JSON logs carrying request ids, application metrics, and
(with the `otel` feature and OTEL_EXPORTER_OTLP_ENDPOINT set) OpenTelemetry traces.

    python examples/observability.py --port 8000 --workers 2 --max-worker-memory 512M
    curl localhost:8000/metrics          # every worker's counts together
    curl localhost:8000/health           # the report; /health/live, /ready, /startup
    curl -X POST localhost:8000/orders   # a JSON log line with the request id
"""

import logging
import os

import cello
from cello import App, HealthCheckConfig, LoggingConfig, OpenTelemetryConfig
from cello.observability import Counter, Histogram

app = App()
app.enable_prometheus(endpoint="/metrics", namespace="shop", subsystem="http")
app.enable_health_checks(HealthCheckConfig(version="1.0.0", shutdown_delay_secs=0))
app.enable_logging(LoggingConfig(format="json"))
if "otel" in cello.features() and os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
    app.enable_telemetry(OpenTelemetryConfig(service_name="shop", sampling_rate=0.1))

# Defined at import time, before the workers fork: shared by all of them.
orders = Counter("orders", "Orders placed, by kind.", ["kind"], namespace="shop")
basket_size = Histogram("basket_items", "Items per order.", namespace="shop", buckets=[1, 2, 5, 10, 20])
log = logging.getLogger("shop")
stock = {"apples": 3}


@app.health_check("stock", timeout_secs=1)
def stock_known():
    """Readiness fails (503) while the stock table is empty."""
    return {"items": len(stock)} if stock else False


@app.get("/")
def index(request):
    return {"shop": "open"}


@app.post("/orders")
def place_order(request):
    kind = request.query.get("kind", "standard")
    orders.labels(kind=kind).inc()
    basket_size.observe(int(request.query.get("items", "1")))
    log.info("order placed", extra={"kind": kind})
    return {"placed": True, "request_id": request.request_id}


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
