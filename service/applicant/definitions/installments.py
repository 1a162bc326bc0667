"""installments_payments: due dates and payments of the applicant's previous credits."""

from __future__ import annotations

from service.applicant.catalog import FeatureDefinition
from service.applicant.definitions.plan import NumericAgg, TablePlan
from service.applicant.domains import NONNEGATIVE, UNBOUNDED
from service.applicant.expressions import (
    AtLeastZero,
    Difference,
    DistinctCount,
    Greater,
    Indicator,
    Known,
    Negative,
    Ratio,
    Raw,
)

__all__ = ["FEATURES", "TABLE"]

TABLE = "installments_payments"
_NUMERIC: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("NUM_INSTALMENT_VERSION", ("MAX",)),
    ("NUM_INSTALMENT_NUMBER", ("MEAN", "MAX")),
    ("DAYS_INSTALMENT", ("MEAN", "MAX", "MIN")),
    ("DAYS_ENTRY_PAYMENT", ("MEAN", "MAX", "MIN")),
    ("AMT_INSTALMENT", ("MEAN", "MAX", "SUM")),
    ("AMT_PAYMENT", ("MEAN", "MAX", "MIN", "SUM")),
)

_DELAY = Difference(Raw("DAYS_ENTRY_PAYMENT"), Raw("DAYS_INSTALMENT"))
"""Payment date minus due date, in days (positive = paid late)."""
_SHORTFALL = Difference(Raw("AMT_INSTALMENT"), Raw("AMT_PAYMENT"))
"""Amount due minus amount paid (positive = paid less than due)."""

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
            _DELAY,
        ),
        NumericAgg(
            "DAYS_PAST_DUE",
            ("MEAN", "MAX", "SUM"),
            "days the payment came after the due date (0 if on time)",
            NONNEGATIVE,
            AtLeastZero(_DELAY),
        ),
        NumericAgg(
            "DAYS_BEFORE_DUE",
            ("MEAN", "MAX", "SUM"),
            "days the payment came before the due date (0 if late)",
            NONNEGATIVE,
            AtLeastZero(Negative(_DELAY)),
        ),
        NumericAgg(
            "LATE",
            ("SHARE",),
            "the payment came after the due date",
            value=Indicator(Greater(_DELAY, 0.0), known=Known(_DELAY)),
        ),
        NumericAgg(
            "UNDERPAYMENT",
            ("MEAN", "MAX", "MIN", "SUM"),
            "amount due minus amount paid (positive = paid less than due)",
            UNBOUNDED,
            _SHORTFALL,
        ),
        NumericAgg(
            "UNDERPAID",
            ("SHARE",),
            "less was paid than was due",
            value=Indicator(Greater(_SHORTFALL, 0.0), known=Known(_SHORTFALL)),
        ),
        NumericAgg(
            "PAYMENT_RATIO",
            ("MEAN", "MAX", "MIN"),
            "amount paid divided by amount due",
            NONNEGATIVE,
            Ratio(Raw("AMT_PAYMENT"), Raw("AMT_INSTALMENT")),
        ),
    ),
)
"""Per-applicant statistics of payments, delays and shortfalls (prefix INST)."""

FEATURES: tuple[FeatureDefinition, ...] = (
    *PLAN.features(),
    FeatureDefinition(
        "INST_LOANS_COUNT",
        "count",
        TABLE,
        "Number of distinct previous credits with instalment records (table installments_payments).",
        NONNEGATIVE,
        DistinctCount(TABLE, Raw("SK_ID_PREV")),
    ),
)
"""installments_payments features, in output order."""
