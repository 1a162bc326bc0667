"""previous_application: the applicant's earlier applications at Home Credit."""

from __future__ import annotations

from service.applicant.catalog import FeatureDefinition
from service.applicant.definitions.plan import CategoryAgg, NumericAgg, TablePlan, column_about
from service.applicant.domains import NONNEGATIVE, column_domain
from service.applicant.expressions import IsLabel, Ratio, Raw, Where

__all__ = ["FEATURES", "TABLE"]

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
            Ratio(Raw("AMT_APPLICATION"), Raw("AMT_CREDIT")),
        ),
        *(
            NumericAgg(
                f"{subset}_{column}",
                stats,
                f"{column_about(TABLE, column)}, counting only {label.lower()} applications",
                column_domain(TABLE, column),
                Where(IsLabel("NAME_CONTRACT_STATUS", (label,)), Raw(column)),
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

FEATURES: tuple[FeatureDefinition, ...] = tuple(PLAN.features())
"""previous_application features, in output order."""
