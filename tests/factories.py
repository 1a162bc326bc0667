"""Small real objects shared by tests of several packages."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd

from service.bundle import Bundle, CostWeights, FeatureSpec


def make_tiny_bundle(rows: int = 300) -> Bundle:
    """A real but tiny bundle: three features, a 10-tree LightGBM, a reference sample of ``rows`` rows."""
    rng = np.random.default_rng(0)
    X = rng.random((rows, 3))
    y = (X[:, 0] + rng.random(rows) > 1.0).astype(int)
    names = ["AMT_X", "CNT_Y", "FLAG_Z"]
    booster = lgb.train(
        {"objective": "binary", "verbose": -1, "num_threads": 1},
        lgb.Dataset(X, y, feature_name=names),
        num_boost_round=10,
    )
    reference = pd.DataFrame(X, columns=names)
    reference["probability"] = booster.predict(X)
    return Bundle(
        booster_text=booster.model_to_string(),
        features=[
            FeatureSpec("AMT_X", "float", valid_min=0.0, quantiles={"0.5": 0.5}),
            FeatureSpec("CNT_Y", "int", valid_min=0.0),
            FeatureSpec("FLAG_Z", "bool", missing_allowed=False),
        ],
        threshold=0.3,
        cost=CostWeights(),
        metrics={"holdout_auc": np.float64(0.71), "confusion": np.array([1, 2])},
        training_fingerprint="abc",
        model_card="# card",
        assets={"plots/x.png": b"\x89PNG"},
        reference=reference,
    )
