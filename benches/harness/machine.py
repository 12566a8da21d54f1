"""A description of the machine a run happened on, for the report header."""

from __future__ import annotations

import os
import platform
from dataclasses import asdict, dataclass

__all__ = ["Machine", "describe_machine"]


@dataclass(frozen=True)
class Machine:
    cores: int
    cpu_model: str
    kernel: str
    memory_gib: float
    load_average: tuple[float, float, float]
    harness_python: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    def one_line(self) -> str:
        return (
            f"{self.cores} cores ({self.cpu_model}), Linux {self.kernel}, "
            f"{self.memory_gib:.0f} GiB RAM; load average at start "
            f"{self.load_average[0]:.2f}"
        )


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory_gib() -> float:
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / (1024 * 1024)
    except OSError:
        pass
    return 0.0


def describe_machine() -> Machine:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return Machine(
        cores=cores or 1,
        cpu_model=_cpu_model(),
        kernel=platform.release(),
        memory_gib=_memory_gib(),
        load_average=os.getloadavg(),
        harness_python=platform.python_version(),
    )
