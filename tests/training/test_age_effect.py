"""Age contributions by age band: the reported numbers against LightGBM's own contributions."""

from __future__ import annotations

import json

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from tests.training.age_data import generated_matrix, older_default_more
from training.age_effect import AGE_BANDS, age_contributions, measure_age_effect
from training.age_rule import DAYS_PER_YEAR, ELDERLY_AGE
from training.models import fit_lightgbm

FEATURES = ["DAYS_BIRTH", "APP_EXT_SOURCES_MEAN", "DAYS_EMPLOYED", "APP_CREDIT_INCOME_RATIO"]


@pytest.fixture(scope="module")
def free_model() -> tuple[lgb.Booster, pd.DataFrame]:
    """A small unconstrained model of a population whose risk rises again at 62, and its applicants."""
    X, y = generated_matrix()
    X = X[FEATURES]
    booster, _ = fit_lightgbm(X, older_default_more(X, y), {}, 150, n_jobs=1)
    return booster, X


def test_the_reported_age_contributions_are_lightgbm_s_by_band(free_model) -> None:
    """Where applicants aged 62 or over get a risk-increasing age contribution, computed directly."""
    booster, X = free_model
    effect = measure_age_effect(booster, X, X["DAYS_BIRTH"], rule="free")
    direct = booster.predict(X.to_numpy(), pred_contrib=True)[:, FEATURES.index("DAYS_BIRTH")]
    years = -X["DAYS_BIRTH"].to_numpy() / DAYS_PER_YEAR
    edges = [low for low, _ in AGE_BANDS] + [np.inf]
    band = pd.cut(years, edges, right=False, labels=False)
    assert [b.applicants for b in effect.bands] == [int((band == i).sum()) for i in range(len(AGE_BANDS))]
    assert [b.raising for b in effect.bands] == [
        int((direct[band == i] > 0).sum()) for i in range(len(AGE_BANDS))
    ]
    assert [b.mean_contribution for b in effect.bands] == pytest.approx(
        [direct[band == i].mean() for i in range(len(AGE_BANDS))]
    )
    elderly = years >= ELDERLY_AGE
    assert effect.elderly == int(elderly.sum()) > 100
    assert effect.elderly_raising == int((direct[elderly] > 0).sum())
    # here the free model does give the elderly a negative factor: for most of them, in both elderly bands
    assert effect.elderly_share_raising > 0.5
    assert [b.label for b in effect.bands[-2:]] == ["62-64", "65 and over"]
    assert all(b.raising > 0 for b in effect.bands[-2:])
    assert effect.features == ["DAYS_BIRTH"] and effect.unknown_age == 0
    recorded = json.loads(json.dumps(effect.to_json()))
    assert recorded["elderly_raising"] == effect.elderly_raising
    assert recorded["elderly_share_raising"] == pytest.approx(effect.elderly_share_raising)


def test_the_age_contribution_sums_every_feature_that_reads_age() -> None:
    X, y = generated_matrix()
    names = ["DAYS_BIRTH", "APP_EMPLOYED_AGE_RATIO", "APP_EXT_SOURCES_MEAN"]
    booster, _ = fit_lightgbm(X[names], y, {}, 60, n_jobs=1)
    contributions = booster.predict(X[names].to_numpy(), pred_contrib=True)
    np.testing.assert_allclose(age_contributions(booster, X[names]), contributions[:, :2].sum(axis=1))
    with pytest.raises(ValueError, match="booster's features"):
        age_contributions(booster, X[names[::-1]])


def test_a_model_without_age_has_no_age_contribution_and_unknown_ages_are_counted() -> None:
    X, y = generated_matrix()
    names = ["APP_EXT_SOURCES_MEAN", "DAYS_EMPLOYED"]
    booster, _ = fit_lightgbm(X[names], y, {}, 30, n_jobs=1)
    days = X["DAYS_BIRTH"].to_numpy(dtype=np.float64).copy()
    days[:10] = np.nan
    effect = measure_age_effect(booster, X[names], days, rule="excluded")
    assert effect.features == [] and effect.elderly_raising == 0 and effect.unknown_age == 10
    assert sum(b.applicants for b in effect.bands) == len(X) - 10
    assert all(b.mean_contribution == 0.0 for b in effect.bands if b.applicants)
