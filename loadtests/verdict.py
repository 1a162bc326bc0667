"""The gate's judgement: every SLO limit and every regression tolerance as one named check, and the table."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

from loadtests.results import LineStats
from loadtests.slo import SLO, RegressionLimits

AGGREGATED = "Aggregated"
"""Name of Locust's all-requests line."""

PASS, FAIL, SKIP = "pass", "FAIL", "skip"
"""Outcomes of a check (``FAIL`` in capitals so it stands out in the table)."""


@dataclass(frozen=True)
class Check:
    """One line of the verdict: a limit, what was observed, and the outcome."""

    source: str
    """``slo`` (a limit of the SLO file), ``baseline`` (the last accepted run), ``soak`` or ``knee``."""
    line: str
    """Locust request name the check is about, or ``Aggregated``."""
    metric: str
    """Which number: ``p95_ms``, ``p99_ms``, ``error_rate``, ``rps``, ``requests``, ..."""
    observed: float | None
    """The measured value (``None`` when nothing could be measured)."""
    limit: float | None
    """The bound it was held to."""
    outcome: str
    """``pass``, ``FAIL`` or ``skip``."""
    note: str = ""
    """Why a check failed or was skipped, when the numbers alone do not say."""

    @property
    def label(self) -> str:
        """The check's name as printed, e.g. ``slo /score single p99_ms``."""
        return f"{self.source} {self.line} {self.metric}"

    def to_json(self) -> dict:
        """The check as stored in ``summary.json``."""
        return {**asdict(self), "label": self.label}


def _upper(
    source: str, line: str, metric: str, observed: float | None, limit: float, note: str = ""
) -> Check:
    ok = observed is not None and observed <= limit
    return Check(source, line, metric, observed, limit, PASS if ok else FAIL, note if not ok else "")


def _lower(
    source: str, line: str, metric: str, observed: float | None, limit: float, note: str = ""
) -> Check:
    ok = observed is not None and observed >= limit
    return Check(source, line, metric, observed, limit, PASS if ok else FAIL, note if not ok else "")


def not_sent(name: str, why: str) -> Check:
    """The check of a scenario the run did not send on purpose: skipped, saying why."""
    return Check("slo", name, "requests", None, None, SKIP, f"not sent: {why}")


def check_slo(
    lines: Mapping[str, LineStats],
    slo: SLO,
    *,
    with_throughput: bool = True,
    unsent: Mapping[str, str] | None = None,
) -> list[Check]:
    """One check per limit of the SLO file; a scenario without any request fails its ``requests`` check.

    ``with_throughput=False`` leaves the ``min_rps`` limits out (they hold only under the SLO's load).
    ``unsent`` maps scenarios the run left out on purpose to the reason: each gets one skipped check
    instead of its limits, so the table still names it.
    """
    checks: list[Check] = []
    for name, limits in slo.scenarios.items():
        if unsent and name in unsent:
            checks.append(not_sent(name, unsent[name]))
            continue
        line = lines.get(name)
        if line is None or line.requests == 0:
            checks.append(
                Check("slo", name, "requests", 0, 1, FAIL, "no request of this scenario was recorded")
            )
            continue
        if limits.max_error_rate is not None:
            checks.append(_upper("slo", name, "error_rate", line.error_rate, limits.max_error_rate))
        if limits.p95_ms is not None:
            checks.append(_upper("slo", name, "p95_ms", line.p95_ms, limits.p95_ms))
        if limits.p99_ms is not None:
            checks.append(_upper("slo", name, "p99_ms", line.p99_ms, limits.p99_ms))
        if limits.min_rps is not None and with_throughput:
            checks.append(_lower("slo", name, "rps", line.rps, limits.min_rps))
    return checks


def check_regression(
    lines: Mapping[str, LineStats], baseline: Mapping[str, LineStats], limits: RegressionLimits
) -> list[Check]:
    """Compare with the last accepted run: aggregated throughput, and p99 of every line both runs have.

    A scenario the accepted run did not send (new, or renamed) gets a skipped check saying so; the
    aggregated p99 is compared only when both runs sent the same scenarios (another mix averages other
    requests). Scenarios only the accepted run sent are ignored.
    """
    checks: list[Check] = []
    current, accepted = lines.get(AGGREGATED), baseline.get(AGGREGATED)
    if current is not None and accepted is not None:
        floor = accepted.rps * (1.0 - limits.max_throughput_drop)
        checks.append(_lower("baseline", AGGREGATED, "rps", current.rps, floor, "throughput regressed"))
    same_mix = set(lines) - {AGGREGATED} == set(baseline) - {AGGREGATED}
    for name in sorted(set(lines) - set(baseline)):
        checks.append(
            Check("baseline", name, "p99_ms", lines[name].p99_ms, None, SKIP, "not in the accepted run")
        )
    for name in sorted(set(lines) & set(baseline)):
        if name == AGGREGATED and not same_mix:
            note = "the accepted run sent other scenarios"
            checks.append(Check("baseline", name, "p99_ms", lines[name].p99_ms, None, SKIP, note))
            continue
        new_p99, old_p99 = lines[name].p99_ms, baseline[name].p99_ms
        if old_p99 is None:
            continue
        ceiling = old_p99 + max(old_p99 * limits.max_p99_increase, limits.p99_noise_floor_ms)
        checks.append(_upper("baseline", name, "p99_ms", new_p99, ceiling, "p99 regressed"))
    return checks


def skipped(source: str, note: str) -> Check:
    """A placeholder check that says why a whole group of checks did not run."""
    return Check(source, "-", "-", None, None, SKIP, note)


def breaches(checks: Iterable[Check]) -> list[Check]:
    """The failed checks."""
    return [check for check in checks if check.outcome == FAIL]


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0 or abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 1:
        return f"{value:.1f}"
    return f"{value:.4f}"


def render_table(checks: Iterable[Check]) -> str:
    """The verdict as a fixed-width text table, one check per row, breaches marked ``FAIL``."""
    rows = [("check", "observed", "limit", "result")]
    for check in checks:
        result = check.outcome if not check.note else f"{check.outcome} ({check.note})"
        rows.append((check.label, _fmt(check.observed), _fmt(check.limit), result))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    out = []
    for i, row in enumerate(rows):
        out.append(f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]}")
        if i == 0:
            out.append("-" * (sum(widths) + 6 + len("result")))
    return "\n".join(out)
