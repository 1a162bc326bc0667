"""previous_application: the applicant's earlier applications at Home Credit."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from training.features.aggregate import CategoryAgg, NumericAgg, TablePlan, column_about, table_labels
from training.features.catalog import NONNEGATIVE, FeatureSpec, column_domain
from training.features.grouping import (
    Groups,
    child_table,
    float_column,
    key_positions,
    label_codes,
    safe_ratio,
)

__all__ = ["PLAN", "TABLE", "compute", "feature_specs"]

TABLE = "previous_application"
_ALL = ("MEAN", "MAX", "MIN", "SUM", "MEDIAN")
_NUMERIC: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("AMT_ANNUITY", _ALL),
    ("AMT_APPLICATION", _ALL),
    ("AMT_CREDIT", _ALL),
    ("AMT_DOWN_PAYMENT", ("MEAN", "MAX", "MIN")),
    ("AMT_GOODS_PRICE", ("MEAN", "MAX", "MIN")),
    ("HOUR_APPR_PROCESS_START", ("MEAN",)),
    ("RATE_DOWN_PAYMENT", ("MEAN", "MAX", "MIN")),
    ("RATE_INTEREST_PRIMARY", ("MEAN",)),
    ("RATE_INTEREST_PRIVILEGED", ("MEAN",)),
    ("DAYS_DECISION", ("MEAN", "MAX", "MIN")),
    ("CNT_PAYMENT", ("MEAN", "MAX", "SUM")),
    ("DAYS_FIRST_DRAWING", ("MEAN", "MAX")),
    ("DAYS_FIRST_DUE", ("MEAN", "MAX")),
    ("DAYS_LAST_DUE_1ST_VERSION", ("MEAN", "MAX")),
    ("DAYS_LAST_DUE", ("MEAN", "MAX")),
    ("DAYS_TERMINATION", ("MEAN", "MAX")),
    ("NFLAG_INSURED_ON_APPROVAL", ("MEAN",)),
)
# (subset, NAME_CONTRACT_STATUS label, column, statistics)
_SUBSETS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("APPROVED", "Approved", "AMT_CREDIT", ("MEAN", "SUM")),
    ("APPROVED", "Approved", "AMT_ANNUITY", ("MEAN",)),
    ("APPROVED", "Approved", "CNT_PAYMENT", ("MEAN",)),
    ("APPROVED", "Approved", "DAYS_DECISION", ("MAX",)),
    ("REFUSED", "Refused", "AMT_APPLICATION", ("MEAN", "MAX")),
    ("REFUSED", "Refused", "AMT_CREDIT", ("MEAN",)),
    ("REFUSED", "Refused", "DAYS_DECISION", ("MAX",)),
)

PLAN = TablePlan(
    table=TABLE,
    prefix="PREV",
    unit="the applicant's previous applications at Home Credit",
    numeric=(
        *(NumericAgg(column, stats) for column, stats in _NUMERIC),
        NumericAgg(
            "APPLICATION_CREDIT_RATIO",
            ("MEAN", "MAX", "MIN"),
            "amount asked for divided by the amount granted",
            NONNEGATIVE,
        ),
        *(
            NumericAgg(
                f"{subset}_{column}",
                stats,
                f"{column_about(TABLE, column)}, counting only {label.lower()} applications",
                column_domain(TABLE, column),
            )
            for subset, label, column, stats in _SUBSETS
        ),
    ),
    categories=(
        CategoryAgg("NAME_CONTRACT_STATUS", counts=True),
        CategoryAgg("NAME_CONTRACT_TYPE"),
        CategoryAgg("NAME_CLIENT_TYPE"),
        CategoryAgg("NAME_YIELD_GROUP"),
        CategoryAgg("NAME_PORTFOLIO"),
        CategoryAgg("NAME_PRODUCT_TYPE"),
        CategoryAgg("NAME_PAYMENT_TYPE"),
        CategoryAgg("CHANNEL_TYPE"),
        CategoryAgg("CODE_REJECT_REASON"),
    ),
)
"""Per-applicant statistics and category shares of previous applications (prefix PREV)."""


def feature_specs() -> list[FeatureSpec]:
    """previous_application features, in output order."""
    return PLAN.specs()


def compute(tables: Mapping[str, pd.DataFrame], applicants: pd.Index) -> dict[str, np.ndarray]:
    """previous_application feature arrays keyed by name, aligned with ``applicants``."""
    previous = child_table(tables, TABLE)
    groups = Groups(key_positions(applicants, previous["SK_ID_CURR"]), len(applicants))
    values = {column: groups.rows(float_column(previous, column)) for column, _ in _NUMERIC}
    labels = {
        cat.column: groups.rows(label_codes(previous, cat.column, table_labels(TABLE, cat.column)))
        for cat in PLAN.categories
    }
    values["APPLICATION_CREDIT_RATIO"] = safe_ratio(values["AMT_APPLICATION"], values["AMT_CREDIT"])
    statuses = table_labels(TABLE, "NAME_CONTRACT_STATUS")
    for subset, label, column, _ in _SUBSETS:
        in_subset = labels["NAME_CONTRACT_STATUS"] == statuses.index(label)
        values[f"{subset}_{column}"] = np.where(in_subset, values[column], np.nan)
    return PLAN.compute(groups, values, labels)
