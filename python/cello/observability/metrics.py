"""Application metrics shared by every worker: `Counter`, `Gauge`, `Histogram`.

They live in the same shared memory as the request metrics, so ``/metrics`` (see
``app.enable_prometheus``) reports them summed over all workers, whichever worker
answers the scrape. Define them at import time (module level), before the server
forks its workers, as you would with ``prometheus_client``.

Example:
    >>> from cello.observability import Counter, Histogram
    >>> jobs = Counter("jobs_processed", "Jobs done.", ["queue"])
    >>> jobs.labels(queue="mail").inc()
    >>> latency = Histogram("job_seconds", "Job duration.", buckets=[0.1, 1, 10])
    >>> latency.observe(0.4)
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Self

from cello import _cello

__all__ = ["DEFAULT_BUCKETS", "Counter", "Gauge", "Histogram"]

#: prometheus_client's default buckets, in seconds.
DEFAULT_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)


def _full_name(name: str, namespace: str, subsystem: str, unit: str) -> str:
    full = "_".join(part for part in (namespace, subsystem, name) if part)
    if unit and not full.endswith(f"_{unit}"):
        full = f"{full}_{unit}"
    return full


class _Series:
    """One label set of a metric. Gauge series are per worker, so a gauge finds its
    series again after a fork."""

    __slots__ = ("_family", "_id", "_labels", "_per_worker", "_pid")

    def __init__(self, family: _cello.MetricFamily, labels: list[tuple[str, str]], per_worker: bool) -> None:
        self._family = family
        self._labels = labels
        self._per_worker = per_worker
        # Found on first use: a gauge defined at import time must not take a worker
        # slot in the supervisor.
        self._pid = 0
        self._id: int | None = None

    def id(self) -> int | None:
        if self._pid == 0 or (self._per_worker and self._pid != os.getpid()):
            self._pid = os.getpid()
            self._id = self._family.series(self._labels)
        return self._id


class _Metric:
    _kind = ""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        *,
        namespace: str = "",
        subsystem: str = "",
        unit: str = "",
        _bounds: Sequence[float] = (),
        _mode: str = "sum",
    ) -> None:
        if isinstance(labelnames, str):
            raise TypeError(f"labelnames must be a list of names such as [{labelnames!r}], not a string")
        self.name = self._final_name(_full_name(name, namespace, subsystem, unit))
        self.documentation = documentation
        self._labelnames = tuple(labelnames)
        self._family = _cello.MetricFamily(self.name, documentation, self._kind, list(_bounds), _mode)
        self._children: dict[tuple[str, ...], Self] = {}
        self._series: _Series | None = None
        if not self._labelnames:
            self._series = _Series(self._family, [], self._kind == "gauge")

    @staticmethod
    def _final_name(name: str) -> str:
        return name

    def labels(self, *values: object, **named: object) -> Self:
        """The child metric for one set of label values (positional in `labelnames`
        order, or by name)."""
        if not self._labelnames:
            raise ValueError(f"metric {self.name} has no labels")
        if values and named:
            raise ValueError("pass label values positionally or by name, not both")
        if named:
            if set(named) != set(self._labelnames):
                raise ValueError(f"metric {self.name} takes the labels {list(self._labelnames)}, got {sorted(named)}")
            values = tuple(named[label] for label in self._labelnames)
        if len(values) != len(self._labelnames):
            raise ValueError(f"metric {self.name} takes {len(self._labelnames)} label values, got {len(values)}")
        key = tuple(str(value) for value in values)
        child = self._children.get(key)
        if child is None:
            child = self._child(list(zip(self._labelnames, key, strict=True)))
            self._children[key] = child
        return child

    def _child(self, labels: list[tuple[str, str]]) -> Self:
        child = object.__new__(type(self))
        child.name = self.name
        child.documentation = self.documentation
        child._labelnames = ()
        child._family = self._family
        child._children = {}
        child._series = _Series(self._family, labels, self._kind == "gauge")
        return child

    def _id(self) -> int | None:
        if self._series is None:
            raise ValueError(f"metric {self.name} has labels {list(self._labelnames)}: use .labels(...) first")
        return self._series.id()


class Counter(_Metric):
    """A count that only goes up (``_total`` is added to the name if missing).

    Example:
        >>> from cello.observability import Counter
        >>> orders = Counter("orders", "Orders placed.", ["kind"])
        >>> orders.labels("gift").inc()
    """

    _kind = "counter"

    @staticmethod
    def _final_name(name: str) -> str:
        return name if name.endswith("_total") else f"{name}_total"

    def inc(self, amount: float = 1.0) -> None:
        """Adds `amount` (not negative)."""
        if amount < 0:
            raise ValueError("a counter can only go up: amount must not be negative")
        series = self._id()
        if series is not None:
            self._family.add(series, float(amount))

    def _value(self) -> float:
        series = self._id()
        return 0.0 if series is None else self._family.value(series)


class Gauge(_Metric):
    """A value that goes up and down. Each worker has its own value; a scrape
    combines the live workers' values by `multiprocess_mode`: ``"sum"`` (default),
    ``"max"``, ``"min"``, or ``"all"`` (one series per worker, label ``worker``).
    A worker's values go away with it.

    Example:
        >>> from cello.observability import Gauge
        >>> queue_depth = Gauge("queue_depth", "Jobs waiting.", multiprocess_mode="max")
        >>> queue_depth.set(3)
    """

    _kind = "gauge"

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        *,
        namespace: str = "",
        subsystem: str = "",
        unit: str = "",
        multiprocess_mode: str = "sum",
    ) -> None:
        super().__init__(
            name, documentation, labelnames, namespace=namespace, subsystem=subsystem,
            unit=unit, _mode=multiprocess_mode,
        )

    def inc(self, amount: float = 1.0) -> None:
        """Adds `amount` to this worker's value."""
        series = self._id()
        if series is not None:
            self._family.add(series, float(amount))

    def dec(self, amount: float = 1.0) -> None:
        """Subtracts `amount` from this worker's value."""
        self.inc(-amount)

    def set(self, value: float) -> None:
        """Sets this worker's value."""
        series = self._id()
        if series is not None:
            self._family.set(series, float(value))

    @contextmanager
    def track_inprogress(self) -> Iterator[None]:
        """Adds one while the block runs."""
        self.inc()
        try:
            yield
        finally:
            self.dec()


class Histogram(_Metric):
    """Observations counted in buckets (upper bounds, increasing; ``+Inf`` is added).

    Example:
        >>> from cello.observability import Histogram
        >>> render_seconds = Histogram("render_seconds", "Page render time.")
        >>> with render_seconds.time():
        ...     pass
    """

    _kind = "histogram"

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        *,
        namespace: str = "",
        subsystem: str = "",
        unit: str = "",
        buckets: Sequence[float] = DEFAULT_BUCKETS,
    ) -> None:
        bounds = [float(bound) for bound in buckets if bound != float("inf")]
        if "le" in labelnames:
            raise ValueError("a histogram cannot have a label named 'le'")
        super().__init__(
            name, documentation, labelnames, namespace=namespace, subsystem=subsystem,
            unit=unit, _bounds=bounds,
        )

    def observe(self, value: float) -> None:
        """Records one observation."""
        series = self._id()
        if series is not None:
            self._family.observe(series, float(value))

    @contextmanager
    def time(self) -> Iterator[None]:
        """Observes how long the block took, in seconds."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.observe(time.perf_counter() - started)
