"""The gate's judgement without a service: SLO checks, regression comparison, the verdict table."""

from __future__ import annotations

from loadtests.baseline import DEFAULT_BASELINE_PATH, read_baseline
from loadtests.mix import SCENARIO_WEIGHTS
from loadtests.results import LineStats
from loadtests.slo import SLO, RegressionLimits, ScenarioLimits
from loadtests.verdict import FAIL, PASS, SKIP, breaches, check_regression, check_slo, render_table


def line(
    requests: int = 1000, failures: int = 0, rps: float = 20.0, p95: float = 40.0, p99: float = 80.0
) -> LineStats:
    """A stats line with the numbers that matter here."""
    return LineStats("POST", requests, failures, rps, 20.0, 200.0, 15.0, 30.0, p95, p99, 150.0)


SLO_UNDER_TEST = SLO(
    version="test",
    scenarios={
        "/score single": ScenarioLimits(p95_ms=50, p99_ms=100, max_error_rate=0.01, min_rps=10),
        "Aggregated": ScenarioLimits(p99_ms=100, max_error_rate=0.01),
    },
)


def test_all_limits_met_pass() -> None:
    checks = check_slo({"/score single": line(), "Aggregated": line()}, SLO_UNDER_TEST)
    assert {c.outcome for c in checks} == {PASS}
    assert {c.label for c in checks} >= {
        "slo /score single p95_ms",
        "slo /score single rps",
        "slo Aggregated p99_ms",
    }


def test_each_breached_limit_is_named() -> None:
    lines = {"/score single": line(failures=50, rps=5, p95=60, p99=120), "Aggregated": line()}
    failed = {c.label for c in breaches(check_slo(lines, SLO_UNDER_TEST))}
    assert failed == {
        "slo /score single error_rate",
        "slo /score single p95_ms",
        "slo /score single p99_ms",
        "slo /score single rps",
    }


def test_limit_equal_to_observed_passes() -> None:
    lines = {"/score single": line(p95=50, p99=100, rps=10), "Aggregated": line()}
    assert not breaches(check_slo(lines, SLO_UNDER_TEST))


def test_missing_scenario_fails_instead_of_passing_silently() -> None:
    checks = check_slo({"Aggregated": line()}, SLO_UNDER_TEST)
    assert [c.label for c in breaches(checks)] == ["slo /score single requests"]


def test_throughput_limits_left_out_under_another_load() -> None:
    lines = {"/score single": line(rps=1), "Aggregated": line()}
    assert not breaches(check_slo(lines, SLO_UNDER_TEST, with_throughput=False))


def test_error_rate_of_an_empty_line_is_total() -> None:
    assert line(requests=0).error_rate == 1.0


LIMITS = RegressionLimits(max_throughput_drop=0.10, max_p99_increase=0.10, p99_noise_floor_ms=5.0)


def test_throughput_drop_beyond_ten_percent_fails() -> None:
    baseline = {"Aggregated": line(rps=100)}
    assert not breaches(check_regression({"Aggregated": line(rps=90.0)}, baseline, LIMITS))
    failed = breaches(check_regression({"Aggregated": line(rps=89.9)}, baseline, LIMITS))
    assert [c.label for c in failed] == ["baseline Aggregated rps"]
    assert failed[0].note == "throughput regressed"


def test_p99_rise_beyond_ten_percent_fails_per_line() -> None:
    baseline = {"Aggregated": line(p99=200), "/explain": line(p99=200)}
    current = {"Aggregated": line(p99=220), "/explain": line(p99=221)}
    assert [c.label for c in breaches(check_regression(current, baseline, LIMITS))] == [
        "baseline /explain p99_ms"
    ]


def test_small_absolute_p99_rise_is_noise() -> None:
    baseline = {"Aggregated": line(p99=10)}
    assert not breaches(check_regression({"Aggregated": line(p99=15)}, baseline, LIMITS))
    assert breaches(check_regression({"Aggregated": line(p99=15.1)}, baseline, LIMITS))


def test_improvement_passes() -> None:
    baseline = {"Aggregated": line(rps=50, p99=200)}
    checks = check_regression({"Aggregated": line(rps=80, p99=100)}, baseline, LIMITS)
    assert checks and all(c.outcome == PASS for c in checks)


def test_table_marks_breaches_and_reasons() -> None:
    checks = check_regression({"Aggregated": line(rps=10)}, {"Aggregated": line(rps=100)}, LIMITS)
    table = render_table(checks)
    row = next(r for r in table.splitlines() if r.startswith("baseline Aggregated rps"))
    assert FAIL in row and "throughput regressed" in row
    assert table.splitlines()[0].split() == ["check", "observed", "limit", "result"]


def test_scenarios_left_out_on_purpose_are_skipped_by_name_not_failed() -> None:
    """A scenario the run did not send on purpose (the applicant form unavailable) gets one skipped row."""
    checks = check_slo(
        {"Aggregated": line()}, SLO_UNDER_TEST, unsent={"/score single": "applicant form: why"}
    )
    assert not breaches(checks)
    skipped = [c for c in checks if c.outcome == SKIP]
    assert [(c.label, c.note) for c in skipped] == [
        ("slo /score single requests", "not sent: applicant form: why")
    ]
    assert "skip (not sent: applicant form: why)" in render_table(checks)


def test_a_baseline_without_a_scenario_skips_its_comparison_and_never_fails() -> None:
    """Scenarios renamed or added since the accepted run: no numbers to compare, so they are skipped, and
    the aggregated p99 (now over another mix) too; the throughput is still compared."""
    baseline = {"/score single": line(p99=10), "Aggregated": line(rps=20, p99=10)}
    current = {
        "/score single (applicant)": line(p99=90),
        "/score single (features)": line(p99=90),
        "Aggregated": line(rps=20, p99=90),
    }
    checks = check_regression(current, baseline, LIMITS)
    assert not breaches(checks)
    outcomes = {c.label: (c.outcome, c.note) for c in checks}
    assert outcomes["baseline /score single (applicant) p99_ms"] == (SKIP, "not in the accepted run")
    assert outcomes["baseline /score single (features) p99_ms"] == (SKIP, "not in the accepted run")
    assert outcomes["baseline Aggregated p99_ms"] == (SKIP, "the accepted run sent other scenarios")
    assert outcomes["baseline Aggregated rps"] == (PASS, "")
    assert breaches(check_regression({**current, "Aggregated": line(rps=10)}, baseline, LIMITS))


def test_the_committed_baseline_does_not_fail_a_run_of_todays_scenarios() -> None:
    """Whatever scenarios loadtests/baseline.json holds, a healthy run of today's mix passes against it."""
    baseline = read_baseline(DEFAULT_BASELINE_PATH)
    assert baseline is not None
    aggregated = baseline.lines["Aggregated"]
    current = {name: baseline.lines.get(name, line(p99=30)) for name in SCENARIO_WEIGHTS}
    current["Aggregated"] = line(rps=aggregated.rps, p99=aggregated.p99_ms or 30)
    assert not breaches(check_regression(current, baseline.lines, LIMITS))
