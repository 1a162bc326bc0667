"""The scenario mix: exact shares, evenly spread, every user from its own starting point."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from loadtests.mix import SCENARIO_WEIGHTS, ScenarioCycle, interleave
from loadtests.slo import DEFAULT_SLO_PATH, load_slo


def test_cycle_holds_each_scenario_weight_times() -> None:
    cycle = interleave(SCENARIO_WEIGHTS)
    assert len(cycle) == sum(SCENARIO_WEIGHTS.values())
    assert Counter(cycle) == Counter(SCENARIO_WEIGHTS)


def test_scenarios_are_spread_out_not_bunched() -> None:
    cycle = interleave({"a": 6, "b": 2, "c": 1, "d": 1})
    assert cycle == ("a", "b", "a", "a", "c", "a", "d", "a", "b", "a")
    around = cycle + cycle
    longest_run = max(len(list(run)) for _, run in itertools.groupby(around))
    assert longest_run <= 2
    assert not any(around[i] == around[i + 1] for i in range(len(cycle)) if around[i] != "a")


def test_equal_weights_alternate_in_listed_order() -> None:
    assert interleave({"x": 1, "y": 1, "z": 1}) == ("x", "y", "z")
    assert interleave({"x": 2, "y": 2}) == ("x", "y", "x", "y")


@pytest.mark.parametrize("weights", [{}, {"a": 0}, {"a": -1}, {"a": 1.5}])
def test_bad_weights_are_refused(weights: dict) -> None:
    with pytest.raises(ValueError):
        interleave(weights)


def test_users_start_at_successive_positions() -> None:
    cycle = ScenarioCycle({"a": 1, "b": 1, "c": 1})
    first = [list(itertools.islice(cycle.walk(), 4)) for _ in range(4)]
    assert first == [["a", "b", "c", "a"], ["b", "c", "a", "b"], ["c", "a", "b", "c"], ["a", "b", "c", "a"]]


@pytest.mark.parametrize(("users", "requests_each"), [(10, 16), (7, 23), (3, 5), (12, 40)])
def test_any_run_keeps_each_share_within_one_request_per_user(users: int, requests_each: int) -> None:
    cycle = ScenarioCycle()
    counts: Counter[str] = Counter()
    for _ in range(users):
        counts.update(itertools.islice(cycle.walk(), requests_each))
    total = users * requests_each
    weight_sum = sum(SCENARIO_WEIGHTS.values())
    for name, weight in SCENARIO_WEIGHTS.items():
        assert abs(counts[name] - total * weight / weight_sum) <= users, name


def test_ten_users_cover_the_cycle_exactly() -> None:
    cycle = ScenarioCycle()
    counts: Counter[str] = Counter()
    for _ in range(10):
        counts.update(itertools.islice(cycle.walk(), 16))
    assert counts == Counter({name: 16 * weight for name, weight in SCENARIO_WEIGHTS.items()})


def test_the_slo_file_names_exactly_the_mixed_scenarios() -> None:
    slo = load_slo(DEFAULT_SLO_PATH)
    assert set(slo.scenarios) - {"Aggregated"} == set(SCENARIO_WEIGHTS)
