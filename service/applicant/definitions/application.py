"""Applicant-table features: numeric columns as given, yes/no flags, one-hot text, ratios, external scores."""

from __future__ import annotations

from service.applicant.catalog import APPLICATION, FeatureDefinition
from service.applicant.domains import NONNEGATIVE, SHARE, Domain, column_domain
from service.applicant.expressions import AcrossColumns, Expr, Indicator, IsLabel, Ratio, Raw
from service.applicant.naming import feature_name, sanitise_label
from service.applicant.schema import TABLES

__all__ = ["FEATURES"]

_SCHEMA = TABLES["application_train"]
_NOT_FEATURES = ("SK_ID_CURR", "TARGET")
_YES_NO = ({"N", "Y"}, {"No", "Yes"})
_EXT_SOURCES = ("EXT_SOURCE_1", "EXT_SOURCE_2", "EXT_SOURCE_3")
_EXT_WEIGHTS = (1.0, 2.0, 3.0)
"""Weights of EXT_SOURCE_1..3 in APP_EXT_SOURCES_WEIGHTED (the later scores carry more signal)."""


def _numeric_columns() -> list[str]:
    return [c.name for c in _SCHEMA.columns if c.kind != "str" and c.name not in _NOT_FEATURES]


def _text_columns() -> list[str]:
    return [c.name for c in _SCHEMA.columns if c.kind == "str"]


def _is_yes_no(column: str) -> bool:
    return set(_SCHEMA.column(column).categories) in _YES_NO


def _ext(stat: str, weights: tuple[float, ...] = ()) -> AcrossColumns:
    return AcrossColumns(_EXT_SOURCES, stat, weights)


# name, description, domain and definition of the derived features, in output order
_DERIVED: tuple[tuple[str, str, Domain, Expr], ...] = (
    (
        "APP_CREDIT_INCOME_RATIO",
        "Amount lent divided by the declared annual income",
        NONNEGATIVE,
        Ratio(Raw("AMT_CREDIT"), Raw("AMT_INCOME_TOTAL")),
    ),
    (
        "APP_ANNUITY_INCOME_RATIO",
        "Periodic repayment divided by the declared annual income",
        NONNEGATIVE,
        Ratio(Raw("AMT_ANNUITY"), Raw("AMT_INCOME_TOTAL")),
    ),
    (
        "APP_CREDIT_TERM",
        "Amount lent divided by the periodic repayment (the credit term in repayments)",
        NONNEGATIVE,
        Ratio(Raw("AMT_CREDIT"), Raw("AMT_ANNUITY")),
    ),
    (
        "APP_GOODS_CREDIT_RATIO",
        "Price of the financed goods divided by the amount lent",
        NONNEGATIVE,
        Ratio(Raw("AMT_GOODS_PRICE"), Raw("AMT_CREDIT")),
    ),
    (
        "APP_EMPLOYED_AGE_RATIO",
        "Length of the current employment as a share of the applicant's age",
        NONNEGATIVE,
        Ratio(Raw("DAYS_EMPLOYED"), Raw("DAYS_BIRTH")),
    ),
    (
        "APP_INCOME_PER_FAMILY_MEMBER",
        "Declared annual income divided by the family size",
        NONNEGATIVE,
        Ratio(Raw("AMT_INCOME_TOTAL"), Raw("CNT_FAM_MEMBERS")),
    ),
    ("APP_EXT_SOURCES_MEAN", "Mean of the available external scores EXT_SOURCE_1..3", SHARE, _ext("MEAN")),
    ("APP_EXT_SOURCES_MIN", "Smallest of the available external scores EXT_SOURCE_1..3", SHARE, _ext("MIN")),
    ("APP_EXT_SOURCES_MAX", "Largest of the available external scores EXT_SOURCE_1..3", SHARE, _ext("MAX")),
    (
        "APP_EXT_SOURCES_STD",
        "Spread (population standard deviation) of the available external scores EXT_SOURCE_1..3",
        (0.0, 0.5),
        _ext("STD"),
    ),
    (
        "APP_EXT_SOURCES_PROD",
        "Product of the three external scores EXT_SOURCE_1..3 (missing if one is)",
        SHARE,
        _ext("PROD"),
    ),
    (
        "APP_EXT_SOURCES_WEIGHTED",
        "Weighted mean of the available external scores with weights 1, 2, 3 for EXT_SOURCE_1, 2, 3",
        SHARE,
        _ext("WEIGHTED_MEAN", _EXT_WEIGHTS),
    ),
)


def _features() -> tuple[FeatureDefinition, ...]:
    features = [
        FeatureDefinition(
            name,
            "value",
            APPLICATION,
            f"Applicant column {name} as given: {_SCHEMA.column(name).description} (table application).",
            column_domain(APPLICATION, name),
            Raw(name),
        )
        for name in _numeric_columns()
    ]
    for column in _text_columns():
        spec = _SCHEMA.column(column)
        if _is_yes_no(column):
            yes = "Y" if "Y" in spec.categories else "Yes"
            features.append(
                FeatureDefinition(
                    feature_name(column),
                    "value",
                    APPLICATION,
                    f"1 when {column} ({spec.description}) is yes, 0 when no (table application).",
                    SHARE,
                    Indicator(IsLabel(column, (yes,)), known=IsLabel(column, spec.categories)),
                )
            )
            continue
        for label in spec.categories:
            features.append(
                FeatureDefinition(
                    feature_name(column, sanitise_label(label)),
                    "flag",
                    APPLICATION,
                    f"1 when {column} ({spec.description}) is {label!r}, else 0 (table application).",
                    SHARE,
                    Indicator(IsLabel(column, (label,))),
                )
            )
    features.extend(
        FeatureDefinition(name, "value", APPLICATION, f"{text} (table application).", domain, computed)
        for name, text, domain, computed in _DERIVED
    )
    features.append(
        FeatureDefinition(
            "APP_EXT_SOURCES_MISSING_COUNT",
            "count",
            APPLICATION,
            "Number of the three external scores EXT_SOURCE_1..3 that are missing (table application).",
            (0.0, 3.0),
            _ext("MISSING_COUNT"),
        )
    )
    return tuple(features)


FEATURES: tuple[FeatureDefinition, ...] = _features()
"""Applicant-table features, in output order (fixed by the schema)."""
