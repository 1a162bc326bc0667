"""The vocabulary of feature definitions: values per row, conditions, and per-applicant aggregates.

Every feature of :mod:`service.applicant.definitions` is a tree of these frozen dataclasses. They say *what*
to compute, never *how*: training evaluates them over whole tables with numpy group reductions
(:mod:`training.features.evaluate`), the service over one applicant's few records in plain Python
(:mod:`service.applicant.evaluate`), and ``tests/training/features/test_parity.py`` proves the two agree.

Conventions both evaluators implement:

* a row value is a float, NaN when missing; a raw Kaggle number is read as float, the ``DAYS_*`` sentinel
  365243 already turned into NaN;
* a raw text column is compared with the schema's known labels; ``XNA``, null and labels the schema does not
  know match none of them;
* comparisons with a missing value are false;
* an aggregate ignores missing row values, and is NaN when no row has a value (counts are 0 instead).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ACROSS_STATS",
    "STATS",
    "AcrossColumns",
    "Aggregate",
    "AggregateRatio",
    "AtLeastZero",
    "Both",
    "Condition",
    "Count",
    "CountWhere",
    "Difference",
    "DistinctCount",
    "Expr",
    "Greater",
    "Indicator",
    "IsLabel",
    "Known",
    "LabelNumber",
    "Less",
    "Negative",
    "PerCredit",
    "Ratio",
    "Raw",
    "ShareWhere",
    "Stat",
    "Where",
]

STATS = ("MEAN", "MAX", "MIN", "SUM", "MEDIAN", "STD", "SHARE")
"""Statistics of :class:`Stat`; SHARE is the mean of a 0/1 indicator, STD the population deviation."""

ACROSS_STATS = ("MEAN", "MIN", "MAX", "STD", "PROD", "WEIGHTED_MEAN", "MISSING_COUNT")
"""Statistics of :class:`AcrossColumns`."""


class Expr:
    """A float per row of the table being aggregated (or of the application record)."""

    __slots__ = ()


class Condition:
    """A true/false per row; false where it depends on a missing value."""

    __slots__ = ()


class Aggregate:
    """One number per applicant (or per bureau credit, inside :class:`PerCredit`) from the rows of a table."""

    __slots__ = ()


# ------------------------------------------------------------------------------------------------ rows


@dataclass(frozen=True)
class Raw(Expr):
    """A raw numeric Kaggle column."""

    column: str
    """Column name in the Kaggle table."""


@dataclass(frozen=True)
class Difference(Expr):
    """``left - right``."""

    left: Expr
    """Minuend."""
    right: Expr
    """Subtrahend."""


@dataclass(frozen=True)
class Negative(Expr):
    """``-value``."""

    value: Expr
    """The value negated."""


@dataclass(frozen=True)
class AtLeastZero(Expr):
    """``value`` with negative numbers replaced by 0 (missing stays missing)."""

    value: Expr
    """The value clipped below at 0."""


@dataclass(frozen=True)
class Ratio(Expr):
    """``numerator / denominator``, missing wherever the result would be infinite or undefined."""

    numerator: Expr
    """Dividend."""
    denominator: Expr
    """Divisor."""


@dataclass(frozen=True)
class Where(Expr):
    """``value`` on the rows where ``condition`` holds, missing elsewhere."""

    condition: Condition
    """Which rows keep their value."""
    value: Expr
    """The value kept."""


@dataclass(frozen=True)
class Indicator(Expr):
    """1.0 where ``condition`` holds, 0.0 where it does not; missing where ``known`` does not hold."""

    condition: Condition
    """What the indicator flags."""
    known: Condition | None = None
    """Rows on which the indicator is defined; ``None``: every row (never missing)."""


@dataclass(frozen=True)
class LabelNumber(Expr):
    """The number given to a text column's label; missing for other labels, ``XNA`` or null."""

    column: str
    """Raw text column."""
    numbers: tuple[tuple[str, float], ...]
    """(label, number) pairs."""


@dataclass(frozen=True)
class AcrossColumns(Expr):
    """A statistic across several numeric columns of the same row, over those that are not missing.

    MEAN, MIN, MAX, STD (population), WEIGHTED_MEAN (``weights`` in column order) are missing when every
    column is; PROD is missing when any column is; MISSING_COUNT counts the missing columns.
    """

    columns: tuple[str, ...]
    """Raw numeric columns."""
    stat: str
    """One of :data:`ACROSS_STATS`."""
    weights: tuple[float, ...] = ()
    """Weights of WEIGHTED_MEAN, one per column."""


@dataclass(frozen=True)
class PerCredit(Expr):
    """For a bureau credit: an aggregate over that credit's monthly ``bureau_balance`` rows."""

    aggregate: Aggregate
    """Aggregate over the credit's bureau_balance rows (a row count is 0 for a credit without rows)."""


# ------------------------------------------------------------------------------------------ conditions


@dataclass(frozen=True)
class Greater(Condition):
    """``value > than``."""

    value: Expr
    """Left side."""
    than: float
    """Constant right side."""


@dataclass(frozen=True)
class Less(Condition):
    """``value < than`` for two row values."""

    value: Expr
    """Left side."""
    than: Expr
    """Right side."""


@dataclass(frozen=True)
class IsLabel(Condition):
    """The text column holds one of ``labels`` (known Kaggle labels)."""

    column: str
    """Raw text column."""
    labels: tuple[str, ...]
    """Labels that satisfy the condition."""


@dataclass(frozen=True)
class Known(Condition):
    """``value`` is not missing."""

    value: Expr
    """The value tested."""


@dataclass(frozen=True)
class Both(Condition):
    """``first`` and ``second``."""

    first: Condition
    """First condition."""
    second: Condition
    """Second condition."""


# ------------------------------------------------------------------------------------------ aggregates


@dataclass(frozen=True)
class Count(Aggregate):
    """Number of rows."""

    rows: str
    """Table whose rows are counted."""


@dataclass(frozen=True)
class Stat(Aggregate):
    """A statistic of a row value over the rows where it is not missing."""

    rows: str
    """Table whose rows are aggregated."""
    value: Expr
    """Row value."""
    stat: str
    """One of :data:`STATS`."""


@dataclass(frozen=True)
class CountWhere(Aggregate):
    """Number of rows where ``condition`` holds."""

    rows: str
    """Table whose rows are counted."""
    condition: Condition
    """Which rows count."""


@dataclass(frozen=True)
class ShareWhere(Aggregate):
    """Share of the rows (all of them, missing values included) where ``condition`` holds; NaN if none."""

    rows: str
    """Table whose rows are counted."""
    condition: Condition
    """Which rows count."""


@dataclass(frozen=True)
class DistinctCount(Aggregate):
    """Number of distinct non-missing values of a row value (e.g. previous credits, by SK_ID_PREV)."""

    rows: str
    """Table whose rows are looked at."""
    value: Expr
    """Row value whose distinct values are counted."""


@dataclass(frozen=True)
class AggregateRatio(Aggregate):
    """``numerator / denominator`` of two aggregates, missing where infinite or undefined."""

    numerator: Aggregate
    """Dividend."""
    denominator: Aggregate
    """Divisor."""
