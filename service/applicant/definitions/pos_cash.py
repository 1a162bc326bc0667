"""POS_CASH_balance: monthly snapshots of the applicant's previous point-of-sale and cash loans."""

from __future__ import annotations

from service.applicant.catalog import FeatureDefinition
from service.applicant.definitions.plan import CategoryAgg, NumericAgg, TablePlan
from service.applicant.domains import NONNEGATIVE
from service.applicant.expressions import DistinctCount, Greater, Indicator, Known, Raw

__all__ = ["FEATURES", "TABLE"]

TABLE = "POS_CASH_balance"
_NUMERIC: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("MONTHS_BALANCE", ("MEAN", "MAX", "MIN")),
    ("CNT_INSTALMENT", ("MEAN", "MAX")),
    ("CNT_INSTALMENT_FUTURE", ("MEAN", "MAX", "MIN", "SUM")),
    ("SK_DPD", ("MEAN", "MAX", "SUM")),
    ("SK_DPD_DEF", ("MEAN", "MAX", "SUM")),
)


def _positive(column: str) -> Indicator:
    return Indicator(Greater(Raw(column), 0.0), known=Known(Raw(column)))


PLAN = TablePlan(
    table=TABLE,
    prefix="POS",
    unit="the applicant's monthly snapshots of previous point-of-sale and cash loans",
    numeric=(
        *(NumericAgg(column, stats) for column, stats in _NUMERIC),
        NumericAgg(
            "DPD", ("SHARE",), "the loan had days past due (SK_DPD > 0) that month", value=_positive("SK_DPD")
        ),
        NumericAgg(
            "DPD_DEF",
            ("SHARE",),
            "the loan had days past due on a non-small debt (SK_DPD_DEF > 0)",
            value=_positive("SK_DPD_DEF"),
        ),
    ),
    categories=(CategoryAgg("NAME_CONTRACT_STATUS"),),
)
"""Per-applicant statistics of the POS/cash snapshots (prefix POS)."""

FEATURES: tuple[FeatureDefinition, ...] = (
    *PLAN.features(),
    FeatureDefinition(
        "POS_LOANS_COUNT",
        "count",
        TABLE,
        "Number of distinct previous point-of-sale and cash loans with monthly snapshots "
        "(table POS_CASH_balance).",
        NONNEGATIVE,
        DistinctCount(TABLE, Raw("SK_ID_PREV")),
    ),
)
"""POS_CASH_balance features, in output order."""
