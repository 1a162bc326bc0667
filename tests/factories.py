"""Small real objects shared by tests of several packages.

:func:`train_tiny_bundle` is the one place that trains a tiny LightGBM and wraps it in a
:class:`service.bundle.Bundle`; :func:`make_tiny_bundle` (here),
``tests.service.tiny_bundle.make_tiny_bundle`` and ``tests.monitoring.synthetic.make_bundle`` only choose
its data, features and settings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from service.applicant.definitions import definitions_fingerprint, feature_names
from service.bundle import PROBABILITY_COLUMN, TARGET_COLUMN, Bundle, CostWeights, FeatureSpec
from service.stability_bins import build_stability_bins

BASE_PARAMS: dict[str, Any] = {"objective": "binary", "verbose": -1}
"""LightGBM parameters of every tiny booster; callers add their own (leaves, learning rate, threads, seed)."""


def train_tiny_bundle(
    train: pd.DataFrame,
    target: np.ndarray,
    features: Sequence[FeatureSpec],
    reference: pd.DataFrame,
    *,
    n_trees: int,
    training_fingerprint: str,
    params: Mapping[str, Any] | None = None,
    threshold: float | Callable[[np.ndarray], float] = 0.3,
    reference_target: np.ndarray | None = None,
    metrics: dict[str, Any] | None = None,
    model_card: str = "",
    assets: Mapping[str, bytes] | None = None,
    stability: bool = True,
) -> Bundle:
    """Train a tiny binary LightGBM and return it as a bundle with a scored reference sample.

    Args:
        train: training rows; the columns named by ``features`` are the booster's inputs, in that order
            (converted to float, so int and bool columns are accepted).
        target: 0/1 labels of ``train``'s rows.
        features: the bundle's feature specs, in booster column order.
        reference: rows of the reference sample (a copy is kept, with ``probability`` appended).
        n_trees: boosting rounds.
        training_fingerprint: the bundle's training fingerprint.
        params: LightGBM parameters added to (or overriding) :data:`BASE_PARAMS`.
        threshold: the decision threshold, or a function of the reference probabilities that returns it.
        reference_target: labels of the reference rows, appended as ``TARGET`` after ``probability``.
        metrics: the bundle's metrics; default ``{"holdout_auc": 0.7}``.
        model_card: the bundle's model card.
        assets: the bundle's extra files by relative path.
        stability: store frozen stability bins: feature bins from ``train``, score bands from the reference
            probabilities (as training does with its training split and holdout); ``False`` makes a bundle
            like those trained before the bins existed.

    Same arguments, same booster: LightGBM is deterministic for a given data set and parameters. When every
    feature is one the applicant contract defines, the bundle records their definitions' fingerprint, so the
    service also scores applicant documents with it.
    """
    import lightgbm as lgb

    names = [spec.name for spec in features]
    booster = lgb.train(
        {**BASE_PARAMS, **(params or {})},
        lgb.Dataset(train[names].to_numpy(dtype=float), label=target, feature_name=names),
        num_boost_round=n_trees,
    )
    scored = reference.copy()
    probabilities = booster.predict(reference[names].to_numpy(dtype=float), num_threads=1)
    scored[PROBABILITY_COLUMN] = probabilities
    if reference_target is not None:
        scored[TARGET_COLUMN] = reference_target
    return Bundle(
        booster_text=booster.model_to_string(),
        features=list(features),
        threshold=threshold(probabilities) if callable(threshold) else threshold,
        cost=CostWeights(),
        metrics={"holdout_auc": 0.7} if metrics is None else metrics,
        training_fingerprint=training_fingerprint,
        model_card=model_card,
        assets=dict(assets or {}),
        reference=scored,
        feature_definitions=definitions_fingerprint(names) if set(names) <= set(feature_names()) else "",
        stability=build_stability_bins(train, names, probabilities, source="tiny test bundle")
        if stability
        else None,
    )


def make_tiny_bundle(rows: int = 300) -> Bundle:
    """A real but tiny bundle: three features, a 10-tree LightGBM, a reference sample of ``rows`` rows."""
    rng = np.random.default_rng(0)
    X = rng.random((rows, 3))
    y = (X[:, 0] + rng.random(rows) > 1.0).astype(int)
    frame = pd.DataFrame(X, columns=["AMT_X", "CNT_Y", "FLAG_Z"])
    return train_tiny_bundle(
        frame,
        y,
        [
            FeatureSpec("AMT_X", "float", valid_min=0.0, quantiles={"0.5": 0.5}),
            FeatureSpec("CNT_Y", "int", valid_min=0.0),
            FeatureSpec("FLAG_Z", "bool", missing_allowed=False),
        ],
        frame,
        n_trees=10,
        params={"num_threads": 1},
        metrics={"holdout_auc": np.float64(0.71), "confusion": np.array([1, 2])},
        training_fingerprint="abc",
        model_card="# card",
        assets={"plots/x.png": b"\x89PNG"},
    )
