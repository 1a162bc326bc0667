"""Run knobs, applicants, load shapes, timeline windows, the knee and soak drift, without a service."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from loadtests.applicants import rows_to_applicants, sample_from_spec
from loadtests.drift import check_soak, p95_growth
from loadtests.knee import find_knee, judge_step, knee_is_a_lower_bound
from loadtests.plans import SoakPlan, StepPlan
from loadtests.profile import LoadProfile
from loadtests.slo import SLO, ScenarioLimits, SoakLimits
from loadtests.timeline import Timeline, percentile
from loadtests.verdict import FAIL, PASS, SKIP


def test_profile_round_trips_through_the_environment() -> None:
    profile = LoadProfile(user_rps=3.5, shape="step", step_users="1,2,4", applicants="/x.json")
    assert LoadProfile.from_env(profile.to_env()) == profile


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LOADTEST_SHAPE": "spike"}, "LOADTEST_SHAPE"),
        ({"LOADTEST_STEP_USERS": "8,4"}, "LOADTEST_STEP_USERS"),
        ({"LOADTEST_USER_RPS": "fast"}, "LOADTEST_USER_RPS"),
        ({"LOADTEST_BATCH_MIN": "50", "LOADTEST_BATCH_MAX": "10"}, "LOADTEST_BATCH_MIN"),
    ],
)
def test_bad_profile_names_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LoadProfile.from_env(env)


def test_step_ramp_walks_the_steps_then_stops_and_caps_users() -> None:
    ramp = StepPlan(LoadProfile(step_users="2,5,500", step_seconds=10, settle_seconds=2, max_users=100))
    assert ramp.tick(12.0) == (5, 10.0)
    assert ramp.tick(25.0) == (100, 10.0)
    assert ramp.tick(30.0) is None
    assert ramp.window(11.0) is None  # settling
    assert ramp.window(13.0) == (1, 12.0, 20.0)


def test_step_window_settles_from_the_tick_that_started_the_step() -> None:
    """A distributed Locust master ticks the shape up to a second late: the step settles from that tick."""
    ramp = StepPlan(LoadProfile(step_users="2,4", step_seconds=10, settle_seconds=2))
    late = {0: 0.01, 1: 10.9}
    assert ramp.window(12.5) == (1, 12.0, 20.0)
    assert ramp.window(12.5, late) is None  # still the previous step's users, or settling
    assert ramp.window(13.0, late) == (1, 12.9, 20.0)
    assert ramp.window(2.5, late) == (0, 2.01, 10.0)
    assert ramp.window(19.5, {1: 18.5}) is None  # ticked too late to settle within the step
    assert ramp.step_at(19.9) == 1 and ramp.step_at(20.0) is None


def test_soak_holds_then_stops_with_cut_last_window() -> None:
    soak = SoakPlan(LoadProfile(soak_users=7, soak_seconds=25, window_seconds=10))
    assert soak.tick(24.0) == (7, 10.0)
    assert soak.window(24.0) == (2, 20.0, 25.0)
    assert soak.tick(25.0) is None


def test_reference_rows_become_request_json() -> None:
    features = [
        {"name": "AMT", "dtype": "float"},
        {"name": "KIDS", "dtype": "int"},
        {"name": "CAR", "dtype": "bool"},
    ]
    frame = pd.DataFrame(
        {"AMT": [1.5, math.nan], "KIDS": [2.0, 0.0], "CAR": [True, False], "probability": [0.1, 0.2]}
    )
    applicants = rows_to_applicants(frame, features, n=10)
    assert applicants[0]["features"] == {"AMT": 1.5, "KIDS": 2, "CAR": True}
    assert applicants[1]["features"]["AMT"] is None
    assert isinstance(applicants[0]["features"]["KIDS"], int)
    assert "probability" not in applicants[0]["features"]


def test_spec_sampling_follows_quantiles_and_valid_range() -> None:
    spec = [
        {"name": "SHARE", "dtype": "float", "valid_min": 0.0, "valid_max": 1.0,
         "quantiles": {"0.01": 0.05, "0.5": 0.5, "0.99": 0.95}, "missing_share": 0.2},
        {"name": "KIDS", "dtype": "int", "valid_min": 0, "quantiles": {"0.01": 0, "0.5": 1, "0.99": 4}},
    ]  # fmt: skip
    applicants = sample_from_spec(spec, 2000, seed=3)
    shares = [a["features"]["SHARE"] for a in applicants]
    present = [s for s in shares if s is not None]
    assert 0.15 < 1 - len(present) / len(shares) < 0.25
    assert all(0.0 <= s <= 1.0 for s in present)
    assert 0.4 < sorted(present)[len(present) // 2] < 0.6
    assert all(isinstance(a["features"]["KIDS"], int) and 0 <= a["features"]["KIDS"] <= 4 for a in applicants)


def test_percentile_is_nearest_rank() -> None:
    values = list(range(1, 101))
    assert percentile(values, 0.99) == 99
    assert percentile(values, 0.5) == 50
    assert percentile([], 0.5) is None


def _step_window(timeline: Timeline, key: int, users: int, times: list[float], failures: int = 0) -> None:
    for i, ms in enumerate(times):
        timeline.add(key, key * 10.0, key * 10.0 + 10.0, users, "/score single", ms, i < failures)


KNEE_SLO = SLO(
    version="t", scenarios={"Aggregated": ScenarioLimits(p95_ms=50, p99_ms=100, max_error_rate=0.01)}
)


def test_knee_is_the_fastest_step_within_the_slo() -> None:
    timeline = Timeline()
    _step_window(timeline, 0, 2, [10.0] * 100)  # 10 req/s, fast
    _step_window(timeline, 1, 4, [20.0] * 300)  # 30 req/s, fast: the knee
    _step_window(timeline, 2, 8, [20.0] * 350 + [90.0] * 50)  # 40 req/s but p95 breaks
    _step_window(timeline, 3, 16, [10.0] * 500, failures=50)  # 50 req/s with 10 % errors
    steps = [judge_step(window, KNEE_SLO, user_rps=10) for window in timeline.summary()]
    assert [s.within_slo for s in steps] == [True, True, False, False]
    assert steps[2].breach == "Aggregated p95_ms > 50"
    assert steps[3].breach == "Aggregated error_rate > 0.01"
    knee = find_knee(steps)
    assert knee is not None and knee.users == 4 and knee.rps == pytest.approx(30.0)
    assert knee.offered_rps == 40
    assert find_knee(steps[2:]) is None
    assert not knee_is_a_lower_bound(steps, knee)  # the SLO broke at more users: a real knee
    assert knee_is_a_lower_bound(steps[:2], find_knee(steps[:2]))  # the ramp stopped within the SLO
    assert not knee_is_a_lower_bound(steps[2:], None)


def test_knee_section_says_when_the_knee_is_only_a_lower_bound() -> None:
    from dataclasses import asdict

    from loadtests.gate import knee_section

    timeline = Timeline()
    _step_window(timeline, 0, 2, [10.0] * 100)
    _step_window(timeline, 1, 4, [20.0] * 300)
    steps = [judge_step(window, KNEE_SLO, user_rps=10) for window in timeline.summary()]
    knee = find_knee(steps)
    assert knee is not None
    summary = {
        "knee": asdict(knee),
        "knee_is_lower_bound": knee_is_a_lower_bound(steps, knee),
        "steps": [asdict(step) for step in steps],
        "profile": {
            "batch_min": 10,
            "batch_max": 100,
            "user_rps": 10,
            "step_seconds": 15,
            "settle_seconds": 2,
        },
        "machine": {"cpus": 2, "platform": "test"},
        "slo_version": "1",
        "service_env": "",
        "finished_at": "2026-11-28T00:00:00+00:00",
        "target": "model credit_scorer:latest",
        "model_tag": "credit_scorer:v1",
        "locust_version": "2",
    }
    section = knee_section(summary)
    assert "**Knee: 30 requests/s** answered at 4 users" in section
    assert "the real knee lies at more users" in section
    assert "the real knee" not in knee_section({**summary, "knee_is_lower_bound": False})


def _soak_windows(p95s: list[float]) -> list[dict]:
    return [
        {"start_s": i * 10.0, "end_s": i * 10.0 + 10, "lines": {"Aggregated": {"p95_ms": p}}}
        for i, p in enumerate(p95s)
    ]


def test_soak_drift_checks() -> None:
    limits = SoakLimits(max_rss_growth_mib_per_hour=10, max_p95_growth=0.5)
    flat_memory = [(t, 300.0) for t in range(0, 600, 5)]
    steady = check_soak(_soak_windows([99, 10, 11, 10, 12, 10, 11]), flat_memory, 30, limits)
    assert [c.outcome for c in steady] == [PASS, PASS]
    leaking = [(t, 300.0 + t * 0.01) for t in range(0, 600, 5)]  # 36 MiB per hour
    drifting = check_soak(_soak_windows([5, 10, 10, 20, 20, 30, 30]), leaking, 30, limits)
    assert [(c.metric, c.outcome) for c in drifting] == [("rss_mib_per_hour", FAIL), ("p95_growth", FAIL)]
    assert p95_growth(_soak_windows([5, 10, 10, 20, 20, 30, 30])) == pytest.approx(2.0)
    assert check_soak(_soak_windows([1, 1]), [], 0, limits)[0].outcome == SKIP
