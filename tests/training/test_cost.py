"""Cost per 1,000 applicants, cost curve and the cost-optimal threshold on cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from service.bundle import CostWeights
from training.cost import confusion_counts, cost_curve, cost_per_1000, optimal_threshold

DEFAULT = CostWeights()


def test_hand_computed_confusion_and_cost():
    y = [1, 0, 1, 0, 0]
    refuse = [True, True, False, False, False]
    assert confusion_counts(y, refuse) == {"tp": 1, "fp": 1, "tn": 2, "fn": 1}
    # (20·FN + 2·FP + 1·TP + 1·TN) / 5 · 1000 = (20 + 2 + 1 + 2) / 5 · 1000
    assert cost_per_1000(y, refuse, DEFAULT) == pytest.approx(5000.0)


def test_custom_weights_are_used():
    y = [1, 1, 0, 0]
    refuse = [False, True, True, False]  # FN, TP, FP, TN
    weights = CostWeights(false_negative=10, false_positive=3, true_positive=0, true_negative=0.5)
    assert cost_per_1000(y, refuse, weights) == pytest.approx((10 + 0 + 3 + 0.5) / 4 * 1000)


def test_accepting_everyone_costs_the_original_formula():
    y = np.array([1] * 8 + [0] * 92)
    assert cost_per_1000(y, np.zeros(100, bool), DEFAULT) == pytest.approx((8 * 20 + 92 * 1) / 100 * 1000)


def test_invalid_inputs_are_rejected():
    with pytest.raises(ValueError):
        cost_per_1000([0, 2], [True, False], DEFAULT)
    with pytest.raises(ValueError):
        cost_per_1000([0, 1], [True], DEFAULT)
    with pytest.raises(ValueError):
        optimal_threshold([0, 1], [0.1, np.nan], DEFAULT)


def test_cost_curve_matches_direct_cost_at_every_threshold():
    rng = np.random.default_rng(3)
    y = (rng.random(500) < 0.1).astype(int)
    proba = np.round(rng.random(500), 2)  # many ties
    thresholds = [0.0, 0.05, 0.07, 0.3, 0.5, 0.99, 1.0]
    curve = cost_curve(y, proba, DEFAULT, thresholds)
    assert list(curve.columns) == ["threshold", "cost", "tp", "fp", "tn", "fn"]
    for row in curve.itertuples():
        refuse = proba >= row.threshold
        assert row.cost == pytest.approx(cost_per_1000(y, refuse, DEFAULT))
        assert {"tp": row.tp, "fp": row.fp, "tn": row.tn, "fn": row.fn} == confusion_counts(y, refuse)


def test_cost_curve_default_grid():
    curve = cost_curve([0, 1], [0.2, 0.8], DEFAULT)
    assert len(curve) == 201
    assert curve["threshold"].iloc[0] == 0.0 and curve["threshold"].iloc[-1] == 1.0


def test_obvious_threshold_on_separable_scores():
    y = np.array([1, 1, 0, 0, 0, 0])
    proba = np.array([0.9, 0.8, 0.3, 0.2, 0.2, 0.1])
    threshold, cost = optimal_threshold(y, proba, DEFAULT)
    # refusing exactly the two defaulters: every decision correct, cost 1 each
    assert threshold == pytest.approx(0.8)
    assert cost == pytest.approx(1000.0)


def test_optimal_threshold_equals_brute_force():
    rng = np.random.default_rng(7)
    y = (rng.random(400) < 0.12).astype(int)
    proba = np.clip(0.1 + 0.3 * y + rng.normal(0, 0.15, 400), 0, 0.99).round(3)
    threshold, cost = optimal_threshold(y, proba, DEFAULT)
    candidates = [*np.unique(proba), np.nextafter(proba.max(), 1.0)]
    brute = min(cost_per_1000(y, proba >= t, DEFAULT) for t in candidates)
    assert cost == pytest.approx(brute)
    assert cost_per_1000(y, proba >= threshold, DEFAULT) == pytest.approx(cost)


def test_ties_go_to_the_threshold_refusing_fewer():
    weights = CostWeights(false_negative=1, false_positive=1, true_positive=0, true_negative=0)
    y = np.array([1, 0, 1])
    proba = np.array([0.9, 0.7, 0.5])
    # threshold 0.9: one FN (cost 1); 0.7: FP + FN (2); 0.5: one FP (1); refuse nobody: two FN (2)
    threshold, cost = optimal_threshold(y, proba, weights)
    assert threshold == pytest.approx(0.9)
    assert cost == pytest.approx(1000 / 3)


def test_refusing_nobody_can_be_optimal():
    weights = CostWeights(false_negative=1, false_positive=50, true_positive=1, true_negative=1)
    y = np.array([0, 0, 1, 0])
    proba = np.array([0.3, 0.6, 0.2, 0.1])
    threshold, cost = optimal_threshold(y, proba, weights)
    assert threshold > proba.max()
    assert threshold <= 1.0
    assert cost == pytest.approx(1000.0)
    assert not (proba >= threshold).any()


def test_equal_probabilities_form_one_decision():
    y = np.array([1, 0, 0, 0])
    proba = np.full(4, 0.4)
    threshold, cost = optimal_threshold(y, proba, DEFAULT)
    # either refuse all (1 + 3·2 = 7) or nobody (20 + 3 = 23): refuse all at 0.4
    assert threshold == pytest.approx(0.4)
    assert cost == pytest.approx(7 / 4 * 1000)
