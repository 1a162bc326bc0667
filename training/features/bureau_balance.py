"""bureau_balance: monthly statuses summarised per bureau credit (SK_ID_BUREAU), then per applicant.

The per-credit summary is the first step; :mod:`training.features.bureau` aggregates it over each
applicant's credits with the plan :data:`PLAN`, beside two direct counts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.features.aggregate import NumericAgg, TablePlan, table_labels
from training.features.catalog import NONNEGATIVE, NONPOSITIVE, SHARE, FeatureSpec
from training.features.grouping import Groups, float_column, key_positions, label_codes, safe_ratio
from training.features.naming import sanitise_label

__all__ = ["COUNT_SPECS", "PLAN", "STATUS_LABELS", "per_applicant", "per_credit"]

TABLE = "bureau_balance"
STATUS_LABELS: tuple[str, ...] = table_labels(TABLE, "STATUS")
"""Known monthly statuses: C (closed), X (unknown), 0 (no delay), 1..5 (30-day days-past-due buckets)."""
_DPD_BUCKETS: tuple[str, ...] = ("0", "1", "2", "3", "4", "5")
_LATE_BUCKETS: tuple[str, ...] = ("1", "2", "3", "4", "5")

_STATUS_SHARES = tuple(
    NumericAgg(
        f"STATUS_{sanitise_label(label)}_SHARE",
        ("MEAN",),
        f"share of a credit's months with status {label!r}",
        SHARE,
    )
    for label in STATUS_LABELS
)

PLAN = TablePlan(
    table=TABLE,
    prefix="BB",
    unit="the applicant's bureau credits (summarised from their monthly statuses)",
    row_count=False,
    numeric=(
        NumericAgg(
            "MONTHS_COUNT", ("MEAN", "MAX"), "number of monthly status records of a credit", NONNEGATIVE
        ),
        NumericAgg("MONTHS_BALANCE_MIN", ("MIN",), "oldest month on record for a credit", NONPOSITIVE),
        NumericAgg("MONTHS_BALANCE_MAX", ("MAX",), "latest month on record for a credit", NONPOSITIVE),
        *_STATUS_SHARES,
        NumericAgg(
            "LATE_SHARE",
            ("MEAN", "MAX"),
            "share of a credit's months in a days-past-due bucket 1 to 5",
            SHARE,
        ),
        NumericAgg(
            "WORST_STATUS",
            ("MAX", "MEAN"),
            "worst days-past-due bucket a credit reached (0 none, 1..5 by 30 days, 5 = 120+ or written off)",
            (0.0, 5.0),
        ),
    ),
)
"""Per-applicant statistics of the per-credit summary (prefix BB)."""

COUNT_SPECS: tuple[FeatureSpec, ...] = (
    FeatureSpec(
        "BB_MONTHS_COUNT",
        "count",
        TABLE,
        "Number of monthly status records over all the applicant's bureau credits (table bureau_balance).",
        NONNEGATIVE,
    ),
    FeatureSpec(
        "BB_CREDITS_WITH_HISTORY_COUNT",
        "count",
        TABLE,
        "Number of the applicant's bureau credits with at least one monthly status (table bureau_balance).",
        NONNEGATIVE,
    ),
)
"""Direct per-applicant counts, emitted before the plan's statistics."""


def per_credit(balance: pd.DataFrame | None, credit_ids: np.ndarray) -> dict[str, np.ndarray]:
    """Summary of each credit's monthly statuses, aligned with ``credit_ids`` (one entry per id).

    Credits without monthly rows get MONTHS_COUNT 0 and NaN elsewhere; rows of other credits are ignored.
    """
    unique_ids = pd.Index(np.asarray(credit_ids)).unique()
    n = len(unique_ids)
    if balance is None or len(balance) == 0:
        months = np.zeros(n, dtype=np.int64)
        counts = np.zeros((n, len(STATUS_LABELS)), dtype=np.int64)
        month_stats = {
            ("MONTHS_BALANCE", "MIN"): np.full(n, np.nan),
            ("MONTHS_BALANCE", "MAX"): np.full(n, np.nan),
        }
    else:
        groups = Groups(key_positions(unique_ids, balance["SK_ID_BUREAU"]), n)
        months = groups.count()
        counts = groups.label_counts(
            groups.rows(label_codes(balance, "STATUS", STATUS_LABELS)), len(STATUS_LABELS)
        )
        month_stats = groups.stats(
            {"MONTHS_BALANCE": groups.rows(float_column(balance, "MONTHS_BALANCE"))},
            {"MONTHS_BALANCE": ("MIN", "MAX")},
        )
    summary: dict[str, np.ndarray] = {
        "MONTHS_COUNT": months.astype(np.float64),
        "MONTHS_BALANCE_MIN": month_stats[("MONTHS_BALANCE", "MIN")],
        "MONTHS_BALANCE_MAX": month_stats[("MONTHS_BALANCE", "MAX")],
    }
    for position, label in enumerate(STATUS_LABELS):
        summary[f"STATUS_{sanitise_label(label)}_SHARE"] = safe_ratio(counts[:, position], months)
    late = sum(counts[:, STATUS_LABELS.index(label)] for label in _LATE_BUCKETS)
    summary["LATE_SHARE"] = safe_ratio(late, months)
    worst = np.full(n, np.nan)
    for bucket in _DPD_BUCKETS:  # ascending, so the last bucket seen wins
        worst[counts[:, STATUS_LABELS.index(bucket)] > 0] = float(bucket)
    summary["WORST_STATUS"] = worst
    back = unique_ids.get_indexer(np.asarray(credit_ids))
    return {name: values[back] for name, values in summary.items()}


def per_applicant(groups: Groups, summary: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-applicant BB features from the per-credit ``summary`` of the credits kept by ``groups``."""
    months = summary["MONTHS_COUNT"]
    out: dict[str, np.ndarray] = {
        "BB_MONTHS_COUNT": groups.weighted_count(months),
        "BB_CREDITS_WITH_HISTORY_COUNT": groups.count_where(months > 0),
    }
    out.update(PLAN.compute(groups, summary, {}))
    return out
