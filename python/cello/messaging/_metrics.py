"""The subscribers' metrics, on the app's ``/metrics`` (``app.enable_prometheus``), summed
over the workers: created when the app enables a broker (before the workers fork)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cello.observability import Counter, Histogram

__all__ = ["define", "observe"]

_metrics: list[tuple[Counter, Histogram]] = []


def define() -> None:
    """``cello_messages_handled_total{broker, source, outcome}`` and
    ``cello_message_handler_seconds{broker, source}``, once per process."""
    if _metrics:
        return
    from cello.observability import Counter, Histogram

    handled = Counter("cello_messages_handled", "Messages the subscribers handled, by outcome: ok (acked or "
                      "settled by the handler), error (the handler raised), invalid (did not validate).",
                      ["broker", "source", "outcome"])
    seconds = Histogram("cello_message_handler_seconds", "Time the subscribers' handlers took per message.",
                        ["broker", "source"])
    _metrics.append((handled, seconds))


def observe(broker: str, source: str, outcome: str, elapsed: float) -> None:
    if not _metrics:
        return
    handled, seconds = _metrics[0]
    handled.labels(broker, source, outcome).inc()
    seconds.labels(broker, source).observe(elapsed)
