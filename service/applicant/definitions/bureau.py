"""bureau: the applicant's credits at other lenders, with their monthly statuses (bureau_balance).

The monthly statuses are first summarised per credit (:class:`~service.applicant.expressions.PerCredit`), then
aggregated over the applicant's credits like any bureau column (prefix ``BB``).
"""

from __future__ import annotations

from service.applicant.catalog import FeatureDefinition
from service.applicant.definitions.plan import CategoryAgg, NumericAgg, TablePlan, column_about, table_labels
from service.applicant.domains import NONNEGATIVE, NONPOSITIVE, SHARE, UNBOUNDED, column_domain
from service.applicant.expressions import (
    AggregateRatio,
    Count,
    CountWhere,
    Greater,
    IsLabel,
    LabelNumber,
    PerCredit,
    Raw,
    ShareWhere,
    Stat,
    Where,
)
from service.applicant.naming import sanitise_label

__all__ = ["BALANCE_TABLE", "FEATURES", "TABLE"]

TABLE = "bureau"
BALANCE_TABLE = "bureau_balance"
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


def _in_subset(label: str, column: str) -> Where:
    return Where(IsLabel("CREDIT_ACTIVE", (label,)), Raw(column))


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
                _in_subset(label, column),
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


def _sum(value: Raw | Where) -> Stat:
    return Stat(TABLE, value, "SUM")


_EXTRA: tuple[FeatureDefinition, ...] = (
    FeatureDefinition(
        "BURO_OVERDUE_COUNT",
        "count",
        TABLE,
        f"Number of {_UNIT} that were overdue at the application (table bureau).",
        NONNEGATIVE,
        CountWhere(TABLE, Greater(Raw("CREDIT_DAY_OVERDUE"), 0.0)),
    ),
    FeatureDefinition(
        "BURO_DEBT_CREDIT_RATIO",
        "value",
        TABLE,
        f"Total outstanding debt divided by total credit amount over {_UNIT} (table bureau).",
        UNBOUNDED,
        AggregateRatio(_sum(Raw("AMT_CREDIT_SUM_DEBT")), _sum(Raw("AMT_CREDIT_SUM"))),
    ),
    FeatureDefinition(
        "BURO_ACTIVE_DEBT_CREDIT_RATIO",
        "value",
        TABLE,
        f"Total outstanding debt divided by total credit amount over the active ones of {_UNIT} "
        "(table bureau).",
        UNBOUNDED,
        AggregateRatio(
            _sum(_in_subset("Active", "AMT_CREDIT_SUM_DEBT")), _sum(_in_subset("Active", "AMT_CREDIT_SUM"))
        ),
    ),
)

# ------------------------------------------------------------------------ bureau_balance, per credit

STATUS_LABELS: tuple[str, ...] = table_labels(BALANCE_TABLE, "STATUS")
"""Known monthly statuses: C (closed), X (unknown), 0 (no delay), 1..5 (30-day days-past-due buckets)."""
_DPD_BUCKETS: tuple[str, ...] = ("0", "1", "2", "3", "4", "5")
_LATE_BUCKETS: tuple[str, ...] = ("1", "2", "3", "4", "5")

_MONTHS = PerCredit(Count(BALANCE_TABLE))
"""Number of monthly status records of a credit (0 without any)."""


def _per_credit_share(labels: tuple[str, ...]) -> PerCredit:
    return PerCredit(ShareWhere(BALANCE_TABLE, IsLabel("STATUS", labels)))


BALANCE_PLAN = TablePlan(
    table=BALANCE_TABLE,
    rows=TABLE,
    prefix="BB",
    unit="the applicant's bureau credits (summarised from their monthly statuses)",
    row_count=False,
    numeric=(
        NumericAgg(
            "MONTHS_COUNT",
            ("MEAN", "MAX"),
            "number of monthly status records of a credit",
            NONNEGATIVE,
            _MONTHS,
        ),
        NumericAgg(
            "MONTHS_BALANCE_MIN",
            ("MIN",),
            "oldest month on record for a credit",
            NONPOSITIVE,
            PerCredit(Stat(BALANCE_TABLE, Raw("MONTHS_BALANCE"), "MIN")),
        ),
        NumericAgg(
            "MONTHS_BALANCE_MAX",
            ("MAX",),
            "latest month on record for a credit",
            NONPOSITIVE,
            PerCredit(Stat(BALANCE_TABLE, Raw("MONTHS_BALANCE"), "MAX")),
        ),
        *(
            NumericAgg(
                f"STATUS_{sanitise_label(label)}_SHARE",
                ("MEAN",),
                f"share of a credit's months with status {label!r}",
                SHARE,
                _per_credit_share((label,)),
            )
            for label in STATUS_LABELS
        ),
        NumericAgg(
            "LATE_SHARE",
            ("MEAN", "MAX"),
            "share of a credit's months in a days-past-due bucket 1 to 5",
            SHARE,
            _per_credit_share(_LATE_BUCKETS),
        ),
        NumericAgg(
            "WORST_STATUS",
            ("MAX", "MEAN"),
            "worst days-past-due bucket a credit reached (0 none, 1..5 by 30 days, 5 = 120+ or written off)",
            (0.0, 5.0),
            PerCredit(
                Stat(
                    BALANCE_TABLE,
                    LabelNumber("STATUS", tuple((bucket, float(bucket)) for bucket in _DPD_BUCKETS)),
                    "MAX",
                )
            ),
        ),
    ),
)
"""Per-applicant statistics of the per-credit summaries of bureau_balance (prefix BB)."""

_BALANCE_COUNTS: tuple[FeatureDefinition, ...] = (
    FeatureDefinition(
        "BB_MONTHS_COUNT",
        "count",
        BALANCE_TABLE,
        "Number of monthly status records over all the applicant's bureau credits (table bureau_balance).",
        NONNEGATIVE,
        Stat(TABLE, _MONTHS, "SUM"),
    ),
    FeatureDefinition(
        "BB_CREDITS_WITH_HISTORY_COUNT",
        "count",
        BALANCE_TABLE,
        "Number of the applicant's bureau credits with at least one monthly status (table bureau_balance).",
        NONNEGATIVE,
        CountWhere(TABLE, Greater(_MONTHS, 0.0)),
    ),
)

FEATURES: tuple[FeatureDefinition, ...] = (
    *PLAN.features(),
    *_EXTRA,
    *_BALANCE_COUNTS,
    *BALANCE_PLAN.features(),
)
"""bureau and bureau_balance features, in output order."""
