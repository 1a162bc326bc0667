"""credit_card_balance: monthly snapshots of the applicant's previous credit cards."""

from __future__ import annotations

from service.applicant.catalog import FeatureDefinition
from service.applicant.definitions.plan import CategoryAgg, NumericAgg, TablePlan
from service.applicant.domains import NONNEGATIVE, UNBOUNDED
from service.applicant.expressions import (
    Both,
    DistinctCount,
    Greater,
    Indicator,
    Known,
    Less,
    Ratio,
    Raw,
    Where,
)

__all__ = ["FEATURES", "TABLE"]

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

_LIMIT = Raw("AMT_CREDIT_LIMIT_ACTUAL")
_MINIMUM = Raw("AMT_INST_MIN_REGULARITY")
_PAID = Raw("AMT_PAYMENT_TOTAL_CURRENT")

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
            Ratio(Raw("AMT_BALANCE"), Where(Greater(_LIMIT, 0.0), _LIMIT)),
        ),
        NumericAgg(
            "PAYMENT_MIN_RATIO",
            ("MEAN", "MIN"),
            "total paid divided by the minimal instalment (months without a minimum left out)",
            NONNEGATIVE,
            Ratio(_PAID, Where(Greater(_MINIMUM, 0.0), _MINIMUM)),
        ),
        NumericAgg(
            "BELOW_MIN_PAYMENT",
            ("SHARE",),
            "less than the minimal instalment was paid",
            value=Indicator(Less(_PAID, _MINIMUM), known=Both(Greater(_MINIMUM, 0.0), Known(_PAID))),
        ),
        NumericAgg(
            "DPD",
            ("SHARE",),
            "the card had days past due (SK_DPD > 0) that month",
            value=Indicator(Greater(Raw("SK_DPD"), 0.0), known=Known(Raw("SK_DPD"))),
        ),
    ),
    categories=(CategoryAgg("NAME_CONTRACT_STATUS"),),
)
"""Per-applicant statistics of credit-card use, repayment and delays (prefix CC)."""

FEATURES: tuple[FeatureDefinition, ...] = (
    *PLAN.features(),
    FeatureDefinition(
        "CC_LOANS_COUNT",
        "count",
        TABLE,
        "Number of distinct previous credit cards with monthly snapshots (table credit_card_balance).",
        NONNEGATIVE,
        DistinctCount(TABLE, Raw("SK_ID_PREV")),
    ),
)
"""credit_card_balance features, in output order."""
