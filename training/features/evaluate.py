"""Batch evaluation of the feature definitions: whole Kaggle tables in, one value per applicant out.

The definitions (:mod:`service.applicant.definitions`) say what each feature is; this module computes them
over millions of rows with numpy: the rows of a table are put in applicant order once (:class:`Groups`),
every row value is one vectorised array over the kept rows, and every aggregate one grouped reduction.
Row values, conditions and aggregates shared by several features are computed once per table; all the
statistics of one row value are computed together (they share the sums and counts).

The service evaluates the same definitions for one applicant in plain Python
(:mod:`service.applicant.evaluate`); ``tests/training/features/test_parity.py`` holds the two together.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from service.applicant.expressions import (
    AcrossColumns,
    Aggregate,
    AggregateRatio,
    AtLeastZero,
    Both,
    Condition,
    Count,
    CountWhere,
    Difference,
    DistinctCount,
    Expr,
    Greater,
    Indicator,
    IsLabel,
    Known,
    LabelNumber,
    Less,
    Negative,
    PerCredit,
    Ratio,
    Raw,
    ShareWhere,
    Stat,
    Where,
)
from service.applicant.schema import TABLES, schema_table
from training.features.grouping import (
    Groups,
    child_table,
    float_column,
    key_positions,
    label_codes,
    safe_ratio,
)

__all__ = ["ApplicationRows", "TableRows"]


def _all_rows(values: np.ndarray) -> np.ndarray:
    return values


def _stats_wanted(aggregates: Iterable[Aggregate]) -> dict[Expr, set[str]]:
    """Every statistic asked of each row value, so that one grouped pass computes them all."""
    wanted: dict[Expr, set[str]] = defaultdict(set)

    def visit(aggregate: Aggregate) -> None:
        if isinstance(aggregate, Stat):
            wanted[aggregate.value].add(aggregate.stat)
        elif isinstance(aggregate, AggregateRatio):
            visit(aggregate.numerator)
            visit(aggregate.denominator)

    for aggregate in aggregates:
        visit(aggregate)
    return wanted


class _Rows:
    """Row values and conditions over the rows of one table, memoised per definition node."""

    def __init__(self, frame: pd.DataFrame, table: str, rows: Callable[[np.ndarray], np.ndarray]) -> None:
        self.frame = frame
        self.table = table
        self._rows = rows
        """Takes the kept rows of a full-length column, in evaluation order."""
        self._values: dict[Expr, np.ndarray] = {}
        self._conditions: dict[Condition, np.ndarray] = {}
        self._codes: dict[str, np.ndarray] = {}

    def labels(self, column: str) -> tuple[str, ...]:
        """Known labels of a text column of this table."""
        return TABLES[schema_table(self.table)].column(column).categories

    def codes(self, column: str) -> np.ndarray:
        """Position of each row's label among the known labels, -1 for missing or unknown."""
        codes = self._codes.get(column)
        if codes is None:
            codes = self._codes[column] = self._rows(label_codes(self.frame, column, self.labels(column)))
        return codes

    def value(self, expr: Expr) -> np.ndarray:
        """The float64 row value ``expr`` of every kept row (NaN = missing)."""
        values = self._values.get(expr)
        if values is None:
            values = self._values[expr] = self._compute(expr)
        return values

    def _compute(self, expr: Expr) -> np.ndarray:
        match expr:
            case Raw(column):
                return self._rows(float_column(self.frame, column))
            case Difference(left, right):
                return self.value(left) - self.value(right)
            case Negative(value):
                return -self.value(value)
            case AtLeastZero(value):
                return np.clip(self.value(value), 0, None)
            case Ratio(numerator, denominator):
                return safe_ratio(self.value(numerator), self.value(denominator))
            case Where(condition, value):
                return np.where(self.condition(condition), self.value(value), np.nan)
            case Indicator(condition, known):
                flags = self.condition(condition).astype(np.float64)
                return flags if known is None else np.where(self.condition(known), flags, np.nan)
            case LabelNumber(column, numbers):
                labels = self.labels(column)
                lookup = np.full(len(labels) + 1, np.nan)  # the last entry answers code -1
                for label, number in numbers:
                    lookup[labels.index(label)] = number
                return lookup[self.codes(column)]
            case AcrossColumns():
                return self._across(expr)
            case PerCredit(aggregate):
                return self._per_credit(aggregate)
        raise TypeError(f"no batch evaluation for {type(expr).__name__}")

    def _across(self, expr: AcrossColumns) -> np.ndarray:
        k = len(expr.columns)
        if len(self.frame) == 0:
            scores = np.empty((0, k))
        else:
            scores = np.column_stack([self.value(Raw(c)) for c in expr.columns])
        present = ~np.isnan(scores)
        n_present = present.sum(axis=1)
        none = n_present == 0
        filled = np.where(present, scores, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            match expr.stat:
                case "MEAN":
                    result = filled.sum(axis=1) / n_present
                case "STD":
                    mean = filled.sum(axis=1) / n_present
                    spread = np.where(present, scores - mean[:, None], 0.0)
                    result = np.sqrt((spread**2).sum(axis=1) / n_present)
                case "WEIGHTED_MEAN":
                    weights = np.asarray(expr.weights, dtype=np.float64)
                    result = (filled * weights).sum(axis=1) / (present * weights).sum(axis=1)
                case "MIN":
                    result = np.where(present, scores, np.inf).min(axis=1) if len(scores) else np.empty(0)
                case "MAX":
                    result = np.where(present, scores, -np.inf).max(axis=1) if len(scores) else np.empty(0)
                case "PROD":
                    return np.prod(scores, axis=1)
                case "MISSING_COUNT":
                    return (k - n_present).astype(np.float64)
                case _:
                    raise ValueError(f"unknown statistic across columns {expr.stat!r}")
        return np.where(none, np.nan, result)

    def _per_credit(self, aggregate: Aggregate) -> np.ndarray:
        raise TypeError(f"PerCredit is defined on bureau rows, not on {self.table}")

    def condition(self, condition: Condition) -> np.ndarray:
        """Boolean array of ``condition`` over the kept rows."""
        result = self._conditions.get(condition)
        if result is None:
            result = self._conditions[condition] = self._condition(condition)
        return result

    def _condition(self, condition: Condition) -> np.ndarray:
        match condition:
            case Greater(value, than):
                return self.value(value) > than
            case Less(value, than):
                return self.value(value) < self.value(than)
            case Known(value):
                return ~np.isnan(self.value(value))
            case Both(first, second):
                return self.condition(first) & self.condition(second)
            case IsLabel(column, labels):
                known = self.labels(column)
                positions = [known.index(label) for label in labels]
                codes = self.codes(column)
                return codes == positions[0] if len(positions) == 1 else np.isin(codes, positions)
        raise TypeError(f"no batch evaluation for {type(condition).__name__}")


class ApplicationRows(_Rows):
    """The application table: one row per applicant, so a feature is a row value."""

    def __init__(self, frame: pd.DataFrame) -> None:
        super().__init__(frame, "application", _all_rows)


class TableRows(_Rows):
    """The rows of a history table grouped by applicant (or, for bureau_balance, by bureau credit)."""

    def __init__(
        self,
        frame: pd.DataFrame,
        table: str,
        groups: Groups,
        tables: Mapping[str, pd.DataFrame] | None = None,
        stats_wanted: Mapping[Expr, set[str]] | None = None,
    ) -> None:
        super().__init__(frame, table, groups.rows)
        self.groups = groups
        self._tables = tables or {}
        self._wanted: dict[Expr, set[str]] = defaultdict(set, stats_wanted or {})
        self._aggregates: dict[Aggregate, np.ndarray] = {}
        self._label_counts: dict[str, np.ndarray] = {}
        self._credits: TableRows | None = None
        self._credit_back: np.ndarray | None = None

    @classmethod
    def for_applicants(
        cls,
        table: str,
        tables: Mapping[str, pd.DataFrame],
        applicants: pd.Index,
        aggregates: Iterable[Aggregate],
    ) -> TableRows:
        """The rows of ``tables[table]`` grouped by position of their SK_ID_CURR in ``applicants``.

        ``aggregates`` are those that will be asked for, so that statistics of a row value share a pass.
        """
        frame = child_table(tables, table)
        groups = Groups(key_positions(applicants, frame["SK_ID_CURR"]), len(applicants))
        return cls(frame, table, groups, tables, _stats_wanted(aggregates))

    def aggregate(self, aggregate: Aggregate) -> np.ndarray:
        """One value per group (float64; counts are whole numbers)."""
        result = self._aggregates.get(aggregate)
        if result is None:
            result = self._aggregates[aggregate] = self._aggregate(aggregate)
        return result

    def _aggregate(self, aggregate: Aggregate) -> np.ndarray:
        groups = self.groups
        match aggregate:
            case Count():
                return groups.count().astype(np.float64)
            case Stat(_, value, stat):
                wanted = self._wanted[value]
                wanted.add(stat)
                computed = groups.stats({"v": self.value(value)}, {"v": sorted(wanted)})
                for name in wanted:
                    self._aggregates[Stat(aggregate.rows, value, name)] = computed[("v", name)]
                return computed[("v", stat)]
            case CountWhere(_, condition):
                return self._count_where(condition)
            case ShareWhere(_, condition):
                return safe_ratio(self._count_where(condition), groups.count())
            case DistinctCount(_, value):
                return groups.distinct_count(self.value(value)).astype(np.float64)
            case AggregateRatio(numerator, denominator):
                return safe_ratio(self.aggregate(numerator), self.aggregate(denominator))
        raise TypeError(f"no batch evaluation for {type(aggregate).__name__}")

    def _count_where(self, condition: Condition) -> np.ndarray:
        if isinstance(condition, IsLabel) and len(condition.labels) == 1:
            counts = self._label_counts.get(condition.column)
            if counts is None:
                labels = self.labels(condition.column)
                counts = self.groups.label_counts(self.codes(condition.column), len(labels))
                self._label_counts[condition.column] = counts
            return counts[:, self.labels(condition.column).index(condition.labels[0])].astype(np.float64)
        return self.groups.count_where(self.condition(condition)).astype(np.float64)

    def _per_credit(self, aggregate: Aggregate) -> np.ndarray:
        if self.table != "bureau":
            return super()._per_credit(aggregate)
        if self._credits is None:
            credit_ids = self._rows(np.asarray(self.frame["SK_ID_BUREAU"]))
            unique_ids = pd.Index(credit_ids).unique()
            balance = child_table(self._tables, "bureau_balance")
            groups = Groups(key_positions(unique_ids, balance["SK_ID_BUREAU"]), len(unique_ids))
            self._credits = TableRows(balance, "bureau_balance", groups)
            self._credit_back = unique_ids.get_indexer(credit_ids)
        assert self._credit_back is not None
        return self._credits.aggregate(aggregate)[self._credit_back]
