"""Declarative per-applicant aggregation of a child table: numeric statistics and category counts/shares.

A :class:`TablePlan` lists what to compute; the same plan yields the fixed, ordered feature specs (from the
schema, never from the data) and the feature values, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from training.features.catalog import NONNEGATIVE, SHARE, Domain, FeatureSpec, column_domain, stat_domain
from training.features.grouping import Groups, safe_ratio
from training.features.naming import feature_name, sanitise_label
from training.schema import TABLES

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
        raise ValueError(f"{table}.{column} has no known labels in training.schema")
    return labels


@dataclass(frozen=True)
class NumericAgg:
    """Statistics of one numeric column (raw Kaggle or derived) over an applicant's rows."""

    column: str
    """Column of the prepared values; also the middle part of the feature names."""
    stats: tuple[str, ...]
    """Statistics among MEAN, MAX, MIN, SUM, MEDIAN, STD, and SHARE (for a 0/1 indicator)."""
    about: str | None = None
    """What one value is; None takes the schema's description of the raw column."""
    domain: Domain | None = None
    """Values one row can take; None takes the raw column's domain."""


@dataclass(frozen=True)
class CategoryAgg:
    """Counts and/or shares of each known label of a text column over an applicant's rows."""

    column: str
    """Raw Kaggle text column."""
    counts: bool = False
    """Also emit ``..._<LABEL>_COUNT`` columns (shares are always emitted)."""


@dataclass(frozen=True)
class TablePlan:
    """Everything aggregated from one child table per applicant (or per bureau credit)."""

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

    def _about(self, agg: NumericAgg) -> str:
        return agg.about if agg.about is not None else column_about(self.table, agg.column)

    def _domain(self, agg: NumericAgg) -> Domain:
        return agg.domain if agg.domain is not None else column_domain(self.table, agg.column)

    def specs(self) -> list[FeatureSpec]:
        """The plan's features, in output order."""
        specs: list[FeatureSpec] = []
        if self.row_count:
            specs.append(
                FeatureSpec(
                    feature_name(self.prefix, "COUNT"),
                    "count",
                    self.table,
                    f"Number of {self.unit} (table {self.table}).",
                    NONNEGATIVE,
                )
            )
        for agg in self.numeric:
            about, domain = self._about(agg), self._domain(agg)
            for stat in agg.stats:
                if stat == "SHARE":
                    text = f"Share of {self.unit} for which {about} (table {self.table})."
                else:
                    text = f"{_STAT_WORDS[stat]} over {self.unit} of: {about} (table {self.table})."
                specs.append(
                    FeatureSpec(
                        feature_name(self.prefix, agg.column, stat),
                        "value",
                        self.table,
                        text,
                        stat_domain(stat, domain),
                    )
                )
        for cat in self.categories:
            about = column_about(self.table, cat.column)
            for label in table_labels(self.table, cat.column):
                part = sanitise_label(label)
                if cat.counts:
                    specs.append(
                        FeatureSpec(
                            feature_name(self.prefix, cat.column, part, "COUNT"),
                            "count",
                            self.table,
                            f"Number of {self.unit} whose {cat.column} ({about}) is {label!r} "
                            f"(table {self.table}).",
                            NONNEGATIVE,
                        )
                    )
                specs.append(
                    FeatureSpec(
                        feature_name(self.prefix, cat.column, part, "SHARE"),
                        "value",
                        self.table,
                        f"Share of {self.unit} whose {cat.column} ({about}) is {label!r} "
                        f"(table {self.table}).",
                        SHARE,
                    )
                )
        return specs

    def compute(
        self,
        groups: Groups,
        values: Mapping[str, np.ndarray],
        labels: Mapping[str, np.ndarray],
    ) -> dict[str, np.ndarray]:
        """Feature arrays (one entry per group) keyed by name.

        ``values`` holds every numeric column of the plan and ``labels`` the label positions of every
        category column (see :func:`training.features.grouping.label_codes`), both restricted to the rows
        kept by ``groups``.
        """
        out: dict[str, np.ndarray] = {}
        count = groups.count()
        if self.row_count:
            out[feature_name(self.prefix, "COUNT")] = count
        stats = groups.stats(values, {agg.column: agg.stats for agg in self.numeric})
        for agg in self.numeric:
            for stat in agg.stats:
                out[feature_name(self.prefix, agg.column, stat)] = stats[(agg.column, stat)]
        for cat in self.categories:
            known = table_labels(self.table, cat.column)
            per_label = groups.label_counts(labels[cat.column], len(known))
            for position, label in enumerate(known):
                part = sanitise_label(label)
                if cat.counts:
                    out[feature_name(self.prefix, cat.column, part, "COUNT")] = per_label[:, position]
                out[feature_name(self.prefix, cat.column, part, "SHARE")] = safe_ratio(
                    per_label[:, position], count
                )
        return out
