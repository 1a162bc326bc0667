"""End-to-end modelling on a small synthetic frame with a known default probability."""

from __future__ import annotations

import csv
import json

import lightgbm as lgb
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from tests.training.modeling_data import make_credit_frame
from training.modeling import ModelingConfig, ModelingOutcome, train_and_evaluate
from training.models import CANDIDATE_NAMES
from training.selection import SelectionConfig
from training.tracking import RunTracker


def _config(**overrides) -> ModelingConfig:
    settings = {
        "n_folds": 3,
        "reference_rows": 1000,
        "tuning_budget_seconds": 20.0,
        "tuning_max_trials": 2,
        "n_jobs": 1,
        "selection": SelectionConfig(max_features=6, n_jobs=1),
        "shap_rows": 300,
        "permutation_repeats": 1,
        **overrides,
    }
    return ModelingConfig(**settings)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    X, y, truth = make_credit_frame(5000, seed=3)
    run_dir = tmp_path_factory.mktemp("run")
    outcome = train_and_evaluate(X, y, _config(), tracker=RunTracker(run_dir), true_probability=truth)
    return X, y, outcome, run_dir


def test_outcome_fields(run):
    _, _, outcome, _ = run
    assert isinstance(outcome, ModelingOutcome)
    assert isinstance(outcome.booster, lgb.Booster)
    assert outcome.booster.feature_name() == outcome.features
    assert 1 <= len(outcome.features) <= 6
    assert outcome.features == outcome.selection.selected
    assert list(outcome.X_train.columns) == outcome.features
    assert list(outcome.X_holdout.columns) == outcome.features
    assert 0.0 <= outcome.threshold <= 1.0
    assert list(outcome.comparison["candidate"]) == list(CANDIDATE_NAMES)
    assert {"shap_summary.png", "cost_curve.png", "roc_curves.png", "local_refused.png"} <= set(outcome.plots)
    assert list(outcome.cost_curve.columns) == ["threshold", "cost", "tp", "fp", "tn", "fn"]


def test_holdout_is_untouched_and_stratified(run):
    X, y, outcome, _ = run
    assert len(outcome.X_holdout) == 1000  # 20 % of 5,000
    assert set(outcome.X_train.index).isdisjoint(outcome.X_holdout.index)
    assert len(outcome.X_train) + len(outcome.X_holdout) == len(X)
    assert outcome.y_holdout.mean() == pytest.approx(y.mean(), abs=0.005)
    assert outcome.proba_holdout.index.equals(outcome.X_holdout.index)
    expected = outcome.booster.predict(outcome.X_holdout.to_numpy(dtype=float))
    np.testing.assert_allclose(outcome.proba_holdout.to_numpy(), expected)


def test_metrics_are_complete_and_json_serialisable(run):
    _, _, outcome, _ = run
    m = json.loads(json.dumps(outcome.metrics))
    for key in (
        "cv_auc_mean",
        "cv_auc_std",
        "holdout_auc",
        "brier",
        "cost_at_threshold",
        "cost_at_0_5",
        "cost_at_0_07",
        "threshold",
        "recall",
        "precision",
        "durations",
        "candidates",
        "tuning",
    ):
        assert key in m, key
    assert set(m["confusion_matrix"]) == {"tp", "fp", "tn", "fn"}
    assert sum(m["confusion_matrix"].values()) == len(outcome.X_holdout)
    assert set(m["candidates"]) == set(CANDIDATE_NAMES)
    assert m["candidates"]["dummy"]["holdout_auc"] == pytest.approx(0.5)
    assert m["holdout_auc"] > 0.7
    assert m["cost_at_threshold"] <= m["cost_at_0_5"]


def test_the_holdout_auc_of_the_accepted_applicants_is_the_realized_auc_baseline(run):
    """Refused applicants never get an outcome, so realized AUC is read against the holdout AUC of the rows
    the threshold accepts, which is lower than the whole holdout's."""
    _, _, outcome, _ = run
    m = outcome.metrics
    accepted = outcome.proba_holdout.to_numpy() < m["threshold"]
    expected = roc_auc_score(
        outcome.y_holdout.to_numpy()[accepted], outcome.proba_holdout.to_numpy()[accepted]
    )
    assert m["holdout_auc_accepted"] == pytest.approx(expected, abs=1e-6)
    assert 0.5 < m["holdout_auc_accepted"] < m["holdout_auc"]


def test_ratios_against_the_true_probability(run):
    _, _, outcome, _ = run
    m = outcome.metrics
    assert m["auc_ratio_vs_true"] == pytest.approx(m["holdout_auc"] / m["true_probability_auc"], rel=1e-4)
    assert m["cost_ratio_vs_true"] == pytest.approx(
        m["cost_at_threshold"] / m["true_probability_best_cost"], rel=1e-4
    )
    assert 0.85 < m["auc_ratio_vs_true"] <= 1.05
    assert m["cost_ratio_vs_true"] >= 0.9


def test_tracker_has_one_row_per_candidate(run):
    _, _, _, run_dir = run
    with (run_dir / "runs.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["candidate"] for r in rows] == list(CANDIDATE_NAMES)
    assert json.loads(rows[-1]["metrics"])["threshold"] >= 0


def test_without_true_probability_or_interpretation():
    X, y, _ = make_credit_frame(3000, seed=4)
    outcome = train_and_evaluate(X, y, _config(interpretation=False, tuning_max_trials=1))
    assert "auc_ratio_vs_true" not in outcome.metrics
    assert outcome.plots == {}
    assert outcome.interpretation is None


def test_misaligned_target_is_rejected():
    X, y, _ = make_credit_frame(500, seed=0)
    with pytest.raises(ValueError):
        train_and_evaluate(X, y.iloc[::-1], _config())
