"""credit_card_balance: monthly snapshots of the applicant's previous credit cards."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from training.features.aggregate import CategoryAgg, NumericAgg, TablePlan, table_labels
from training.features.catalog import NONNEGATIVE, UNBOUNDED, FeatureSpec
from training.features.grouping import (
    Groups,
    child_table,
    float_column,
    key_positions,
    label_codes,
    safe_ratio,
)

__all__ = ["PLAN", "TABLE", "compute", "feature_specs"]

TABLE = "credit_card_balance"
_NUMERIC: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("MONTHS_BALANCE", ("MEAN", "MIN")),
    ("AMT_BALANCE", ("MEAN", "MAX", "MIN", "SUM")),
    ("AMT_CREDIT_LIMIT_ACTUAL", ("MEAN", "MAX", "MIN")),
    ("AMT_DRAWINGS_ATM_CURRENT", ("MEAN", "MAX", "SUM")),
    ("AMT_DRAWINGS_CURRENT", ("MEAN", "MAX", "SUM")),
    ("AMT_DRAWINGS_OTHER_CURRENT", ("MEAN", "MAX")),
    ("AMT_DRAWINGS_POS_CURRENT", ("MEAN", "MAX", "SUM")),
    ("AMT_INST_MIN_REGULARITY", ("MEAN", "MAX")),
    ("AMT_PAYMENT_CURRENT", ("MEAN", "MAX", "SUM")),
    ("AMT_PAYMENT_TOTAL_CURRENT", ("MEAN", "MAX", "SUM")),
    ("AMT_RECEIVABLE_PRINCIPAL", ("MEAN", "MAX")),
    ("AMT_RECIVABLE", ("MEAN",)),
    ("AMT_TOTAL_RECEIVABLE", ("MEAN", "MAX")),
    ("CNT_DRAWINGS_ATM_CURRENT", ("MEAN", "MAX")),
    ("CNT_DRAWINGS_CURRENT", ("MEAN", "MAX", "SUM")),
    ("CNT_DRAWINGS_OTHER_CURRENT", ("MEAN",)),
    ("CNT_DRAWINGS_POS_CURRENT", ("MEAN", "MAX", "SUM")),
    ("CNT_INSTALMENT_MATURE_CUM", ("MEAN", "MAX")),
    ("SK_DPD", ("MEAN", "MAX", "SUM")),
    ("SK_DPD_DEF", ("MEAN", "MAX")),
)

PLAN = TablePlan(
    table=TABLE,
    prefix="CC",
    unit="the applicant's monthly credit-card snapshots",
    numeric=(
        *(NumericAgg(column, stats) for column, stats in _NUMERIC),
        NumericAgg(
            "UTILISATION",
            ("MEAN", "MAX", "MIN"),
            "balance divided by the credit limit (months with a zero limit left out)",
            UNBOUNDED,
        ),
        NumericAgg(
            "PAYMENT_MIN_RATIO",
            ("MEAN", "MIN"),
            "total paid divided by the minimal instalment (months without a minimum left out)",
            NONNEGATIVE,
        ),
        NumericAgg("BELOW_MIN_PAYMENT", ("SHARE",), "less than the minimal instalment was paid"),
        NumericAgg("DPD", ("SHARE",), "the card had days past due (SK_DPD > 0) that month"),
    ),
    categories=(CategoryAgg("NAME_CONTRACT_STATUS"),),
)
"""Per-applicant statistics of credit-card use, repayment and delays (prefix CC)."""

_LOANS = FeatureSpec(
    "CC_LOANS_COUNT",
    "count",
    TABLE,
    "Number of distinct previous credit cards with monthly snapshots (table credit_card_balance).",
    NONNEGATIVE,
)


def feature_specs() -> list[FeatureSpec]:
    """credit_card_balance features, in output order."""
    return [*PLAN.specs(), _LOANS]


def compute(tables: Mapping[str, pd.DataFrame], applicants: pd.Index) -> dict[str, np.ndarray]:
    """credit_card_balance feature arrays keyed by name, aligned with ``applicants``."""
    card = child_table(tables, TABLE)
    groups = Groups(key_positions(applicants, card["SK_ID_CURR"]), len(applicants))
    values = {column: groups.rows(float_column(card, column)) for column, _ in _NUMERIC}
    limit = values["AMT_CREDIT_LIMIT_ACTUAL"]
    values["UTILISATION"] = safe_ratio(values["AMT_BALANCE"], np.where(limit > 0, limit, np.nan))
    minimum = values["AMT_INST_MIN_REGULARITY"]
    paid = values["AMT_PAYMENT_TOTAL_CURRENT"]
    has_minimum = minimum > 0
    values["PAYMENT_MIN_RATIO"] = safe_ratio(paid, np.where(has_minimum, minimum, np.nan))
    values["BELOW_MIN_PAYMENT"] = np.where(
        has_minimum & ~np.isnan(paid), (paid < minimum).astype(np.float64), np.nan
    )
    dpd = values["SK_DPD"]
    values["DPD"] = np.where(np.isnan(dpd), np.nan, (dpd > 0).astype(np.float64))
    labels = {
        "NAME_CONTRACT_STATUS": groups.rows(
            label_codes(card, "NAME_CONTRACT_STATUS", table_labels(TABLE, "NAME_CONTRACT_STATUS"))
        )
    }
    out = PLAN.compute(groups, values, labels)
    out["CC_LOANS_COUNT"] = groups.distinct_count(groups.rows(float_column(card, "SK_ID_PREV")))
    return out
