"""What every benchmark of ``make bench`` shares: the result line the table is built from, and the few numbers
every one of them needs (medians, percentiles, the machine's load).

Each benchmark prints its own human table and then, per figure it has a target for, one line

    bench-result {"bench": "runner_overhead", "work": "...", "peer": "...", "peer_value": 0.23, ...}

``bench/table.py`` runs them all and turns those lines into the table of ``bench/README.md``.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

#: the prefix of the line ``bench/table.py`` reads
RESULT_PREFIX = "bench-result "


@dataclass(frozen=True)
class Result:
    """One row of the table: ``work`` done by ``peer`` and by autotest, measured over ``rounds``."""

    bench: str  # the module's short name
    work: str  # what was measured, in words
    peer: str  # who autotest is compared with ("" when there is none: a floor or an absolute target)
    peer_value: float | None
    autotest_value: float
    unit: str  # "s", "ms", "MB", "req/s", "$"
    rounds: int
    #: ``autotest_value / peer_value`` (or the inverse where higher is better: see ``higher_is_better``)
    ratio: float | None
    target: str  # the target in words, e.g. "<= 1.10x"
    met: bool
    higher_is_better: bool = False
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        return RESULT_PREFIX + json.dumps(asdict(self), sort_keys=True)


def ratio_of(autotest: float, peer: float) -> float:
    return autotest / peer if peer else float("inf")


def emit(result: Result) -> Result:
    print(result.line(), flush=True)
    return result


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], pct: float) -> float:
    """The ``pct``-th percentile (0-100) of ``values`` by linear interpolation (``median`` at 50)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def machine() -> str:
    """The machine in a line: cores, memory, Python, load average now."""
    cores = os.cpu_count() or 0
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            total_kb = int(meminfo.readline().split()[1])
        memory = f"{total_kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        memory = "? GiB"
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return f"{cores} cores, {memory}, Python {platform.python_version()}, load average {load}"
