"""installments_payments: due dates and payments of the applicant's previous credits."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from training.features.aggregate import NumericAgg, TablePlan
from training.features.catalog import NONNEGATIVE, UNBOUNDED, FeatureSpec
from training.features.grouping import (
    Groups,
    child_table,
    float_column,
    indicator_where_known,
    key_positions,
    safe_ratio,
)

__all__ = ["PLAN", "TABLE", "compute", "feature_specs"]

TABLE = "installments_payments"
_NUMERIC: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("NUM_INSTALMENT_VERSION", ("MAX",)),
    ("NUM_INSTALMENT_NUMBER", ("MEAN", "MAX")),
    ("DAYS_INSTALMENT", ("MEAN", "MAX", "MIN")),
    ("DAYS_ENTRY_PAYMENT", ("MEAN", "MAX", "MIN")),
    ("AMT_INSTALMENT", ("MEAN", "MAX", "SUM")),
    ("AMT_PAYMENT", ("MEAN", "MAX", "MIN", "SUM")),
)

PLAN = TablePlan(
    table=TABLE,
    prefix="INST",
    unit="the applicant's instalment payments on previous credits",
    numeric=(
        *(NumericAgg(column, stats) for column, stats in _NUMERIC),
        NumericAgg(
            "PAYMENT_DELAY",
            ("MEAN", "MAX", "MIN", "SUM", "MEDIAN"),
            "payment date minus due date in days (positive = paid late)",
            UNBOUNDED,
        ),
        NumericAgg(
            "DAYS_PAST_DUE",
            ("MEAN", "MAX", "SUM"),
            "days the payment came after the due date (0 if on time)",
            NONNEGATIVE,
        ),
        NumericAgg(
            "DAYS_BEFORE_DUE",
            ("MEAN", "MAX", "SUM"),
            "days the payment came before the due date (0 if late)",
            NONNEGATIVE,
        ),
        NumericAgg("LATE", ("SHARE",), "the payment came after the due date"),
        NumericAgg(
            "UNDERPAYMENT",
            ("MEAN", "MAX", "MIN", "SUM"),
            "amount due minus amount paid (positive = paid less than due)",
            UNBOUNDED,
        ),
        NumericAgg("UNDERPAID", ("SHARE",), "less was paid than was due"),
        NumericAgg("PAYMENT_RATIO", ("MEAN", "MAX", "MIN"), "amount paid divided by amount due", NONNEGATIVE),
    ),
)
"""Per-applicant statistics of payments, delays and shortfalls (prefix INST)."""

_LOANS = FeatureSpec(
    "INST_LOANS_COUNT",
    "count",
    TABLE,
    "Number of distinct previous credits with instalment records (table installments_payments).",
    NONNEGATIVE,
)


def feature_specs() -> list[FeatureSpec]:
    """installments_payments features, in output order."""
    return [*PLAN.specs(), _LOANS]


def compute(tables: Mapping[str, pd.DataFrame], applicants: pd.Index) -> dict[str, np.ndarray]:
    """installments_payments feature arrays keyed by name, aligned with ``applicants``."""
    inst = child_table(tables, TABLE)
    groups = Groups(key_positions(applicants, inst["SK_ID_CURR"]), len(applicants))
    values = {column: groups.rows(float_column(inst, column)) for column, _ in _NUMERIC}
    delay = values["DAYS_ENTRY_PAYMENT"] - values["DAYS_INSTALMENT"]
    values["PAYMENT_DELAY"] = delay
    values["DAYS_PAST_DUE"] = np.clip(delay, 0, None)
    values["DAYS_BEFORE_DUE"] = np.clip(-delay, 0, None)
    values["LATE"] = indicator_where_known(delay > 0, ~np.isnan(delay))
    shortfall = values["AMT_INSTALMENT"] - values["AMT_PAYMENT"]
    values["UNDERPAYMENT"] = shortfall
    values["UNDERPAID"] = indicator_where_known(shortfall > 0, ~np.isnan(shortfall))
    values["PAYMENT_RATIO"] = safe_ratio(values["AMT_PAYMENT"], values["AMT_INSTALMENT"])
    out = PLAN.compute(groups, values, {})
    out["INST_LOANS_COUNT"] = groups.distinct_count(groups.rows(float_column(inst, "SK_ID_PREV")))
    return out
