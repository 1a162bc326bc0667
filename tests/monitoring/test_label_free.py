"""The label-free AUC estimate: its definition checked against scikit-learn, and how well it tracks the
realized AUC on simulated months whose outcomes are drawn from the scores (and how badly when they are not
calibrated)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from monitoring.label_free import expected_auc
from monitoring.performance import roc_auc
from tests.monitoring.label_free_months import accepted_scores


@pytest.mark.parametrize("ties", [False, True])
def test_it_is_the_weighted_auc_of_every_applicant_as_both_classes(ties: bool) -> None:
    p = accepted_scores(np.random.default_rng(3), 2_000)
    if ties:
        p = np.round(p, 2)
    both = np.concatenate([p, p])
    labels = np.concatenate([np.ones(len(p)), np.zeros(len(p))])
    weights = np.concatenate([p, 1 - p])
    assert expected_auc(p) == pytest.approx(roc_auc_score(labels, both, sample_weight=weights), abs=1e-12)


def test_degenerate_inputs_give_nan() -> None:
    assert np.isnan(expected_auc(np.array([0.2])))
    assert np.isnan(expected_auc(np.zeros(10)))


def simulated_errors(months: int, n: int, seed: int, calibrated: bool = True) -> np.ndarray:
    """Estimate minus realized AUC on ``months`` simulated months of ``n`` accepted applicants each."""
    rng = np.random.default_rng(seed)
    errors = []
    for _ in range(months):
        p = accepted_scores(rng, n)
        truth = p if calibrated else np.clip(0.4 * p + 0.05, 0, 1)  # defaults depend on the score less
        y = rng.random(len(p)) < truth
        errors.append(expected_auc(p) - roc_auc(y, p))  # roc_auc equals scikit-learn's (test_performance)
    return np.array(errors)


def test_it_tracks_the_realized_auc_of_calibrated_scores() -> None:
    errors = simulated_errors(months=200, n=2_000, seed=5)
    # 200 months of 2,000 accepted applicants (about 10 % defaults): the sampling error of a realized AUC is
    # about 0.02, so the estimate cannot be nearer; it must be unbiased and that near
    assert abs(errors.mean()) < 0.005
    assert np.sqrt(np.mean(errors**2)) < 0.03
    assert np.quantile(np.abs(errors), 0.95) < 0.05


def test_it_misses_a_change_in_how_applicants_default_at_a_given_score() -> None:
    errors = simulated_errors(months=50, n=2_000, seed=6, calibrated=False)
    assert errors.mean() > 0.03  # the scores promise more separation than the outcomes show
