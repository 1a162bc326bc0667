"""Build the bundle's ordered feature spec from the training data of the selected features."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from service.bundle import FeatureDType, FeatureSpec
from training.features import describe_feature, feature_domain

QUANTILE_LEVELS = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
"""Quantiles of each feature recorded in the spec (documentation for callers, drift context)."""

_AVERAGE_MARKERS = ("MEAN", "MEDIAN", "SHARE", "RATIO", "RATE", "STD", "PERC", "FRAC", "AVG")
"""Name parts of aggregates that are fractional by nature even when the training rows happen to be whole."""


def infer_dtype(name: str, values: pd.Series) -> FeatureDType:
    """Infer ``bool``/``int``/``float`` from the training values, never narrowing an average to a count."""
    present = values.dropna().to_numpy(dtype=float)
    if present.size == 0 or any(marker in name for marker in _AVERAGE_MARKERS):
        return "float"
    if not np.all(np.isfinite(present)) or not np.all(present == np.round(present)):
        return "float"
    if np.isin(present, (0.0, 1.0)).all():
        return "bool"
    return "int"


def build_feature_specs(train: pd.DataFrame, names: Sequence[str]) -> list[FeatureSpec]:
    """One :class:`FeatureSpec` per name, in the given (booster) order, from the training rows."""
    specs = []
    for name in names:
        column = pd.to_numeric(train[name], errors="coerce").replace([np.inf, -np.inf], np.nan)
        present = column.dropna()
        low, high = feature_domain(name)
        quantiles = (
            {
                f"{q:g}": float(v)
                for q, v in zip(QUANTILE_LEVELS, present.quantile(QUANTILE_LEVELS), strict=True)
            }
            if not present.empty
            else {}
        )
        specs.append(
            FeatureSpec(
                name=name,
                dtype=infer_dtype(name, column),
                description=describe_feature(name),
                valid_min=low,
                valid_max=high,
                observed_min=float(present.min()) if not present.empty else None,
                observed_max=float(present.max()) if not present.empty else None,
                quantiles=quantiles,
                missing_allowed=True,
                missing_share=float(column.isna().mean()),
            )
        )
    return specs
