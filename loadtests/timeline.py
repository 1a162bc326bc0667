"""Per-window latency and throughput, recorded inside Locust for the step ramp (a window per step) and soak.

Locust's own CSV holds whole-run numbers; the knee and the soak drift need them per window, with exact
percentiles per scenario, so the locustfile feeds every request here and writes :meth:`Timeline.to_json`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

AGGREGATED = "Aggregated"
"""Name of the all-scenarios line, as in Locust's CSV."""


def percentile(sorted_values: Sequence[float], level: float) -> float | None:
    """Nearest-rank percentile (``level`` in [0, 1]) of already sorted values; ``None`` when empty."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(level * len(sorted_values)))
    return float(sorted_values[rank - 1])


@dataclass
class _Window:
    start: float
    end: float
    users: int = 0
    times: dict[str, list[float]] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)


class Timeline:
    """Response times and failures grouped by window and scenario name."""

    def __init__(self) -> None:
        self._windows: dict[int, _Window] = {}

    def add(
        self, key: int, start: float, end: float, users: int, name: str, response_ms: float, failed: bool
    ) -> None:
        """Record one request of scenario ``name`` in window ``key`` (``[start, end)`` s of run time)."""
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = _Window(start=start, end=end)
        window.users = max(window.users, users)
        window.times.setdefault(name, []).append(response_ms)
        if failed:
            window.failures[name] = window.failures.get(name, 0) + 1

    def summary(self) -> list[dict[str, Any]]:
        """One entry per window, in order: span, users and per-scenario (plus aggregated) statistics."""
        out = []
        for key in sorted(self._windows):
            window = self._windows[key]
            seconds = max(window.end - window.start, 1e-9)
            lines = {}
            everything: list[float] = []
            for name in sorted(window.times):
                values = sorted(window.times[name])
                everything.extend(values)
                lines[name] = _line(values, window.failures.get(name, 0), seconds)
            lines[AGGREGATED] = _line(sorted(everything), sum(window.failures.values()), seconds)
            out.append(
                {
                    "window": key,
                    "start_s": window.start,
                    "end_s": window.end,
                    "users": window.users,
                    "lines": lines,
                }
            )
        return out

    def to_json(self, path: str | Path) -> None:
        """Write :meth:`summary` to ``path``."""
        Path(path).write_text(json.dumps(self.summary(), indent=1))


def _line(sorted_times: list[float], failures: int, seconds: float) -> dict[str, Any]:
    return {
        "requests": len(sorted_times),
        "failures": failures,
        "rps": len(sorted_times) / seconds,
        "p50_ms": percentile(sorted_times, 0.50),
        "p95_ms": percentile(sorted_times, 0.95),
        "p99_ms": percentile(sorted_times, 0.99),
    }
