"""The label-free estimate of AUC for decisions whose outcomes have not arrived (the idea behind NannyML's
confidence-based performance estimation, CBPE).

If the predicted probabilities are calibrated, applicant *i* defaults with probability *pᵢ*: in expectation
it is a defaulter with weight *pᵢ* and a repaid loan with weight 1 − *pᵢ*. The expected ROC curve follows
from those weights (at each threshold, true positives Σ *pᵢ* and false positives Σ (1 − *pᵢ*) over the
applicants scored at or above it), and its area is the expected AUC: a weighted Mann-Whitney statistic,
ties counting one half. It needs no outcome, so it is available from the first day of a month.

It is only as good as the calibration: a change in how applicants default at a given score (a recession,
fraud) moves the realized AUC and not this estimate. Read it beside the realized AUC once outcomes arrive.
"""

from __future__ import annotations

import numpy as np


def expected_auc(probability: np.ndarray) -> float:
    """Expected ROC AUC of the scores ``probability`` if they are calibrated; NaN for fewer than two."""
    p = np.asarray(probability, dtype=float)
    if len(p) < 2:
        return float("nan")
    scores, inverse = np.unique(p, return_inverse=True)  # ascending distinct scores
    positive = np.bincount(inverse, weights=p, minlength=len(scores))
    negative = np.bincount(inverse, weights=1.0 - p, minlength=len(scores))
    total_positive, total_negative = positive.sum(), negative.sum()
    if total_positive <= 0 or total_negative <= 0:
        return float("nan")
    negatives_below = np.cumsum(negative) - negative  # negative weight strictly below each score
    pairs = positive * (negatives_below + 0.5 * negative)
    return float(pairs.sum() / (total_positive * total_negative))
