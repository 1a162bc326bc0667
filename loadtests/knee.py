"""The knee of a step ramp: the highest throughput reached while the latency and error SLO still held."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from loadtests.slo import SLO
from loadtests.timeline import AGGREGATED


@dataclass(frozen=True)
class Step:
    """One step of the ramp, judged against the SLO."""

    users: int
    """Users during the step."""
    offered_rps: float
    """Requests per second the users tried to send (users x per-user rate)."""
    rps: float
    """Requests per second answered, all scenarios together."""
    p95_ms: float | None
    """95th percentile of the knee line during the step."""
    p99_ms: float | None
    """99th percentile of the knee line during the step."""
    error_rate: float
    """Share of failed requests, all scenarios together."""
    within_slo: bool
    """Whether the knee line met its p95/p99 limits and every line its error limit."""
    breach: str
    """The first limit the step broke (empty when within the SLO)."""
    generator_cpu_pct: float | None = None
    """Mean CPU of the Locust processes (master and workers) during the step, in percent of one core
    (``None`` when not sampled)."""
    generator_cpu_max_pct: float | None = None
    """Highest CPU of the Locust processes over one sample interval of the step, in percent of one core."""
    service_cpu_pct: float | None = None
    """Mean CPU of the served process tree during the step, in percent of one core (``None`` unless the gate
    started the service)."""
    service_cpu_max_pct: float | None = None
    """Highest CPU of the served process tree over one sample interval of the step, in percent of one core."""
    machine_cpu_pct: float | None = None
    """Mean busy CPU of the whole machine during the step, in percent of one core (100 x cores = all busy)."""
    generator_limit: str = ""
    """The rule by which the load generator, not the service, limited the step (``loadtests/bottleneck.py``),
    or empty when the generator had headroom."""


def judge_step(window: dict[str, Any], slo: SLO, user_rps: float) -> Step:
    """Turn one timeline window of a step ramp into a :class:`Step`."""
    lines = window["lines"]
    total = lines[AGGREGATED]
    knee = lines.get(slo.knee_line, total)
    breach = ""
    limits = slo.scenarios[slo.knee_line]
    if limits.p95_ms is not None and (knee["p95_ms"] is None or knee["p95_ms"] > limits.p95_ms):
        breach = f"{slo.knee_line} p95_ms > {limits.p95_ms:g}"
    elif limits.p99_ms is not None and (knee["p99_ms"] is None or knee["p99_ms"] > limits.p99_ms):
        breach = f"{slo.knee_line} p99_ms > {limits.p99_ms:g}"
    else:
        for name, line_limits in slo.scenarios.items():
            line = lines.get(name)
            if line_limits.max_error_rate is None or line is None or not line["requests"]:
                continue
            if line["failures"] / line["requests"] > line_limits.max_error_rate:
                breach = f"{name} error_rate > {line_limits.max_error_rate:g}"
                break
    requests = total["requests"]
    return Step(
        users=int(window["users"]),
        offered_rps=window["users"] * user_rps,
        rps=total["rps"],
        p95_ms=knee["p95_ms"],
        p99_ms=knee["p99_ms"],
        error_rate=total["failures"] / requests if requests else 1.0,
        within_slo=not breach and requests > 0,
        breach=breach or ("" if requests else "no requests"),
    )


def find_knee(steps: Sequence[Step]) -> Step | None:
    """The step within the SLO with the highest answered throughput; ``None`` when no step met the SLO."""
    passing = [step for step in steps if step.within_slo]
    return max(passing, key=lambda step: step.rps) if passing else None


def knee_is_a_lower_bound(steps: Sequence[Step], knee: Step | None) -> bool:
    """Whether the ramp stopped before the SLO broke: the knee is its last (most users) step, so the real
    knee lies at more users than the ramp tried."""
    return knee is not None and knee.users == max(step.users for step in steps)


def steps_to_json(steps: Sequence[Step]) -> list[dict[str, Any]]:
    """Steps as stored in ``summary.json``."""
    return [asdict(step) for step in steps]
