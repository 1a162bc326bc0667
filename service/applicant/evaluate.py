"""The one-applicant evaluator: the feature definitions computed in plain Python over one applicant's records.

Training computes every feature over whole tables with numpy group reductions
(:mod:`training.features.evaluate`); for one applicant with a few dozen history rows, numpy's per-call cost
would dominate, so the service evaluates the same definitions here over Python lists.
``tests/training/features/test_parity.py`` checks that both give the same values for every feature of
generated applicants of every drift scenario and of the real Kaggle samples.

:class:`FeatureRow` compiles the definitions of a fixed list of features (the model's) once into a flat list
of steps in dependency order, each computing one node of the definitions (a row value over a table's rows,
a condition, an aggregate) from the results of earlier steps; a node shared by several features is computed
once. Evaluating an applicant runs the steps in order.

The applicant is a decoded document (:mod:`service.applicant.document`): the application columns as
attributes, each history table as a list of records under its Kaggle name, each bureau credit with its
``bureau_balance`` records. Values are already checked: numbers are finite, text is text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any

from service.applicant.catalog import APPLICATION
from service.applicant.definitions import feature_definition
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
from service.applicant.schema import SENTINEL_DAYS, SENTINEL_DAYS_COLUMNS

__all__ = ["FeatureRow"]

NAN = float("nan")

Step = Callable[[list, Any], Any]
"""One compiled node: (results of the earlier steps, the root record) -> this node's result."""

_SCHEMA_TABLE = {APPLICATION: "application_train"}


def _ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``, NaN where infinite or undefined (as the batch evaluator's safe ratio)."""
    if denominator == 0.0 or numerator != numerator or denominator != denominator:
        return NAN
    result = numerator / denominator
    return result if -math.inf < result < math.inf else NAN


def _raw_reader(table: str, column: str) -> Callable[[Any], float]:
    """Reads one numeric column of a record as float: NaN for null and for Kaggle's "no date" sentinel."""
    get = attrgetter(column)
    if column in SENTINEL_DAYS_COLUMNS.get(_SCHEMA_TABLE.get(table, table), ()):

        def read_days(record: Any) -> float:
            value = get(record)
            return NAN if value is None or value == SENTINEL_DAYS else float(value)

        return read_days

    def read(record: Any) -> float:
        value = get(record)
        return NAN if value is None else float(value)

    return read


def _sum(values: list[float]) -> float:
    total = values[0]
    for value in values[1:]:
        total += value
    return total


def _stat(valid: list[float], stat: str) -> float:
    """A statistic of the non-missing values of a group (NaN when there are none)."""
    n = len(valid)
    if not n:
        return NAN
    if stat == "SUM":
        return _sum(valid)
    if stat in ("MEAN", "SHARE"):
        return _sum(valid) / n
    if stat == "MAX":
        return max(valid)
    if stat == "MIN":
        return min(valid)
    if stat == "MEDIAN":
        ordered = sorted(valid)
        middle = n // 2
        return ordered[middle] if n % 2 else (ordered[middle - 1] + ordered[middle]) / 2.0
    if stat == "STD":
        mean = _sum(valid) / n
        return math.sqrt(_sum([(value - mean) * (value - mean) for value in valid]) / n)
    raise ValueError(f"unknown statistic {stat!r}")


def _across(values: list[float], stat: str, weights: tuple[float, ...]) -> float:
    """A statistic across the columns of one row, in the batch evaluator's order of operations."""
    present = [value == value for value in values]
    n_present = sum(present)
    if stat == "MISSING_COUNT":
        return float(len(values) - n_present)
    if stat == "PROD":
        product = 1.0
        for value in values:
            product *= value
        return product
    if not n_present:
        return NAN
    filled = [value if known else 0.0 for value, known in zip(values, present, strict=True)]
    if stat == "MEAN":
        return _row_sum(filled) / n_present
    if stat == "MIN":
        return min(value for value in values if value == value)
    if stat == "MAX":
        return max(value for value in values if value == value)
    if stat == "STD":
        mean = _row_sum(filled) / n_present
        spread = [(value - mean) ** 2 if known else 0.0 for value, known in zip(values, present, strict=True)]
        return math.sqrt(_row_sum(spread) / n_present)
    if stat == "WEIGHTED_MEAN":
        weighted = _row_sum([value * weight for value, weight in zip(filled, weights, strict=True)])
        total_weight = _row_sum(
            [weight if known else 0.0 for weight, known in zip(weights, present, strict=True)]
        )
        return weighted / total_weight
    raise ValueError(f"unknown statistic across columns {stat!r}")


def _row_sum(values: list[float]) -> float:
    """numpy's order for a short reduction: the first value plus the sum of the others."""
    if len(values) == 1:
        return values[0]
    rest = 0.0
    for value in values[1:]:
        rest += value
    return values[0] + rest


class _Compiler:
    """Turns definition nodes into steps, once per distinct node, for one kind of root record."""

    def __init__(self, rows_of: Callable[[str], Callable[[Any], Sequence[Any]]]) -> None:
        self._rows_of = rows_of
        self.steps: list[Step] = []
        self._slots: dict[tuple[str, object], int] = {}

    def _slot(self, key: tuple[str, object], build: Callable[[], Step]) -> int:
        slot = self._slots.get(key)
        if slot is None:
            step = build()
            slot = self._slots[key] = len(self.steps)
            self.steps.append(step)
        return slot

    # ----------------------------------------------------------------------------------- row values

    def value(self, table: str, expr: Expr) -> int:
        """Slot of the list of ``expr``'s values over the rows of ``table``."""
        return self._slot((table, expr), lambda: self._value_step(table, expr))

    def _value_step(self, table: str, expr: Expr) -> Step:
        rows = self._rows_of(table)
        match expr:
            case Raw(column):
                read = _raw_reader(table, column)
                return lambda slots, root: [read(record) for record in rows(root)]
            case Difference(left, right):
                a, b = self.value(table, left), self.value(table, right)
                return lambda slots, root: [x - y for x, y in zip(slots[a], slots[b], strict=True)]
            case Negative(value):
                a = self.value(table, value)
                return lambda slots, root: [-x for x in slots[a]]
            case AtLeastZero(value):
                a = self.value(table, value)
                return lambda slots, root: [x if x != x or x >= 0.0 else 0.0 for x in slots[a]]
            case Ratio(numerator, denominator):
                a, b = self.value(table, numerator), self.value(table, denominator)
                return lambda slots, root: [_ratio(x, y) for x, y in zip(slots[a], slots[b], strict=True)]
            case Where(condition, value):
                c, a = self.condition(table, condition), self.value(table, value)
                return lambda slots, root: [x if k else NAN for k, x in zip(slots[c], slots[a], strict=True)]
            case Indicator(condition, None):
                c = self.condition(table, condition)
                return lambda slots, root: [1.0 if k else 0.0 for k in slots[c]]
            case Indicator(condition, known):
                c, k = self.condition(table, condition), self.condition(table, known)
                return lambda slots, root: [
                    (1.0 if flag else 0.0) if defined else NAN
                    for flag, defined in zip(slots[c], slots[k], strict=True)
                ]
            case LabelNumber(column, numbers):
                labels = self.labels(table, column)
                mapping = dict(numbers)
                return lambda slots, root: [mapping.get(label, NAN) for label in slots[labels]]
            case AcrossColumns(columns, stat, weights):
                parts = [self.value(table, Raw(column)) for column in columns]
                return lambda slots, root: [
                    _across(list(row), stat, weights) for row in zip(*(slots[p] for p in parts), strict=True)
                ]
            case PerCredit(aggregate):
                nested = _Compiler(lambda _table: attrgetter("bureau_balance"))
                out = nested.aggregate(aggregate)
                steps = nested.steps
                return lambda slots, root: [_run(steps, credit)[out] for credit in rows(root)]
        raise TypeError(f"no evaluation for {type(expr).__name__}")

    def labels(self, table: str, column: str) -> int:
        """Slot of the list of a text column's values (str or None) over the rows of ``table``."""

        def build() -> Step:
            rows, get = self._rows_of(table), attrgetter(column)
            return lambda slots, root: [get(record) for record in rows(root)]

        return self._slot((table, ("labels", column)), build)

    # ----------------------------------------------------------------------------------- conditions

    def condition(self, table: str, condition: Condition) -> int:
        """Slot of the list of ``condition``'s truth values over the rows of ``table``."""
        return self._slot((table, condition), lambda: self._condition_step(table, condition))

    def _condition_step(self, table: str, condition: Condition) -> Step:
        match condition:
            case Greater(value, than):
                a = self.value(table, value)
                return lambda slots, root: [x > than for x in slots[a]]
            case Less(value, than):
                a, b = self.value(table, value), self.value(table, than)
                return lambda slots, root: [x < y for x, y in zip(slots[a], slots[b], strict=True)]
            case Known(value):
                a = self.value(table, value)
                return lambda slots, root: [x == x for x in slots[a]]
            case Both(first, second):
                a, b = self.condition(table, first), self.condition(table, second)
                return lambda slots, root: [p and q for p, q in zip(slots[a], slots[b], strict=True)]
            case IsLabel(column, labels):
                text = self.labels(table, column)
                wanted = frozenset(labels)
                return lambda slots, root: [label in wanted for label in slots[text]]
        raise TypeError(f"no evaluation for {type(condition).__name__}")

    # ----------------------------------------------------------------------------------- aggregates

    def aggregate(self, aggregate: Aggregate) -> int:
        """Slot of ``aggregate``'s value (a float) for the root record."""
        return self._slot(("aggregate", aggregate), lambda: self._aggregate_step(aggregate))

    def _valid(self, table: str, expr: Expr) -> int:
        """Slot of ``expr``'s non-missing values over the rows of ``table``."""

        def build() -> Step:
            a = self.value(table, expr)
            return lambda slots, root: [x for x in slots[a] if x == x]

        return self._slot((table, ("valid", expr)), build)

    def _aggregate_step(self, aggregate: Aggregate) -> Step:
        match aggregate:
            case Count(table):
                rows = self._rows_of(table)
                return lambda slots, root: float(len(rows(root)))
            case Stat(table, value, stat):
                valid = self._valid(table, value)
                return lambda slots, root: _stat(slots[valid], stat)
            case CountWhere(table, condition):
                c = self.condition(table, condition)
                return lambda slots, root: float(sum(slots[c]))
            case ShareWhere(table, condition):
                c = self.condition(table, condition)
                return lambda slots, root: float(sum(slots[c])) / len(slots[c]) if slots[c] else NAN
            case DistinctCount(table, value):
                valid = self._valid(table, value)
                return lambda slots, root: float(len(set(slots[valid])))
            case AggregateRatio(numerator, denominator):
                a, b = self.aggregate(numerator), self.aggregate(denominator)
                return lambda slots, root: _ratio(slots[a], slots[b])
        raise TypeError(f"no evaluation for {type(aggregate).__name__}")


def _run(steps: list[Step], root: Any) -> list:
    slots: list = []
    append = slots.append
    for step in steps:
        append(step(slots, root))
    return slots


def _applicant_rows(table: str) -> Callable[[Any], Sequence[Any]]:
    if table == APPLICATION:
        return lambda applicant: (applicant,)
    return attrgetter(table)


class FeatureRow:
    """Computes a fixed, ordered list of features for one applicant document at a time."""

    def __init__(self, names: Sequence[str]) -> None:
        """Compile the definitions of ``names`` (KeyError for a name that is not a defined feature)."""
        self.names = list(names)
        """Feature names, in output order."""
        compiler = _Compiler(_applicant_rows)
        outputs: list[tuple[int, bool]] = []
        for name in self.names:
            definition = feature_definition(name)
            computed = definition.computed
            if isinstance(computed, Aggregate):
                outputs.append((compiler.aggregate(computed), False))
            else:
                outputs.append((compiler.value(APPLICATION, computed), True))
        self._steps = compiler.steps
        self._outputs = outputs
        self._kinds = [feature_definition(name).kind for name in self.names]

    @property
    def n_steps(self) -> int:
        """Number of distinct definition nodes evaluated per applicant."""
        return len(self._steps)

    def values(self, applicant: Any) -> list[float]:
        """The features of one applicant, in order: floats, NaN for missing values (counts are 0, not NaN).

        Values follow the same storage conventions as training's feature build: a count or flag with no
        value is 0, and a value that is not finite is NaN.
        """
        slots = _run(self._steps, applicant)
        out = []
        for (slot, per_row), kind in zip(self._outputs, self._kinds, strict=True):
            value = slots[slot][0] if per_row else slots[slot]
            if kind == "value":
                if not -math.inf < value < math.inf:
                    value = NAN
            elif value != value:
                value = 0.0
            out.append(value)
        return out
