"""Group outcomes on the holdout: approval rates, adverse-impact ratios and error rates, against fairlearn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_ratio,
    equalized_odds_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)

from training.fairness import MIN_GROUP, fairness_section, holdout_fairness

N = 6_000


def _population(seed: int = 3) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Applicants whose refusal rate depends on sex and age (so the groups differ), with outcomes."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M", None], size=N, p=[0.6, 0.39, 0.01])
    age_years = rng.uniform(19, 75, size=N)
    application = pd.DataFrame(
        {
            "CODE_GENDER": sex,
            "NAME_FAMILY_STATUS": rng.choice(["Married", "Single / not married", "Widow", None], size=N),
            "CNT_CHILDREN": rng.choice([0, 1, 2, 3, 5, np.nan], size=N, p=[0.5, 0.2, 0.15, 0.08, 0.05, 0.02]),
            "CNT_FAM_MEMBERS": rng.choice([1.0, 2.0, 3.0, 4.0, 6.0], size=N),
            "DAYS_BIRTH": -age_years * 365.25,
        }
    )
    defaulted = rng.random(N) < np.where(age_years < 25, 0.35, 0.2)
    risk = 0.25 + 0.15 * (sex == "M") + 0.2 * (age_years < 25) + 0.25 * defaulted
    refused = rng.random(N) < risk
    return application, defaulted.astype(int), refused.astype(int)


def _labels(application: pd.DataFrame, attribute: str) -> np.ndarray:
    """The groups written out here, independently of service.applicant.groups, for two attributes."""
    if attribute == "CODE_GENDER":
        return application["CODE_GENDER"].fillna("XNA").to_numpy()
    years = -application["DAYS_BIRTH"].to_numpy() / 365.25
    return np.where(years < 25, "under_25", np.where(years < 62, "25_to_61", "62_and_over"))


@pytest.mark.parametrize("attribute", ["CODE_GENDER", "AGE_BAND"])
def test_rates_and_ratios_equal_fairlearns(attribute: str) -> None:
    application, defaulted, refused = _population()
    result = holdout_fairness(application, defaulted, refused)
    labels = _labels(application, attribute)
    frame = MetricFrame(
        metrics={"selection": selection_rate, "tpr": true_positive_rate, "fpr": false_positive_rate},
        y_true=defaulted,
        y_pred=refused,
        sensitive_features=labels,
    ).by_group
    ours = {g.group: g for g in result.groups if g.attribute == attribute}
    assert set(ours) == set(frame.index)
    judged = [group for group, g in ours.items() if g.applicants >= MIN_GROUP]
    assert len(judged) >= 2
    if attribute == "CODE_GENDER":
        assert ours["XNA"].applicants < MIN_GROUP and "XNA" not in judged  # too few to judge
    for group in judged:
        assert ours[group].approval_rate == pytest.approx(1 - frame.loc[group, "selection"], abs=1e-12)
        assert ours[group].true_positive_rate == pytest.approx(frame.loc[group, "tpr"], abs=1e-12)
        assert ours[group].false_positive_rate == pytest.approx(frame.loc[group, "fpr"], abs=1e-12)
    for group in set(ours) - set(judged):
        assert ours[group].approval_rate is None and ours[group].adverse_impact_ratio is None

    kept = np.isin(labels, judged)  # fairlearn's ratios over the judged groups only
    (gaps,) = [g for g in result.gaps if g.attribute == attribute]
    assert gaps.lowest_adverse_impact_ratio == pytest.approx(
        demographic_parity_ratio(defaulted[kept], 1 - refused[kept], sensitive_features=labels[kept]),
        abs=1e-12,
    )
    largest_gap = max(gaps.true_positive_rate_gap, gaps.false_positive_rate_gap)
    assert largest_gap == pytest.approx(
        equalized_odds_difference(defaulted[kept], refused[kept], sensitive_features=labels[kept]), abs=1e-12
    )
    best = max(ours[group].approval_rate for group in judged)
    for group in judged:
        assert ours[group].adverse_impact_ratio == pytest.approx(ours[group].approval_rate / best)


def test_every_monitored_attribute_is_measured_and_the_card_shows_it() -> None:
    application, defaulted, refused = _population()
    result = holdout_fairness(application, defaulted, refused)
    attributes = {"CODE_GENDER", "NAME_FAMILY_STATUS", "CNT_CHILDREN", "CNT_FAM_MEMBERS", "AGE_BAND"}
    assert {g.attribute for g in result.groups} == attributes == {g.attribute for g in result.gaps}
    assert sum(g.applicants for g in result.groups if g.attribute == "CNT_CHILDREN") == N
    card = fairness_section(result)
    assert card.startswith("## Fairness on the holdout")
    (male,) = [g for g in result.groups if g.attribute == "CODE_GENDER" and g.group == "M"]
    assert (
        f"| CODE_GENDER | M | {male.applicants:,} | {male.defaulters:,} | {male.approval_rate:.1%} |" in card
    )
    assert result.to_json()["groups"][0]["attribute"] == "CODE_GENDER"


def test_inputs_of_other_lengths_are_refused() -> None:
    application, defaulted, refused = _population()
    with pytest.raises(ValueError, match="one entry per holdout applicant"):
        holdout_fairness(application, defaulted[:-1], refused)
