"""Soak drift: did latency or the service's memory creep up while the load stayed the same?"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from loadtests.memory import slope_per_hour
from loadtests.slo import SoakLimits
from loadtests.timeline import AGGREGATED
from loadtests.verdict import FAIL, PASS, SKIP, Check


def p95_growth(windows: Sequence[dict[str, Any]]) -> float | None:
    """Relative rise of the median aggregated p95 from the first third of the windows to the last third.

    The first window (users spawning, caches warming) is left out; ``None`` with fewer than 3 windows left.
    """
    values = [w["lines"][AGGREGATED]["p95_ms"] for w in windows[1:] if w["lines"][AGGREGATED]["p95_ms"]]
    if len(values) < 3:
        return None
    third = max(1, len(values) // 3)
    first, last = statistics.median(values[:third]), statistics.median(values[-third:])
    return (last - first) / first if first > 0 else None


def p95_slope_ms_per_hour(windows: Sequence[dict[str, Any]]) -> float | None:
    """Least-squares trend of the aggregated p95 over the soak, in milliseconds per hour."""
    samples = [
        ((w["start_s"] + w["end_s"]) / 2, w["lines"][AGGREGATED]["p95_ms"])
        for w in windows[1:]
        if w["lines"][AGGREGATED]["p95_ms"] is not None
    ]
    return slope_per_hour(samples)


def check_soak(
    windows: Sequence[dict[str, Any]],
    rss_samples: Sequence[tuple[float, float]],
    warmup_s: float,
    limits: SoakLimits,
) -> list[Check]:
    """Soak checks: memory growth trend after the warm-up and p95 growth from first to last third."""
    checks = []
    settled = [(t, v) for t, v in rss_samples if t >= warmup_s]
    growth = slope_per_hour(settled)
    if growth is None:
        checks.append(
            Check("soak", "service", "rss_mib_per_hour", None, None, SKIP, "no memory samples (URL target)")
        )
    else:
        ok = growth <= limits.max_rss_growth_mib_per_hour
        checks.append(
            Check(
                "soak",
                "service",
                "rss_mib_per_hour",
                growth,
                limits.max_rss_growth_mib_per_hour,
                PASS if ok else FAIL,
                "" if ok else "memory keeps growing",
            )
        )
    rise = p95_growth(windows)
    if rise is None:
        checks.append(Check("soak", AGGREGATED, "p95_growth", None, None, SKIP, "fewer than 4 windows"))
    else:
        ok = rise <= limits.max_p95_growth
        checks.append(
            Check(
                "soak",
                AGGREGATED,
                "p95_growth",
                rise,
                limits.max_p95_growth,
                PASS if ok else FAIL,
                "" if ok else "latency drifts up",
            )
        )
    return checks
