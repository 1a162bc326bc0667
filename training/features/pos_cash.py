"""POS_CASH_balance: monthly snapshots of the applicant's previous point-of-sale and cash loans."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from training.features.aggregate import CategoryAgg, NumericAgg, TablePlan, table_labels
from training.features.catalog import NONNEGATIVE, FeatureSpec
from training.features.grouping import (
    Groups,
    child_table,
    float_column,
    indicator_where_known,
    key_positions,
    label_codes,
)

__all__ = ["PLAN", "TABLE", "compute", "feature_specs"]

TABLE = "POS_CASH_balance"
_UNIT = "the applicant's monthly snapshots of previous point-of-sale and cash loans"
_NUMERIC: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("MONTHS_BALANCE", ("MEAN", "MAX", "MIN")),
    ("CNT_INSTALMENT", ("MEAN", "MAX")),
    ("CNT_INSTALMENT_FUTURE", ("MEAN", "MAX", "MIN", "SUM")),
    ("SK_DPD", ("MEAN", "MAX", "SUM")),
    ("SK_DPD_DEF", ("MEAN", "MAX", "SUM")),
)

PLAN = TablePlan(
    table=TABLE,
    prefix="POS",
    unit=_UNIT,
    numeric=(
        *(NumericAgg(column, stats) for column, stats in _NUMERIC),
        NumericAgg("DPD", ("SHARE",), "the loan had days past due (SK_DPD > 0) that month"),
        NumericAgg("DPD_DEF", ("SHARE",), "the loan had days past due on a non-small debt (SK_DPD_DEF > 0)"),
    ),
    categories=(CategoryAgg("NAME_CONTRACT_STATUS"),),
)
"""Per-applicant statistics of the POS/cash snapshots (prefix POS)."""

_LOANS = FeatureSpec(
    "POS_LOANS_COUNT",
    "count",
    TABLE,
    "Number of distinct previous point-of-sale and cash loans with monthly snapshots "
    "(table POS_CASH_balance).",
    NONNEGATIVE,
)


def feature_specs() -> list[FeatureSpec]:
    """POS_CASH_balance features, in output order."""
    return [*PLAN.specs(), _LOANS]


def compute(tables: Mapping[str, pd.DataFrame], applicants: pd.Index) -> dict[str, np.ndarray]:
    """POS_CASH_balance feature arrays keyed by name, aligned with ``applicants``."""
    pos = child_table(tables, TABLE)
    groups = Groups(key_positions(applicants, pos["SK_ID_CURR"]), len(applicants))
    values = {column: groups.rows(float_column(pos, column)) for column, _ in _NUMERIC}
    values["DPD"] = indicator_where_known(values["SK_DPD"] > 0, ~np.isnan(values["SK_DPD"]))
    values["DPD_DEF"] = indicator_where_known(values["SK_DPD_DEF"] > 0, ~np.isnan(values["SK_DPD_DEF"]))
    labels = {
        "NAME_CONTRACT_STATUS": groups.rows(
            label_codes(pos, "NAME_CONTRACT_STATUS", table_labels(TABLE, "NAME_CONTRACT_STATUS"))
        )
    }
    out = PLAN.compute(groups, values, labels)
    out["POS_LOANS_COUNT"] = groups.distinct_count(groups.rows(float_column(pos, "SK_ID_PREV")))
    return out
