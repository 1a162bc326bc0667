"""Applicant-table features: numeric columns as they are, yes/no flags, one-hot text, domain ratios."""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.features.catalog import NONNEGATIVE, SHARE, FeatureSpec, column_domain
from training.features.grouping import float_column, label_codes, safe_ratio
from training.features.naming import feature_name, sanitise_label
from training.schema import TABLES

__all__ = ["TABLE", "compute", "feature_specs"]

TABLE = "application"
"""Name of the applicant table in the mapping given to build_features."""

_SCHEMA = TABLES["application_train"]
_NOT_FEATURES = ("SK_ID_CURR", "TARGET")
_YES_NO = ({"N", "Y"}, {"No", "Yes"})
_EXT_SOURCES = ("EXT_SOURCE_1", "EXT_SOURCE_2", "EXT_SOURCE_3")
_EXT_WEIGHTS = np.array([1.0, 2.0, 3.0])
"""Weights of EXT_SOURCE_1..3 in APP_EXT_SOURCES_WEIGHTED (the later scores carry more signal)."""


def _numeric_columns() -> list[str]:
    return [c.name for c in _SCHEMA.columns if c.kind != "str" and c.name not in _NOT_FEATURES]


def _text_columns() -> list[str]:
    return [c.name for c in _SCHEMA.columns if c.kind == "str"]


def _is_yes_no(column: str) -> bool:
    return set(_SCHEMA.column(column).categories) in _YES_NO


# name, description, domain of the derived ratio and EXT_SOURCE features, in output order
_DERIVED: tuple[tuple[str, str, tuple[float | None, float | None]], ...] = (
    ("APP_CREDIT_INCOME_RATIO", "Amount lent divided by the declared annual income", NONNEGATIVE),
    ("APP_ANNUITY_INCOME_RATIO", "Periodic repayment divided by the declared annual income", NONNEGATIVE),
    (
        "APP_CREDIT_TERM",
        "Amount lent divided by the periodic repayment (the credit term in repayments)",
        NONNEGATIVE,
    ),
    ("APP_GOODS_CREDIT_RATIO", "Price of the financed goods divided by the amount lent", NONNEGATIVE),
    (
        "APP_EMPLOYED_AGE_RATIO",
        "Length of the current employment as a share of the applicant's age",
        NONNEGATIVE,
    ),
    ("APP_INCOME_PER_FAMILY_MEMBER", "Declared annual income divided by the family size", NONNEGATIVE),
    ("APP_EXT_SOURCES_MEAN", "Mean of the available external scores EXT_SOURCE_1..3", SHARE),
    ("APP_EXT_SOURCES_MIN", "Smallest of the available external scores EXT_SOURCE_1..3", SHARE),
    ("APP_EXT_SOURCES_MAX", "Largest of the available external scores EXT_SOURCE_1..3", SHARE),
    (
        "APP_EXT_SOURCES_STD",
        "Spread (population standard deviation) of the available external scores EXT_SOURCE_1..3",
        (0.0, 0.5),
    ),
    (
        "APP_EXT_SOURCES_PROD",
        "Product of the three external scores EXT_SOURCE_1..3 (missing if one is)",
        SHARE,
    ),
    (
        "APP_EXT_SOURCES_WEIGHTED",
        "Weighted mean of the available external scores with weights 1, 2, 3 for EXT_SOURCE_1, 2, 3",
        SHARE,
    ),
)


def feature_specs() -> list[FeatureSpec]:
    """Applicant-table features, in output order (fixed by the schema)."""
    specs = [
        FeatureSpec(
            name,
            "value",
            TABLE,
            f"Applicant column {name} as given: {_SCHEMA.column(name).description} (table application).",
            column_domain(TABLE, name),
        )
        for name in _numeric_columns()
    ]
    for column in _text_columns():
        spec = _SCHEMA.column(column)
        if _is_yes_no(column):
            specs.append(
                FeatureSpec(
                    feature_name(column),
                    "value",
                    TABLE,
                    f"1 when {column} ({spec.description}) is yes, 0 when no (table application).",
                    SHARE,
                )
            )
            continue
        for label in spec.categories:
            specs.append(
                FeatureSpec(
                    feature_name(column, sanitise_label(label)),
                    "flag",
                    TABLE,
                    f"1 when {column} ({spec.description}) is {label!r}, else 0 (table application).",
                    SHARE,
                )
            )
    specs.extend(
        FeatureSpec(name, "value", TABLE, f"{text} (table application).", dom) for name, text, dom in _DERIVED
    )
    specs.append(
        FeatureSpec(
            "APP_EXT_SOURCES_MISSING_COUNT",
            "count",
            TABLE,
            "Number of the three external scores EXT_SOURCE_1..3 that are missing (table application).",
            (0.0, 3.0),
        )
    )
    return specs


def _ext_source_features(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    scores = (
        np.column_stack([float_column(frame, c) for c in _EXT_SOURCES]) if len(frame) else np.empty((0, 3))
    )
    present = ~np.isnan(scores)
    n_present = present.sum(axis=1)
    filled = np.where(present, scores, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = filled.sum(axis=1) / n_present
        std = np.sqrt((np.where(present, scores - mean[:, None], 0.0) ** 2).sum(axis=1) / n_present)
        weights = present * _EXT_WEIGHTS
        weighted = (filled * _EXT_WEIGHTS).sum(axis=1) / weights.sum(axis=1)
    none = n_present == 0
    low = np.where(present, scores, np.inf).min(axis=1) if len(frame) else np.empty(0)
    high = np.where(present, scores, -np.inf).max(axis=1) if len(frame) else np.empty(0)
    return {
        "APP_EXT_SOURCES_MEAN": np.where(none, np.nan, mean),
        "APP_EXT_SOURCES_MIN": np.where(none, np.nan, low),
        "APP_EXT_SOURCES_MAX": np.where(none, np.nan, high),
        "APP_EXT_SOURCES_STD": np.where(none, np.nan, std),
        "APP_EXT_SOURCES_PROD": np.prod(scores, axis=1),
        "APP_EXT_SOURCES_WEIGHTED": np.where(none, np.nan, weighted),
        "APP_EXT_SOURCES_MISSING_COUNT": (3 - n_present).astype(np.int64),
    }


def compute(application: pd.DataFrame) -> dict[str, np.ndarray]:
    """Applicant-table feature arrays keyed by name, one entry per application row, in row order."""
    out: dict[str, np.ndarray] = {name: float_column(application, name) for name in _numeric_columns()}
    for column in _text_columns():
        labels = _SCHEMA.column(column).categories
        codes = label_codes(application, column, labels)
        if _is_yes_no(column):
            yes = labels.index("Y") if "Y" in labels else labels.index("Yes")
            out[column] = np.where(codes < 0, np.nan, (codes == yes).astype(np.float64))
            continue
        for position, label in enumerate(labels):
            out[feature_name(column, sanitise_label(label))] = (codes == position).astype(np.int64)
    credit = out["AMT_CREDIT"]
    income = out["AMT_INCOME_TOTAL"]
    annuity = out["AMT_ANNUITY"]
    out["APP_CREDIT_INCOME_RATIO"] = safe_ratio(credit, income)
    out["APP_ANNUITY_INCOME_RATIO"] = safe_ratio(annuity, income)
    out["APP_CREDIT_TERM"] = safe_ratio(credit, annuity)
    out["APP_GOODS_CREDIT_RATIO"] = safe_ratio(out["AMT_GOODS_PRICE"], credit)
    out["APP_EMPLOYED_AGE_RATIO"] = safe_ratio(out["DAYS_EMPLOYED"], out["DAYS_BIRTH"])
    out["APP_INCOME_PER_FAMILY_MEMBER"] = safe_ratio(income, out["CNT_FAM_MEMBERS"])
    out.update(_ext_source_features(application))
    return out
