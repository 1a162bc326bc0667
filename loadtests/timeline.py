"""Per-window latency and throughput, recorded inside Locust for the step ramp (a window per step) and soak.

Locust's own CSV holds whole-run numbers; the knee and the soak drift need them per window, with exact
percentiles per scenario, so the locustfile feeds every request here (``loadtests/recording.py`` decides the
window, also when the requests come from several Locust worker processes) and writes
:meth:`Timeline.to_json`. Windows also carry their wall-clock span, so the gate can put the CPU it sampled
beside each one.
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
    first_at: float | None = None
    last_at: float | None = None


class Timeline:
    """Response times and failures grouped by window and scenario name."""

    def __init__(self) -> None:
        self._windows: dict[int, _Window] = {}
        self.origin_epoch: float | None = None
        """Wall-clock time (``time.time()``) of run time 0, when known: windows then carry epoch spans."""

    def _window(self, key: int, start: float, end: float) -> _Window:
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = _Window(start=start, end=end)
        return window

    def add(
        self,
        key: int,
        start: float,
        end: float,
        users: int,
        name: str,
        response_ms: float,
        failed: bool,
        at: float | None = None,
    ) -> None:
        """Record one request of scenario ``name`` in window ``key`` (``[start, end)`` s of run time).

        ``at`` is the wall-clock time the request ended (kept as the window's first and last request).
        """
        window = self._window(key, start, end)
        window.users = max(window.users, users)
        window.times.setdefault(name, []).append(response_ms)
        if failed:
            window.failures[name] = window.failures.get(name, 0) + 1
        if at is not None:
            window.first_at = at if window.first_at is None else min(window.first_at, at)
            window.last_at = at if window.last_at is None else max(window.last_at, at)

    def note_users(self, key: int, start: float, end: float, users: int) -> None:
        """Count ``users`` as running during window ``key`` (its user count is the largest noted or seen)."""
        window = self._window(key, start, end)
        window.users = max(window.users, users)

    def summary(self) -> list[dict[str, Any]]:
        """One entry per window, in order: span (run time, and wall clock when known), users and
        per-scenario (plus aggregated) statistics."""
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
            origin = self.origin_epoch
            out.append(
                {
                    "window": key,
                    "start_s": window.start,
                    "end_s": window.end,
                    "start_epoch": None if origin is None else origin + window.start,
                    "end_epoch": None if origin is None else origin + window.end,
                    "first_request_epoch": window.first_at,
                    "last_request_epoch": window.last_at,
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
