"""Declarative per-applicant aggregation of a history table: numeric statistics and category counts/shares.

A :class:`TablePlan` lists what to compute from one table; :meth:`TablePlan.features` turns it into
feature definitions with names, descriptions and domains taken from the schema (never from the data).
"""

from __future__ import annotations

from dataclasses import dataclass

from service.applicant.catalog import FeatureDefinition
from service.applicant.domains import NONNEGATIVE, SHARE, Domain, column_domain, stat_domain
from service.applicant.expressions import Count, CountWhere, Expr, IsLabel, Raw, ShareWhere, Stat
from service.applicant.naming import feature_name, sanitise_label
from service.applicant.schema import TABLES

__all__ = ["CategoryAgg", "NumericAgg", "TablePlan", "column_about", "table_labels"]

_STAT_WORDS = {
    "MEAN": "Mean",
    "MAX": "Largest",
    "MIN": "Smallest",
    "SUM": "Total",
    "MEDIAN": "Median",
    "STD": "Spread (population standard deviation)",
}


def column_about(table: str, column: str) -> str:
    """The schema's wording for a raw column of a Kaggle table."""
    return TABLES[table].column(column).description


def table_labels(table: str, column: str) -> tuple[str, ...]:
    """Known Kaggle labels of a text column (``XNA`` excluded), from the schema."""
    labels = TABLES[table].column(column).categories
    if not labels:
        raise ValueError(f"{table}.{column} has no known labels in service.applicant.schema")
    return labels


@dataclass(frozen=True)
class NumericAgg:
    """Statistics of one row value (a raw Kaggle column or a derived value) over an applicant's rows."""

    column: str
    """Raw column, or the name of the derived value; the middle part of the feature names."""
    stats: tuple[str, ...]
    """Statistics among MEAN, MAX, MIN, SUM, MEDIAN, STD, and SHARE (for a 0/1 indicator)."""
    about: str | None = None
    """What one value is; None takes the schema's description of the raw column."""
    domain: Domain | None = None
    """Values one row can take; None takes the raw column's domain."""
    value: Expr | None = None
    """The row value; None reads the raw column ``column``."""


@dataclass(frozen=True)
class CategoryAgg:
    """Counts and/or shares of each known label of a text column over an applicant's rows."""

    column: str
    """Raw Kaggle text column."""
    counts: bool = False
    """Also emit ``..._<LABEL>_COUNT`` columns (shares are always emitted)."""


@dataclass(frozen=True)
class TablePlan:
    """Everything aggregated from one table per applicant (or per bureau credit)."""

    table: str
    """Kaggle table the rows come from."""
    prefix: str
    """Feature-name prefix, e.g. ``BURO``."""
    unit: str
    """How the rows read in a sentence, e.g. "the applicant's credits reported by other lenders"."""
    numeric: tuple[NumericAgg, ...] = ()
    """Numeric statistics, in output order."""
    categories: tuple[CategoryAgg, ...] = ()
    """Category counts/shares, in output order (after the numeric ones)."""
    row_count: bool = True
    """Emit ``<PREFIX>_COUNT``, the number of rows."""
    rows: str | None = None
    """Table whose rows are aggregated, when it differs from ``table`` (bureau_balance summaries are
    aggregated over the bureau credits)."""

    def _rows(self) -> str:
        return self.rows or self.table

    def _about(self, agg: NumericAgg) -> str:
        return agg.about if agg.about is not None else column_about(self.table, agg.column)

    def _domain(self, agg: NumericAgg) -> Domain:
        return agg.domain if agg.domain is not None else column_domain(self.table, agg.column)

    def features(self) -> list[FeatureDefinition]:
        """The plan's features, in output order."""
        rows = self._rows()
        out: list[FeatureDefinition] = []
        if self.row_count:
            out.append(
                FeatureDefinition(
                    feature_name(self.prefix, "COUNT"),
                    "count",
                    self.table,
                    f"Number of {self.unit} (table {self.table}).",
                    NONNEGATIVE,
                    Count(rows),
                )
            )
        for agg in self.numeric:
            about, domain = self._about(agg), self._domain(agg)
            value = agg.value if agg.value is not None else Raw(agg.column)
            for stat in agg.stats:
                if stat == "SHARE":
                    text = f"Share of {self.unit} for which {about} (table {self.table})."
                else:
                    text = f"{_STAT_WORDS[stat]} over {self.unit} of: {about} (table {self.table})."
                out.append(
                    FeatureDefinition(
                        feature_name(self.prefix, agg.column, stat),
                        "value",
                        self.table,
                        text,
                        stat_domain(stat, domain),
                        Stat(rows, value, stat),
                    )
                )
        for cat in self.categories:
            about = column_about(self.table, cat.column)
            for label in table_labels(self.table, cat.column):
                part = sanitise_label(label)
                condition = IsLabel(cat.column, (label,))
                if cat.counts:
                    out.append(
                        FeatureDefinition(
                            feature_name(self.prefix, cat.column, part, "COUNT"),
                            "count",
                            self.table,
                            f"Number of {self.unit} whose {cat.column} ({about}) is {label!r} "
                            f"(table {self.table}).",
                            NONNEGATIVE,
                            CountWhere(rows, condition),
                        )
                    )
                out.append(
                    FeatureDefinition(
                        feature_name(self.prefix, cat.column, part, "SHARE"),
                        "value",
                        self.table,
                        f"Share of {self.unit} whose {cat.column} ({about}) is {label!r} "
                        f"(table {self.table}).",
                        SHARE,
                        ShareWhere(rows, condition),
                    )
                )
        return out
