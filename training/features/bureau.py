"""bureau: the applicant's credits at other lenders, with their monthly statuses (bureau_balance)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from training.features import bureau_balance
from training.features.aggregate import CategoryAgg, NumericAgg, TablePlan, column_about, table_labels
from training.features.catalog import NONNEGATIVE, UNBOUNDED, FeatureSpec, column_domain
from training.features.grouping import Groups, float_column, key_positions, label_codes, safe_ratio

__all__ = ["PLAN", "TABLE", "compute", "feature_specs"]

TABLE = "bureau"
_UNIT = "the applicant's credits reported by other lenders"
_ALL = ("MEAN", "MAX", "MIN", "SUM", "MEDIAN")
_NUMERIC: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("DAYS_CREDIT", ("MEAN", "MAX", "MIN", "MEDIAN")),
    ("CREDIT_DAY_OVERDUE", ("MEAN", "MAX", "SUM")),
    ("DAYS_CREDIT_ENDDATE", ("MEAN", "MAX", "MIN")),
    ("DAYS_ENDDATE_FACT", ("MEAN", "MAX", "MIN")),
    ("AMT_CREDIT_MAX_OVERDUE", ("MEAN", "MAX", "SUM")),
    ("CNT_CREDIT_PROLONG", ("MEAN", "MAX", "SUM")),
    ("AMT_CREDIT_SUM", _ALL),
    ("AMT_CREDIT_SUM_DEBT", _ALL),
    ("AMT_CREDIT_SUM_LIMIT", ("MEAN", "MAX", "SUM")),
    ("AMT_CREDIT_SUM_OVERDUE", ("MEAN", "MAX", "SUM")),
    ("DAYS_CREDIT_UPDATE", ("MEAN", "MAX", "MIN")),
    ("AMT_ANNUITY", ("MEAN", "MAX", "SUM", "MEDIAN")),
)
# (subset, CREDIT_ACTIVE label, column, statistics)
_SUBSETS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("ACTIVE", "Active", "AMT_CREDIT_SUM", ("MEAN", "SUM")),
    ("ACTIVE", "Active", "AMT_CREDIT_SUM_DEBT", ("MEAN", "SUM")),
    ("ACTIVE", "Active", "AMT_CREDIT_SUM_LIMIT", ("SUM",)),
    ("ACTIVE", "Active", "AMT_CREDIT_SUM_OVERDUE", ("SUM",)),
    ("ACTIVE", "Active", "AMT_ANNUITY", ("SUM",)),
    ("ACTIVE", "Active", "DAYS_CREDIT", ("MEAN", "MAX")),
    ("ACTIVE", "Active", "DAYS_CREDIT_ENDDATE", ("MEAN", "MAX")),
    ("CLOSED", "Closed", "AMT_CREDIT_SUM", ("MEAN", "SUM")),
    ("CLOSED", "Closed", "DAYS_CREDIT", ("MEAN", "MAX")),
    ("CLOSED", "Closed", "DAYS_ENDDATE_FACT", ("MEAN", "MAX")),
    ("CLOSED", "Closed", "AMT_CREDIT_MAX_OVERDUE", ("MAX",)),
)

PLAN = TablePlan(
    table=TABLE,
    prefix="BURO",
    unit=_UNIT,
    numeric=(
        *(NumericAgg(column, stats) for column, stats in _NUMERIC),
        *(
            NumericAgg(
                f"{subset}_{column}",
                stats,
                f"{column_about(TABLE, column)}, counting only {label.lower()} credits",
                column_domain(TABLE, column),
            )
            for subset, label, column, stats in _SUBSETS
        ),
    ),
    categories=(
        CategoryAgg("CREDIT_ACTIVE", counts=True),
        CategoryAgg("CREDIT_CURRENCY"),
        CategoryAgg("CREDIT_TYPE", counts=True),
    ),
)
"""Per-applicant statistics and category counts/shares of the bureau rows (prefix BURO)."""

_EXTRA: tuple[FeatureSpec, ...] = (
    FeatureSpec(
        "BURO_OVERDUE_COUNT",
        "count",
        TABLE,
        f"Number of {_UNIT} that were overdue at the application (table bureau).",
        NONNEGATIVE,
    ),
    FeatureSpec(
        "BURO_DEBT_CREDIT_RATIO",
        "value",
        TABLE,
        f"Total outstanding debt divided by total credit amount over {_UNIT} (table bureau).",
        UNBOUNDED,
    ),
    FeatureSpec(
        "BURO_ACTIVE_DEBT_CREDIT_RATIO",
        "value",
        TABLE,
        f"Total outstanding debt divided by total credit amount over the active ones of {_UNIT} "
        "(table bureau).",
        UNBOUNDED,
    ),
)


def feature_specs() -> list[FeatureSpec]:
    """bureau and bureau_balance features, in output order."""
    return [*PLAN.specs(), *_EXTRA, *bureau_balance.COUNT_SPECS, *bureau_balance.PLAN.specs()]


def compute(tables: Mapping[str, pd.DataFrame], applicants: pd.Index) -> dict[str, np.ndarray]:
    """bureau and bureau_balance feature arrays keyed by name, aligned with ``applicants``."""
    bureau = tables.get(TABLE)
    if bureau is None:
        bureau = pd.DataFrame(
            {"SK_ID_CURR": np.empty(0, dtype=np.int64), "SK_ID_BUREAU": np.empty(0, np.int64)}
        )
    groups = Groups(key_positions(applicants, bureau["SK_ID_CURR"]), len(applicants))
    values = {column: groups.rows(float_column(bureau, column)) for column, _ in _NUMERIC}
    labels = {
        cat.column: groups.rows(label_codes(bureau, cat.column, table_labels(TABLE, cat.column)))
        for cat in PLAN.categories
    }
    activity = table_labels(TABLE, "CREDIT_ACTIVE")
    for subset, label, column, _ in _SUBSETS:
        in_subset = labels["CREDIT_ACTIVE"] == activity.index(label)
        values[f"{subset}_{column}"] = np.where(in_subset, values[column], np.nan)

    out = PLAN.compute(groups, values, labels)
    out["BURO_OVERDUE_COUNT"] = groups.count_where(values["CREDIT_DAY_OVERDUE"] > 0)
    out["BURO_DEBT_CREDIT_RATIO"] = safe_ratio(
        out["BURO_AMT_CREDIT_SUM_DEBT_SUM"], out["BURO_AMT_CREDIT_SUM_SUM"]
    )
    out["BURO_ACTIVE_DEBT_CREDIT_RATIO"] = safe_ratio(
        out["BURO_ACTIVE_AMT_CREDIT_SUM_DEBT_SUM"], out["BURO_ACTIVE_AMT_CREDIT_SUM_SUM"]
    )
    credit_ids = groups.rows(np.asarray(bureau["SK_ID_BUREAU"]))
    summary = bureau_balance.per_credit(tables.get("bureau_balance"), credit_ids)
    out.update(bureau_balance.per_applicant(groups, summary))
    return out
