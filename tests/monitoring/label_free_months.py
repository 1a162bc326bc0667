"""Simulated months of accepted applicants with known outcomes, for checking the label-free AUC estimate
(``tests/monitoring/test_label_free.py``, ``test_label_free_nannyml.py`` and
``benchmarks/compare_cbpe_nannyml.py``): scores skewed like default probabilities, cut at a served threshold,
and outcomes drawn from the scores, so the scores are calibrated by construction."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

THRESHOLD = 0.3
"""Simulated served threshold: only applicants below it are accepted and can have an outcome."""


def accepted_scores(rng: np.random.Generator, n: int) -> np.ndarray:
    """Scores of ``n`` accepted applicants: Beta(1.5, 12) default probabilities below ``THRESHOLD``."""
    p = rng.beta(1.5, 12.0, size=3 * n)
    return p[p < THRESHOLD][:n]


@dataclass(frozen=True)
class SimulatedMonths:
    """A labelled reference period and months of scores with the outcomes drawn from them."""

    reference_scores: np.ndarray
    """Scores of the reference period (what NannyML is fitted on), shape ``(reference_size,)``."""
    reference_defaulted: np.ndarray
    """The reference period's outcomes (True: defaulted), drawn from its scores."""
    scores: np.ndarray
    """Each month's scores, shape ``(months, size)``."""
    defaulted: np.ndarray
    """Each month's outcomes, drawn from its scores, shape ``(months, size)``."""


def simulate_months(months: int, size: int, seed: int, reference_size: int = 20_000) -> SimulatedMonths:
    """A labelled reference of ``reference_size`` accepted applicants, then ``months`` months of ``size``."""
    rng = np.random.default_rng(seed)
    reference = accepted_scores(rng, reference_size)
    reference_defaulted = rng.random(len(reference)) < reference
    scores = np.stack([accepted_scores(rng, size) for _ in range(months)])
    defaulted = rng.random(scores.shape) < scores
    return SimulatedMonths(reference, reference_defaulted, scores, defaulted)
