"""Business cost of accept/refuse decisions and the probability threshold that minimises it.

Positive class = default. An applicant is refused when the predicted probability of default is at or
above the threshold (the same rule as :meth:`service.bundle.Bundle.decide`), so a refusal is a predicted
positive: a refused defaulter is a true positive, a refused good client a false positive, an accepted
defaulter a false negative and an accepted good client a true negative.

The cost per 1,000 applicants generalises the original project's formula
``(2·refused good + 20·accepted defaulter + correct refusals + correct accepts) / n · 1000`` to any
:class:`~service.bundle.CostWeights`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from service.bundle import CostWeights

__all__ = ["confusion_counts", "cost_curve", "cost_per_1000", "optimal_threshold"]


def _as_binary(y_true: Sequence[int] | np.ndarray | pd.Series) -> np.ndarray:
    y = np.asarray(y_true)
    if y.ndim != 1:
        raise ValueError("y_true must be one-dimensional")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("y_true must contain only 0 (repaid) and 1 (default)")
    return y.astype(bool)


def _weighted_cost(tp: np.ndarray, fp: np.ndarray, tn: np.ndarray, fn: np.ndarray, n: int, w: CostWeights):
    total = w.false_negative * fn + w.false_positive * fp + w.true_positive * tp + w.true_negative * tn
    return total / n * 1000.0


def confusion_counts(
    y_true: Sequence[int] | np.ndarray | pd.Series, refuse: Sequence[bool] | np.ndarray | pd.Series
) -> dict[str, int]:
    """Counts of true/false positives/negatives, with "refused" as the positive (default) prediction."""
    y = _as_binary(y_true)
    r = np.asarray(refuse).astype(bool)
    if r.shape != y.shape:
        raise ValueError(f"refuse has shape {r.shape}, y_true has {y.shape}")
    return {
        "tp": int(np.sum(r & y)),
        "fp": int(np.sum(r & ~y)),
        "tn": int(np.sum(~r & ~y)),
        "fn": int(np.sum(~r & y)),
    }


def cost_per_1000(
    y_true: Sequence[int] | np.ndarray | pd.Series,
    refuse: Sequence[bool] | np.ndarray | pd.Series,
    weights: CostWeights,
) -> float:
    """Average cost of the decisions ``refuse`` per 1,000 applicants whose outcomes are ``y_true``.

    ``cost = (w_fn·FN + w_fp·FP + w_tp·TP + w_tn·TN) / n · 1000``.
    """
    counts = confusion_counts(y_true, refuse)
    n = sum(counts.values())
    if n == 0:
        raise ValueError("cannot compute a cost on zero applicants")
    return float(
        _weighted_cost(
            np.float64(counts["tp"]),
            np.float64(counts["fp"]),
            np.float64(counts["tn"]),
            np.float64(counts["fn"]),
            n,
            weights,
        )
    )


def cost_curve(
    y_true: Sequence[int] | np.ndarray | pd.Series,
    proba: Sequence[float] | np.ndarray | pd.Series,
    weights: CostWeights,
    thresholds: Sequence[float] | np.ndarray | None = None,
) -> pd.DataFrame:
    """Cost per 1,000 applicants and confusion counts at each threshold (refuse if ``proba >= threshold``).

    ``thresholds`` defaults to 201 evenly spaced values from 0 to 1. Returns one row per threshold with
    columns ``threshold, cost, tp, fp, tn, fn``, in increasing threshold order.
    """
    y = _as_binary(y_true)
    p = np.asarray(proba, dtype=float)
    if p.shape != y.shape:
        raise ValueError(f"proba has shape {p.shape}, y_true has {y.shape}")
    if len(y) == 0:
        raise ValueError("cannot compute a cost curve on zero applicants")
    t = np.linspace(0.0, 1.0, 201) if thresholds is None else np.sort(np.asarray(thresholds, dtype=float))
    order = np.argsort(p, kind="stable")
    p_sorted = p[order]
    y_sorted = y[order].astype(np.int64)
    positives_below = np.concatenate([[0], np.cumsum(y_sorted)])  # positives among the k lowest
    n, n_pos = len(y), int(y.sum())
    accepted = np.searchsorted(p_sorted, t, side="left")  # number with proba < t
    fn = positives_below[accepted]
    tn = accepted - fn
    tp = n_pos - fn
    fp = (n - accepted) - tp
    return pd.DataFrame(
        {
            "threshold": t,
            "cost": _weighted_cost(tp, fp, tn, fn, n, weights),
            "tp": tp.astype(np.int64),
            "fp": fp.astype(np.int64),
            "tn": tn.astype(np.int64),
            "fn": fn.astype(np.int64),
        }
    )


def optimal_threshold(
    y_true: Sequence[int] | np.ndarray | pd.Series,
    proba: Sequence[float] | np.ndarray | pd.Series,
    weights: CostWeights,
) -> tuple[float, float]:
    """The threshold minimising the cost per 1,000 applicants, and that cost.

    Exact: every distinct probability is a candidate threshold (refuse all applicants at or above it),
    plus "refuse nobody" (a threshold just above the largest probability, when that is below 1). Computed
    in one pass over the probabilities sorted in decreasing order. Ties go to the threshold that refuses
    fewer applicants (the higher one).
    """
    y = _as_binary(y_true)
    p = np.asarray(proba, dtype=float)
    if p.shape != y.shape:
        raise ValueError(f"proba has shape {p.shape}, y_true has {y.shape}")
    if len(y) == 0:
        raise ValueError("cannot choose a threshold on zero applicants")
    if np.isnan(p).any():
        raise ValueError("proba contains NaN")
    order = np.argsort(-p, kind="stable")
    p_desc = p[order]
    y_desc = y[order].astype(np.int64)
    # last position of each run of equal probabilities: refusing everyone down to it is one decision rule
    is_group_end = np.append(p_desc[1:] != p_desc[:-1], True)
    tp = np.cumsum(y_desc)[is_group_end]
    refused = (np.nonzero(is_group_end)[0] + 1).astype(np.int64)
    thresholds = p_desc[is_group_end]
    if p_desc[0] < 1.0:  # "refuse nobody" is reachable with a threshold in [0, 1]
        tp = np.concatenate([[0], tp])
        refused = np.concatenate([[0], refused])
        thresholds = np.concatenate([[np.nextafter(p_desc[0], np.inf)], thresholds])
    n, n_pos = len(y), int(y.sum())
    fp = refused - tp
    fn = n_pos - tp
    tn = (n - refused) - fn
    costs = _weighted_cost(tp, fp, tn, fn, n, weights)
    # candidates are ordered by increasing number refused: the first (near-)minimum refuses fewest
    best = int(np.argmax(costs <= costs.min() + 1e-9 * max(1.0, abs(costs.min()))))
    return float(thresholds[best]), float(costs[best])
