"""Candidates, cross-validation and tuning: ranking on non-linear data, and a behavioural check."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from tests.training.modeling_data import make_credit_frame
from training.models import (
    BASELINE_NAMES,
    DEFAULT_LIGHTGBM_PARAMS,
    baseline_candidates,
    cross_validate_estimator,
    fit_lightgbm,
    lightgbm_params,
    make_folds,
    tune_lightgbm,
)

FEATURES = ["score_a", "score_b", "score_c", "age_years", "overdue_months", "late_share"]


def test_folds_are_stratified_and_cover_every_row():
    y = np.array([1] * 80 + [0] * 920)
    folds = make_folds(y, 5, random_state=0)
    assert len(folds) == 5
    validation = np.concatenate([va for _, va in folds])
    assert sorted(validation) == list(range(1000))
    for train, valid in folds:
        assert set(train).isdisjoint(valid)
        assert y[valid].sum() == 16


@pytest.fixture(scope="module")
def ranked():
    X, y, _ = make_credit_frame(16_000, seed=1)
    X = X[FEATURES]
    folds = make_folds(y, 5, random_state=0)
    results = {
        name: cross_validate_estimator(name, est, X, y, folds)
        for name, est in baseline_candidates(random_state=0).items()
    }
    tuning = tune_lightgbm(X, y, folds, max_trials=1, n_jobs=1, random_state=0)
    results["lightgbm"] = tuning.cv
    return X, y, results, tuning


def test_candidates_rank_lightgbm_logistic_tree_dummy(ranked):
    _, _, results, _ = ranked
    auc = {name: r.auc_mean for name, r in results.items()}
    assert auc["dummy"] == pytest.approx(0.5)
    assert auc["lightgbm"] > auc["logistic_regression"] > auc["decision_tree"] > auc["dummy"]


def test_out_of_fold_predictions_are_probabilities_for_every_row(ranked):
    _, y, results, tuning = ranked
    for name in (*BASELINE_NAMES, "lightgbm"):
        oof = results[name].oof
        assert oof.shape == (len(y),)
        assert ((oof >= 0) & (oof <= 1)).all()
        assert len(results[name].fold_aucs) == 5
    assert roc_auc_score(y, results["lightgbm"].oof) > 0.75
    assert tuning.best_params == DEFAULT_LIGHTGBM_PARAMS
    assert results["lightgbm"].params["num_boost_round"] == tuning.best_rounds


def test_lightgbm_probabilities_stay_calibrated(ranked):
    _, y, results, _ = ranked
    # unweighted training: mean predicted risk close to the observed default rate
    assert results["lightgbm"].oof.mean() == pytest.approx(y.mean(), abs=0.01)


def test_tuning_respects_trial_limit_and_budget():
    X, y, _ = make_credit_frame(3000, seed=2)
    folds = make_folds(y, 3, random_state=0)
    limited = tune_lightgbm(X[FEATURES], y, folds, max_trials=3, n_jobs=1, max_rounds=200)
    assert len(limited.trials) == 3
    assert limited.stopped_by == "max_trials"
    assert len({repr(sorted(t.params.items())) for t in limited.trials}) == 3
    assert limited.trials_frame["cv_auc_mean"].iloc[0] == max(t.cv_auc_mean for t in limited.trials)
    boxed = tune_lightgbm(X[FEATURES], y, folds, budget_seconds=0.0, max_trials=10, n_jobs=1, max_rounds=200)
    assert len(boxed.trials) == 1  # the default trial always runs, nothing after the budget is spent
    assert boxed.stopped_by == "budget"


def test_more_overdue_months_never_lower_mean_predicted_risk(ranked):
    """Directional (behavioural) test: raising the overdue column must not make applicants look safer."""
    X, y, _, tuning = ranked
    booster, _ = fit_lightgbm(X, y, tuning.best_params, tuning.best_rounds, n_jobs=1)
    base = X.iloc[:3000].copy()
    previous = booster.predict(base.to_numpy(dtype=float)).mean()
    for extra in (1, 2, 4, 8):
        shifted = base.assign(overdue_months=base["overdue_months"] + extra)
        mean_risk = booster.predict(shifted.to_numpy(dtype=float)).mean()
        assert mean_risk >= previous
        previous = mean_risk


def test_monotone_constraints_reach_the_tuning_folds_and_the_final_fit():
    X, y, _ = make_credit_frame(3000, seed=3)
    X = X[FEATURES]
    folds = make_folds(y, 3, random_state=0)
    wrong = [1 if name.startswith("score_") else 0 for name in FEATURES]  # risk may only rise with the scores
    free = tune_lightgbm(X, y, folds, max_trials=1, n_jobs=1, max_rounds=200)
    forced = tune_lightgbm(X, y, folds, max_trials=1, n_jobs=1, max_rounds=200, monotone_constraints=wrong)
    assert forced.cv.auc_mean < free.cv.auc_mean - 0.05  # the folds obeyed the (wrong) constraints
    assert forced.cv.params["monotone_constraints"] == wrong
    assert "monotone_constraints" not in free.cv.params
    assert "monotone_constraints" not in lightgbm_params(monotone_constraints=[0] * len(FEATURES))

    # risk is U-shaped in age_years: constrained to fall with it, it never rises for anyone
    base = X.iloc[:200]
    ages = np.arange(20.0, 70.0)
    sweep = np.repeat(base.to_numpy(dtype=float), len(ages), axis=0)
    sweep[:, FEATURES.index("age_years")] = np.tile(ages, len(base))
    falling = [-1 if name == "age_years" else 0 for name in FEATURES]
    rises = {}
    for name, constraints in (("free", None), ("falling", falling)):
        booster, _ = fit_lightgbm(X, y, {}, 200, n_jobs=1, monotone_constraints=constraints)
        rises[name] = int((np.diff(booster.predict(sweep).reshape(len(base), -1), axis=1) > 0).sum())
    assert rises["free"] > 0
    assert rises["falling"] == 0
