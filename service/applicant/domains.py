"""The values that raw Kaggle columns and per-applicant statistics can take in reality.

A domain is ``(low, high)`` with ``None`` for an open side. Request validation refuses raw values outside
their column's domain (:mod:`service.applicant.document`), and each feature's domain documents its range and
bounds the bundle's feature spec.
"""

from __future__ import annotations

__all__ = [
    "NONNEGATIVE",
    "NONPOSITIVE",
    "SHARE",
    "UNBOUNDED",
    "Domain",
    "column_domain",
    "stat_domain",
]

Domain = tuple[float | None, float | None]
"""Lowest and highest value that can exist in reality; ``None`` where there is no bound."""

UNBOUNDED: Domain = (None, None)
NONNEGATIVE: Domain = (0.0, None)
NONPOSITIVE: Domain = (None, 0.0)
SHARE: Domain = (0.0, 1.0)

# Raw Kaggle columns whose sign or range is fixed by what they mean. Everything not listed here and not
# matched by the name rules in column_domain is unbounded: the full Kaggle files hold negative debts,
# limits, balances, receivables, down payments and positive "days" for future or updated dates.
_EXPLICIT: dict[str, Domain] = {
    # application
    "CNT_CHILDREN": NONNEGATIVE,
    "AMT_INCOME_TOTAL": NONNEGATIVE,
    "AMT_GOODS_PRICE": NONNEGATIVE,
    "REGION_POPULATION_RELATIVE": SHARE,
    "DAYS_BIRTH": NONPOSITIVE,
    "DAYS_EMPLOYED": NONPOSITIVE,
    "DAYS_REGISTRATION": NONPOSITIVE,
    "DAYS_ID_PUBLISH": NONPOSITIVE,
    "DAYS_LAST_PHONE_CHANGE": NONPOSITIVE,
    "OWN_CAR_AGE": NONNEGATIVE,
    "CNT_FAM_MEMBERS": NONNEGATIVE,
    "REGION_RATING_CLIENT": (1.0, 3.0),
    "REGION_RATING_CLIENT_W_CITY": (1.0, 3.0),
    "HOUR_APPR_PROCESS_START": (0.0, 23.0),
    "TOTALAREA_MODE": SHARE,
    # bureau
    "DAYS_CREDIT": NONPOSITIVE,
    "CREDIT_DAY_OVERDUE": NONNEGATIVE,
    "DAYS_ENDDATE_FACT": NONPOSITIVE,
    "AMT_CREDIT_MAX_OVERDUE": NONNEGATIVE,
    "CNT_CREDIT_PROLONG": NONNEGATIVE,
    "AMT_CREDIT_SUM": NONNEGATIVE,
    "AMT_CREDIT_SUM_OVERDUE": NONNEGATIVE,
    # bureau_balance, POS_CASH_balance, credit_card_balance
    "MONTHS_BALANCE": NONPOSITIVE,
    # previous_application
    "AMT_APPLICATION": NONNEGATIVE,
    "RATE_DOWN_PAYMENT": (None, 1.0),
    "RATE_INTEREST_PRIMARY": SHARE,
    "RATE_INTEREST_PRIVILEGED": SHARE,
    "DAYS_DECISION": NONPOSITIVE,
    "SELLERPLACE_AREA": (-1.0, None),
    # installments_payments
    "NUM_INSTALMENT_VERSION": NONNEGATIVE,
    "NUM_INSTALMENT_NUMBER": NONNEGATIVE,
    "DAYS_INSTALMENT": NONPOSITIVE,
    "DAYS_ENTRY_PAYMENT": NONPOSITIVE,
    "AMT_INSTALMENT": NONNEGATIVE,
    "AMT_PAYMENT": NONNEGATIVE,
    # credit_card_balance
    "AMT_CREDIT_LIMIT_ACTUAL": NONNEGATIVE,
    "AMT_DRAWINGS_OTHER_CURRENT": NONNEGATIVE,
    "AMT_DRAWINGS_POS_CURRENT": NONNEGATIVE,
    "AMT_INST_MIN_REGULARITY": NONNEGATIVE,
    "AMT_PAYMENT_CURRENT": NONNEGATIVE,
    "AMT_PAYMENT_TOTAL_CURRENT": NONNEGATIVE,
    "SK_DPD": NONNEGATIVE,
    "SK_DPD_DEF": NONNEGATIVE,
}

# Same column name, different meaning per table.
_PER_TABLE: dict[tuple[str, str], Domain] = {
    ("application", "AMT_CREDIT"): NONNEGATIVE,
    ("application", "AMT_ANNUITY"): NONNEGATIVE,
    ("bureau", "AMT_ANNUITY"): NONNEGATIVE,
    ("previous_application", "AMT_CREDIT"): NONNEGATIVE,
    ("previous_application", "AMT_ANNUITY"): NONNEGATIVE,
    ("previous_application", "AMT_GOODS_PRICE"): NONNEGATIVE,
}

_BUILDING_SUFFIXES = ("_AVG", "_MODE", "_MEDI")


def column_domain(table: str, column: str) -> Domain:
    """Values a raw numeric Kaggle column can take in reality (``table`` "application": applicant table)."""
    if (table, column) in _PER_TABLE:
        return _PER_TABLE[(table, column)]
    if column in _EXPLICIT:
        return _EXPLICIT[column]
    if column.startswith("EXT_SOURCE_"):
        return SHARE
    if column.startswith(("FLAG_", "NFLAG_", "REG_REGION_", "REG_CITY_", "LIVE_REGION_", "LIVE_CITY_")):
        return SHARE
    if column.startswith(("AMT_REQ_CREDIT_BUREAU_", "CNT_")) or column.endswith("_CNT_SOCIAL_CIRCLE"):
        return NONNEGATIVE
    if table == "application" and column.endswith(_BUILDING_SUFFIXES):
        return SHARE
    return UNBOUNDED


def stat_domain(stat: str, base: Domain) -> Domain:
    """Domain of a per-applicant statistic (MEAN, MIN, MAX, MEDIAN, SUM, SHARE, STD) of a ``base`` column."""
    low, high = base
    if stat in ("MEAN", "MIN", "MAX", "MEDIAN"):
        return base
    if stat == "SHARE":
        return SHARE
    if stat == "STD":
        return NONNEGATIVE
    if stat == "SUM":
        if low is not None and low >= 0:
            return NONNEGATIVE
        if high is not None and high <= 0:
            return NONPOSITIVE
        return UNBOUNDED
    raise ValueError(f"unknown statistic {stat!r}")
