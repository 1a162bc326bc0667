"""A tiny but real credit-scorer bundle for service tests and benchmarks (trained in seconds)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from service.bundle import Bundle, FeatureSpec
from tests.factories import train_tiny_bundle

TINY_FEATURES = [
    FeatureSpec("AMT_CREDIT", "float", "Credit amount of the loan.", valid_min=0.0),
    FeatureSpec("AMT_INCOME_TOTAL", "float", "Income of the applicant.", valid_min=0.0),
    FeatureSpec("EXT_SOURCE_2", "float", "Normalised external score.", valid_min=0.0, valid_max=1.0),
    FeatureSpec("CNT_CHILDREN", "int", "Number of children.", valid_min=0.0),
    FeatureSpec("DAYS_BIRTH", "int", "Age in days, negative, relative to the application.", valid_max=0.0),
    FeatureSpec("FLAG_OWN_CAR", "bool", "Whether the applicant owns a car."),
    FeatureSpec(
        "BURO_AMT_CREDIT_SUM_OVERDUE_SUM",
        "float",
        "Amount overdue on credits at other lenders.",
        valid_min=0.0,
    ),
]
"""Feature spec of the tiny bundle: floats, ints and a bool, amounts with valid_min 0, one share in [0, 1]."""


def generate_applicants(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` synthetic applicants (about 10 % missing BURO_AMT_CREDIT_SUM_OVERDUE_SUM and EXT_SOURCE_2)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "AMT_CREDIT": rng.gamma(2.0, 250_000.0, n).round(2),
            "AMT_INCOME_TOTAL": rng.gamma(3.0, 60_000.0, n).round(2),
            "EXT_SOURCE_2": rng.beta(4.0, 2.0, n),
            "CNT_CHILDREN": rng.poisson(0.5, n).astype(np.int64),
            "DAYS_BIRTH": -rng.integers(7000, 25000, n),
            "FLAG_OWN_CAR": rng.random(n) < 0.35,
            "BURO_AMT_CREDIT_SUM_OVERDUE_SUM": np.where(
                rng.random(n) < 0.8, 0.0, rng.gamma(1.5, 5_000.0, n)
            ).round(2),
        }
    )
    frame.loc[rng.random(n) < 0.1, "EXT_SOURCE_2"] = np.nan
    frame.loc[rng.random(n) < 0.1, "BURO_AMT_CREDIT_SUM_OVERDUE_SUM"] = np.nan
    return frame


def default_target(frame: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Simulated default outcomes (1 = default) for generated applicants."""
    logit = (
        -2.5
        + 1.2 * (frame["AMT_CREDIT"] / (frame["AMT_INCOME_TOTAL"] * 5.0)).clip(0, 3)
        - 2.5 * (frame["EXT_SOURCE_2"].fillna(0.5) - 0.6)
        + 0.00005 * frame["BURO_AMT_CREDIT_SUM_OVERDUE_SUM"].fillna(0.0)
        + 0.00004 * (frame["DAYS_BIRTH"] + 16000)
        - 0.3 * frame["FLAG_OWN_CAR"]
    )
    return (rng.random(len(frame)) < 1.0 / (1.0 + np.exp(-logit))).astype(int)


def make_tiny_bundle(n_rows: int = 3000, seed: int = 0, n_trees: int = 40) -> Bundle:
    """Train a small LightGBM on generated applicants and wrap it in a bundle with a reference sample.

    The feature specs carry the training rows' observed range, quantiles and missing share; the reference
    sample is the first 500 training rows with their probability and ``TARGET``.
    """
    frame = generate_applicants(n_rows, seed)
    target = default_target(frame, np.random.default_rng(seed + 1))
    features = []
    for spec in TINY_FEATURES:
        column = frame[spec.name].astype(float)
        features.append(
            replace(
                spec,
                observed_min=float(column.min()),
                observed_max=float(column.max()),
                quantiles={q: float(column.quantile(float(q))) for q in ("0.01", "0.5", "0.99")},
                missing_share=float(column.isna().mean()),
            )
        )
    return train_tiny_bundle(
        frame,
        target,
        features,
        frame.iloc[:500],
        n_trees=n_trees,
        params={"num_leaves": 15, "learning_rate": 0.1, "seed": seed},
        reference_target=target[:500],
        training_fingerprint=f"tiny-{seed}",
    )


def applicant_payloads(n: int, seed: int = 1) -> list[dict]:
    """``n`` request applicants (JSON-ready: NaN -> null, ints as ints, bools as true/false)."""
    frame = generate_applicants(n, seed)
    out = []
    for i, row in enumerate(frame.to_dict("records")):
        features = {}
        for spec in TINY_FEATURES:
            value = row[spec.name]
            if isinstance(value, float) and np.isnan(value):
                features[spec.name] = None
            elif spec.dtype == "int":
                features[spec.name] = int(value)
            elif spec.dtype == "bool":
                features[spec.name] = bool(value)
            else:
                features[spec.name] = float(value)
        out.append({"id": f"app-{seed}-{i}", "features": features})
    return out
