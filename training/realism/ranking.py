"""The model ranking: the default training pipeline's candidate comparison on one data set.

:func:`rank_models` runs :func:`training.modeling.train_and_evaluate` (selection on the training split,
cross-validated baselines, time-boxed LightGBM tuning, refits, untouched holdout) without the interpretation
step, and keeps what the realism report compares: each candidate's holdout ROC AUC, the LightGBM minus
logistic-regression gap with a paired bootstrap interval over the holdout rows (it shows how much of the gap
the holdout's size alone can explain; the split and the fits are not redrawn), and, for generated data, the
AUC of the true default probability on the same holdout.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from training.modeling import ModelingConfig, train_and_evaluate
from training.models import CANDIDATE_NAMES

__all__ = ["ModelRun", "gap_interval", "rank_models"]

BOOTSTRAP_DRAWS = 400
"""Resamples of the holdout rows behind the gap's interval."""


@dataclass
class ModelRun:
    """The candidate comparison of the default pipeline on one data set."""

    label: str
    """Which data: ``real``, or which generated variant."""
    tables: list[str]
    """Kaggle tables the features were built from."""
    applicants: int
    """Labelled applicants (training split and holdout together)."""
    holdout_rows: int
    """Applicants of the untouched holdout the AUCs are measured on."""
    base_rate: float
    """Share of TARGET = 1 over all applicants."""
    features: int
    """Features kept by the pipeline's selection."""
    holdout_auc: dict[str, float]
    """Holdout ROC AUC of each candidate (dummy, logistic regression, decision tree, LightGBM)."""
    gap: float
    """LightGBM minus logistic-regression holdout AUC."""
    gap_low: float
    """5th percentile of the gap over bootstrap resamples of the holdout rows."""
    gap_high: float
    """95th percentile of the gap over the same resamples."""
    true_probability_auc: float | None
    """Holdout AUC of the generator's true default probability (generated data only)."""
    seconds: float
    """Wall time of the pipeline run."""

    @property
    def ranking(self) -> list[str]:
        """Candidates from the best holdout AUC to the worst."""
        return sorted(self.holdout_auc, key=lambda name: -self.holdout_auc[name])

    @property
    def lightgbm_share_of_true(self) -> float | None:
        """LightGBM's holdout AUC divided by the true probability's (generated data only)."""
        if self.true_probability_auc is None:
            return None
        return self.holdout_auc["lightgbm"] / self.true_probability_auc


def gap_interval(
    y: np.ndarray, first: np.ndarray, second: np.ndarray, *, draws: int = BOOTSTRAP_DRAWS, seed: int = 0
) -> tuple[float, float]:
    """5th and 95th percentiles of AUC(first) - AUC(second) over paired bootstrap resamples of the rows.

    Resamples holding a single class are skipped; NaNs when none is usable.
    """
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    gaps = []
    for _ in range(draws):
        rows = rng.integers(0, len(y), len(y))
        sample = y[rows]
        if sample.min() == sample.max():
            continue
        gaps.append(roc_auc_score(sample, first[rows]) - roc_auc_score(sample, second[rows]))
    if not gaps:
        return float("nan"), float("nan")
    low, high = np.percentile(gaps, [5, 95])
    return float(low), float(high)


def rank_models(
    features: pd.DataFrame,
    target: pd.Series,
    *,
    label: str,
    tables: list[str],
    modeling: ModelingConfig,
    true_probability: pd.Series | None = None,
) -> ModelRun:
    """Run the default pipeline's model comparison on ``features`` and ``target`` (same index).

    Args:
        features: one row per applicant, the training features (``training.features.build_features``).
        target: TARGET on the same index.
        label: name of the data set in the report.
        tables: the tables the features came from (reported as given).
        modeling: the pipeline's settings; the interpretation step is switched off here.
        true_probability: the generator's true default probability by SK_ID_CURR, for generated data.
    """
    started = time.perf_counter()
    config = replace(modeling, interpretation=False)
    outcome = train_and_evaluate(features, target, config, true_probability=true_probability)
    metrics = outcome.metrics
    auc = {name: float(metrics["candidates"][name]["holdout_auc"]) for name in CANDIDATE_NAMES}
    y_holdout = outcome.y_holdout.to_numpy()
    probabilities = outcome.candidate_holdout_proba
    low, high = gap_interval(
        y_holdout,
        probabilities["lightgbm"],
        probabilities["logistic_regression"],
        seed=modeling.random_state,
    )
    true_auc = metrics.get("true_probability_auc")
    return ModelRun(
        label=label,
        tables=tables,
        applicants=int(metrics["n_rows"]),
        holdout_rows=int(metrics["n_holdout"]),
        base_rate=float(target.mean()),
        features=int(metrics["n_features"]),
        holdout_auc=auc,
        gap=auc["lightgbm"] - auc["logistic_regression"],
        gap_low=low,
        gap_high=high,
        true_probability_auc=None if true_auc is None else float(true_auc),
        seconds=time.perf_counter() - started,
    )
