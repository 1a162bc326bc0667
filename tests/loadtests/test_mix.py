"""The scenario mix: both input forms, exact shares, evenly spread, every user from its own starting point."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from loadtests.mix import (
    APPLICANT,
    BY_NAME,
    FEATURES,
    FORMS,
    SCENARIO_WEIGHTS,
    SCENARIOS,
    ScenarioCycle,
    interleave,
    parse_forms,
    scenario_name,
    scenario_weights,
)
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


KINDS = ("/score single", "/score batch", "/score explain", "/explain")


def test_every_kind_is_sent_as_applicant_documents_and_the_main_ones_as_feature_vectors() -> None:
    names = set(SCENARIO_WEIGHTS)
    assert {scenario_name(kind, APPLICANT) for kind in KINDS} <= names
    assert {"/score single (features)", "/score batch (features)"} <= names
    for name, scenario in BY_NAME.items():
        assert name == f"{scenario.kind} ({scenario.form})" and scenario.form in FORMS


def test_the_applicant_form_is_the_main_traffic_and_each_kind_keeps_its_share() -> None:
    """Seven in ten requests carry documents; per kind the cycle is the one of before the applicant form."""
    by_form: Counter[str] = Counter()
    by_kind: Counter[str] = Counter()
    for scenario in SCENARIOS:
        by_form[scenario.form] += scenario.weight
        by_kind[scenario.kind] += scenario.weight
    assert by_form == Counter({APPLICANT: 7, FEATURES: 3})
    assert by_kind == Counter({"/score single": 6, "/score batch": 2, "/score explain": 1, "/explain": 1})


def test_return_features_is_asked_by_the_applicant_scenarios_with_reasons_and_contributions() -> None:
    asking = {scenario.name for scenario in SCENARIOS if scenario.return_features}
    assert asking == {"/score explain (applicant)", "/explain (applicant)"}


def test_one_cycle_mixes_both_forms_and_every_scenario() -> None:
    cycle = interleave(SCENARIO_WEIGHTS)
    assert Counter(cycle) == Counter(SCENARIO_WEIGHTS)
    assert {BY_NAME[name].form for name in cycle[:3]} == {APPLICANT, FEATURES}  # forms interleave early on
    assert not any(BY_NAME[a].kind == BY_NAME[b].kind == "/score batch" for a, b in itertools.pairwise(cycle))


def test_leaving_a_form_out_keeps_the_other_forms_scenarios_and_weights() -> None:
    assert scenario_weights([FEATURES]) == {"/score single (features)": 2, "/score batch (features)": 1}
    assert scenario_weights([APPLICANT, FEATURES]) == SCENARIO_WEIGHTS
    assert ScenarioCycle(scenario_weights([FEATURES])).cycle == (
        "/score single (features)",
        "/score batch (features)",
        "/score single (features)",
    )


def test_forms_are_parsed_in_a_fixed_order_and_unknown_ones_refused() -> None:
    assert parse_forms("features, applicant") == (APPLICANT, FEATURES)
    assert parse_forms("features") == (FEATURES,)
    for bad in ("", "vectors", "applicant,columns"):
        with pytest.raises(ValueError, match="forms"):
            parse_forms(bad)
