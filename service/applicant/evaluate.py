"""The one-applicant evaluator: the feature definitions computed in plain Python over one applicant's records.

Training computes every feature over whole tables with numpy group reductions
(:mod:`training.features.evaluate`); for one applicant with a few dozen history rows, numpy's per-call cost
would dominate, so the service evaluates the same definitions here over Python lists.
``tests/training/features/test_parity.py`` checks that both give the same values for every feature of
generated applicants of every drift scenario and of the real Kaggle samples.

:class:`FeatureRow` compiles the definitions of a fixed list of features (the model's) once into one Python
function, generated from the definitions (never written by hand): one line per node of the definitions (a
row value over a table's rows, a condition, an aggregate), in dependency order, each reading the variables
of earlier lines; a node shared by several features is computed once. On the application record, which is
one row, nodes are plain values; on a history table, lists over its records. Generated code runs about
twice as fast as the same steps as closures (no call and no list lookup per node; BENCHMARKS.md), and
:attr:`FeatureRow.source` shows it.

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
from service.applicant.document import HISTORY_TABLES
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
from service.applicant.schema import SENTINEL_DAYS, SENTINEL_DAYS_COLUMNS, schema_table

__all__ = ["FeatureRow"]

NAN = float("nan")


def _ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``, NaN where infinite or undefined (as the batch evaluator's safe ratio)."""
    if denominator == 0.0 or numerator != numerator or denominator != denominator:
        return NAN
    result = numerator / denominator
    return result if -math.inf < result < math.inf else NAN


def _missing(table: str, column: str) -> str:
    """The test, on a raw value ``x``, of it being missing: null, or Kaggle's "no date" in a DAYS_* column."""
    if column in SENTINEL_DAYS_COLUMNS[schema_table(table)]:
        return f"x is None or x == {SENTINEL_DAYS}"
    return "x is None"


def _sum(values: list[float]) -> float:
    """Left-to-right sum (Python 3.12's ``sum`` compensates float rounding; the batch evaluator does not)."""
    total = values[0]
    for value in values[1:]:
        total += value
    return total


def _median(valid: list[float]) -> float:
    n = len(valid)
    if not n:
        return NAN
    ordered = sorted(valid)
    middle = n // 2
    return ordered[middle] if n % 2 else (ordered[middle - 1] + ordered[middle]) / 2.0


def _std(valid: list[float]) -> float:
    if not valid:
        return NAN
    mean = _sum(valid) / len(valid)
    return math.sqrt(_sum([(value - mean) * (value - mean) for value in valid]) / len(valid))


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


_STAT_EXPRESSIONS = {
    "SUM": "(_sum({0}) if {0} else NAN)",
    "MEAN": "(_sum({0}) / len({0}) if {0} else NAN)",
    "SHARE": "(_sum({0}) / len({0}) if {0} else NAN)",
    "MAX": "(max({0}) if {0} else NAN)",
    "MIN": "(min({0}) if {0} else NAN)",
    "MEDIAN": "_median({0})",
    "STD": "_std({0})",
}
"""Python expression of each statistic of a list of non-missing values (NaN when the list is empty)."""


class _Function:
    """Generates one function of a root record (the applicant, or one bureau credit): lines and names."""

    def __init__(self, compiler: _Compiler, name: str, root: str, tables: dict[str, str | None]) -> None:
        self.compiler = compiler
        self.name = name
        self.root = root
        self.tables = tables
        """Table -> expression of its records from the root (``None``: the root itself is the one row)."""
        self.lines: list[str] = []
        self._names: dict[tuple[str, object], str] = {}
        self._rows: dict[str, str] = {}

    def source(self, outputs: list[str], *, one: bool = False) -> str:
        """The function's source: its lines, then ``return [outputs]`` (``return output`` with ``one``)."""
        returned = outputs[0] if one else f"[{', '.join(outputs)}]"
        body = [f"    {line}" for line in self.lines] + [f"    return {returned}"]
        return f"def {self.name}({self.root}):\n" + "\n".join(body) + "\n"

    def _let(self, key: tuple[str, object], expression: Callable[[], str]) -> str:
        """The variable holding ``expression`` (computed once per key; the expression is built on demand)."""
        name = self._names.get(key)
        if name is None:
            text = expression()
            name = self._names[key] = f"v{len(self._names)}"
            self.lines.append(f"{name} = {text}")
        return name

    def rows(self, table: str) -> str:
        """The variable holding the records of ``table`` (history tables only)."""
        name = self._rows.get(table)
        if name is None:
            source = self.tables[table]
            assert source is not None
            name = self._rows[table] = f"rows_{len(self._rows)}"
            self.lines.append(f"{name} = {source}")
        return name

    def scalar(self, table: str) -> bool:
        """Whether ``table`` is the root record itself (values, not lists)."""
        return self.tables[table] is None

    # ------------------------------------------------------------------------------------ row values

    def value(self, table: str, expr: Expr) -> str:
        """The variable holding ``expr`` on ``table``: a value on the root record, a list on a history one."""
        return self._let((table, expr), lambda: self._value(table, expr))

    def _row(self, table: str, template: str, *inputs: str) -> str:
        """``template`` (over ``{0}``, ``{1}``, ...) applied to each row's inputs, or to the root's values."""
        if self.scalar(table):
            return template.format(*inputs)
        names = [f"x{i}" for i in range(len(inputs))]
        if len(inputs) == 1:
            return f"[{template.format(*names)} for x0 in {inputs[0]}]"
        return f"[{template.format(*names)} for {', '.join(names)} in zip({', '.join(inputs)})]"

    def _read(self, table: str, column: str, missing: str) -> str:
        """Reading a column: ``missing`` (an expression of ``x``) says when a value counts as missing."""
        getter = self.compiler.constant(attrgetter(column))
        if self.scalar(table):
            self.lines.append(f"x = {getter}({self.root})")
            return f"NAN if {missing} else x"
        return f"[NAN if {missing} else x for x in map({getter}, {self.rows(table)})]"

    def _value(self, table: str, expr: Expr) -> str:
        match expr:
            case Raw(column):
                return self._read(table, column, _missing(table, column))
            case Difference(left, right):
                return self._row(table, "{0} - {1}", self.value(table, left), self.value(table, right))
            case Negative(value):
                return self._row(table, "-{0}", self.value(table, value))
            case AtLeastZero(value):
                return self._row(table, "({0} if {0} != {0} or {0} >= 0 else 0.0)", self.value(table, value))
            case Ratio(numerator, denominator):
                inputs = self.value(table, numerator), self.value(table, denominator)
                # _ratio inlined (one call per row otherwise): NaN for 0 or missing, then for an infinity
                guard = "NAN if not {1} or {0} != {0} or {1} != {1}"
                inline = f"({guard} else (r if -INF < (r := {{0}} / {{1}}) < INF else NAN))"
                return self._row(table, inline, *inputs)
            case Where(condition, value):
                inputs = self.condition(table, condition), self.value(table, value)
                return self._row(table, "({1} if {0} else NAN)", *inputs)
            case Indicator(condition, None):
                return self._row(table, "(1.0 if {0} else 0.0)", self.condition(table, condition))
            case Indicator(condition, known):
                inputs = self.condition(table, condition), self.condition(table, known)
                return self._row(table, "((1.0 if {0} else 0.0) if {1} else NAN)", *inputs)
            case LabelNumber(column, numbers):
                mapping = self.compiler.constant(dict(numbers))
                return self._row(table, mapping + ".get({0}, NAN)", self.labels(table, column))
            case AcrossColumns(columns, stat, weights):
                inputs = [self.value(table, Raw(column)) for column in columns]
                fixed = self.compiler.constant((stat, tuple(weights)))
                listed = "[" + ", ".join(f"{{{i}}}" for i in range(len(inputs))) + "]"
                return self._row(table, f"_across({listed}, *{fixed})", *inputs)
            case PerCredit(aggregate):
                credit = self.compiler.credit_function(aggregate)
                return f"[{credit}(c) for c in {self.rows(table)}]"
        raise TypeError(f"no evaluation for {type(expr).__name__}")

    def labels(self, table: str, column: str) -> str:
        """The variable holding a text column (str or None) on ``table``."""

        def build() -> str:
            getter = self.compiler.constant(attrgetter(column))
            if self.scalar(table):
                return f"{getter}({self.root})"
            return f"list(map({getter}, {self.rows(table)}))"

        return self._let((table, ("labels", column)), build)

    # ------------------------------------------------------------------------------------ conditions

    def condition(self, table: str, condition: Condition) -> str:
        """The variable holding ``condition`` on ``table`` (a bool, or a list of them)."""
        return self._let((table, condition), lambda: self._condition(table, condition))

    def _condition(self, table: str, condition: Condition) -> str:
        match condition:
            case Greater(value, than):
                return self._row(table, f"{{0}} > {float(than)!r}", self.value(table, value))
            case Less(value, than):
                return self._row(table, "{0} < {1}", self.value(table, value), self.value(table, than))
            case Known(value):
                return self._row(table, "{0} == {0}", self.value(table, value))
            case Both(first, second):
                inputs = self.condition(table, first), self.condition(table, second)
                return self._row(table, "({0} and {1})", *inputs)
            case IsLabel(column, labels):
                wanted = self.compiler.constant(frozenset(labels))
                return self._row(table, "{0} in " + wanted, self.labels(table, column))
        raise TypeError(f"no evaluation for {type(condition).__name__}")

    # ------------------------------------------------------------------------------------ aggregates

    def aggregate(self, aggregate: Aggregate) -> str:
        """The variable holding ``aggregate``'s value for the root record."""
        return self._let(("aggregate", aggregate), lambda: self._aggregate(aggregate))

    def _valid(self, table: str, expr: Expr) -> str:
        """The variable holding the non-missing values of ``expr`` over ``table``'s records."""

        def build() -> str:
            if isinstance(expr, Raw) and (table, expr) not in self._names:  # read straight into the list
                getter = self.compiler.constant(attrgetter(expr.column))
                missing = _missing(table, expr.column)
                return f"[x for x in map({getter}, {self.rows(table)}) if not ({missing})]"
            match expr:  # the non-missing values without the intermediate list of all of them
                case Where(condition, value):
                    flags, values = self.condition(table, condition), self.value(table, value)
                    return f"[x1 for x0, x1 in zip({flags}, {values}) if x0 and x1 == x1]"
                case Indicator(condition, known) if known is not None:
                    flags, defined = self.condition(table, condition), self.condition(table, known)
                    return f"[1.0 if x0 else 0.0 for x0, x1 in zip({flags}, {defined}) if x1]"
            return f"[x for x in {self.value(table, expr)} if x == x]"

        return self._let((table, ("valid", expr)), build)

    def _aggregate(self, aggregate: Aggregate) -> str:
        match aggregate:
            case Count(table):
                return f"float(len({self.rows(table)}))"
            case Stat(table, value, stat):
                return _STAT_EXPRESSIONS[stat].format(self._valid(table, value))
            case CountWhere(table, IsLabel(column, (label,))):  # list.count: the label counted in C
                return f"float({self.labels(table, column)}.count({self.compiler.constant(label)}))"
            case ShareWhere(table, IsLabel(column, (label,))):
                text, known = self.labels(table, column), self.compiler.constant(label)
                return f"({text}.count({known}) / len({text}) if {text} else NAN)"
            case CountWhere(table, condition):
                return f"float(sum({self.condition(table, condition)}))"
            case ShareWhere(table, condition):
                flags = self.condition(table, condition)
                return f"(sum({flags}) / len({flags}) if {flags} else NAN)"
            case DistinctCount(table, value):
                return f"float(len(set({self._valid(table, value)})))"
            case AggregateRatio(numerator, denominator):
                return f"_ratio({self.aggregate(numerator)}, {self.aggregate(denominator)})"
        raise TypeError(f"no evaluation for {type(aggregate).__name__}")


class _Compiler:
    """Generates the functions of one :class:`FeatureRow` and the namespace they run in."""

    def __init__(self) -> None:
        self.namespace: dict[str, Any] = {
            "NAN": NAN,
            "_ratio": _ratio,
            "INF": math.inf,
            "_sum": _sum,
            "_median": _median,
            "_std": _std,
            "_across": _across,
        }
        self.sources: list[str] = []
        self._constants: dict[tuple[type, object], str] = {}
        self._credits: dict[Aggregate, str] = {}

    def constant(self, value: object) -> str:
        """A name bound to ``value`` in the generated code's namespace (shared by equal values)."""
        key = (type(value), repr(value) if isinstance(value, attrgetter | dict) else value)
        name = self._constants.get(key)
        if name is None:
            name = self._constants[key] = f"k{len(self._constants)}"
            self.namespace[name] = value
        return name

    def credit_function(self, aggregate: Aggregate) -> str:
        """The name of a generated function of one bureau credit returning ``aggregate``'s value."""
        name = self._credits.get(aggregate)
        if name is None:
            name = self._credits[aggregate] = f"credit_{len(self._credits)}"
            function = _Function(self, name, "credit", {"bureau_balance": "credit.bureau_balance"})
            output = function.aggregate(aggregate)
            self.sources.append(function.source([output], one=True))
        return name


def _applicant_tables() -> dict[str, str | None]:
    tables: dict[str, str | None] = {table: f"applicant.{table}" for table in HISTORY_TABLES}
    tables[APPLICATION] = None
    return tables


class FeatureRow:
    """Computes a fixed, ordered list of features for one applicant document at a time."""

    def __init__(self, names: Sequence[str]) -> None:
        """Compile the definitions of ``names`` (KeyError for a name that is not a defined feature)."""
        self.names = list(names)
        """Feature names, in output order."""
        compiler = _Compiler()
        function = _Function(compiler, "features", "applicant", _applicant_tables())
        outputs = []
        for name in self.names:
            definition = feature_definition(name)
            computed = definition.computed
            if isinstance(computed, Aggregate):
                variable = function.aggregate(computed)
            else:
                variable = function.value(APPLICATION, computed)
            # the storage conventions of training's build: a value that is not finite is missing,
            # a count or flag with nothing to count is 0
            if definition.kind == "value":
                outputs.append(f"({variable} if -INF < {variable} < INF else NAN)")
            else:
                outputs.append(f"({variable} if {variable} == {variable} else 0.0)")
        self.source = "\n\n".join([*compiler.sources, function.source(outputs)])
        """The generated code."""
        exec(compile(self.source, "<service.applicant.evaluate.FeatureRow>", "exec"), compiler.namespace)
        self._evaluate: Callable[[Any], list[float]] = compiler.namespace["features"]

    def values(self, applicant: Any) -> list[float]:
        """The features of one applicant, in order: numbers, NaN for missing values (counts are 0, not NaN).

        Values follow training's storage conventions: a count or flag with nothing to count is 0, and a
        value that is not finite is NaN.
        """
        return self._evaluate(applicant)
