"""Joint structure: Spearman rank correlations measured on the real rows and on the generated rows.

Three comparisons, each a :class:`CorrelationComparison`:

* **application**: the ``k`` numeric application columns most correlated with TARGET on the real rows
  (absolute Spearman correlation, ties by name), against each other;
* **history**: the same application columns against the ``k`` child-table aggregates most correlated with
  TARGET on the real rows, the aggregates being the training pipeline's own features
  (:func:`training.features.build_features`) computed from a child table; this needs real child rows that
  belong to the real applicants (see :mod:`training.realism.row_counts`);
* **rows of a child table**: the numeric columns of one child table against each other, row by row, which
  needs no link between the tables (a random sample of a table's rows keeps its row-level correlations).

Correlations are pairwise-complete: each pair uses the rows where both values are present, and is left
undefined (NaN) below ``min_rows`` such rows or when a column is constant there.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from service.applicant.catalog import APPLICATION
from service.applicant.schema import TABLES
from training.features import feature_catalog
from training.features.build import rows_table
from training.realism.distances import CorrelationGap, correlation_gap

__all__ = [
    "CorrelationComparison",
    "compare_application_correlations",
    "compare_history_correlations",
    "compare_table_rows",
    "history_feature_names",
    "most_target_correlated",
    "numeric_application_columns",
]

MIN_ROWS = 100
"""Fewest rows with both values present for a correlation to be measured."""


@dataclass
class CorrelationComparison:
    """One correlation matrix measured on the real and on the generated rows."""

    name: str
    """What is compared (``application``, ``history`` or ``rows of <table>``)."""
    selection: str
    """How the rows and columns of the matrix were chosen, in words."""
    real: pd.DataFrame
    """Correlations on the real rows."""
    generated: pd.DataFrame
    """The same entries on the generated rows."""
    gap: CorrelationGap
    """Median and largest absolute difference between the two."""


def numeric_application_columns() -> list[str]:
    """The numeric columns of application_train except the id and TARGET."""
    return [
        c.name
        for c in TABLES["application_train"].columns
        if c.kind != "str" and c.name not in ("SK_ID_CURR", "TARGET")
    ]


def history_feature_names(tables: Collection[str] | None = None) -> list[str]:
    """The pipeline's features computed from a child table (aggregates per applicant), in catalog order.

    With ``tables``, only the features whose rows come from one of those tables.
    """
    return [
        d.name
        for d in feature_catalog()
        if rows_table(d) != APPLICATION and (tables is None or rows_table(d) in tables)
    ]


def _spearman(left: pd.Series, right: pd.Series, min_rows: int) -> float:
    both = left.notna() & right.notna()
    if both.sum() < min_rows:
        return float("nan")
    a, b = left[both], right[both]
    if a.nunique() < 2 or b.nunique() < 2:
        return float("nan")
    return float(a.rank().corr(b.rank()))


def most_target_correlated(
    frame: pd.DataFrame, target: pd.Series, columns: Sequence[str], k: int, *, min_rows: int = MIN_ROWS
) -> list[str]:
    """The ``k`` columns with the largest absolute Spearman correlation with ``target`` (ties by name).

    ``frame`` and ``target`` share an index; a column without a defined correlation is never chosen.
    """
    target = target.astype(np.float64)
    scores = {c: abs(_spearman(frame[c].astype(np.float64), target, min_rows)) for c in columns}
    ranked = sorted((c for c, s in scores.items() if not np.isnan(s)), key=lambda c: (-scores[c], c))
    return ranked[:k]


def _matrix(frame: pd.DataFrame, rows: Sequence[str], columns: Sequence[str], min_rows: int) -> pd.DataFrame:
    """Pairwise-complete Spearman correlations of ``rows`` against ``columns`` (all columns of ``frame``)."""
    wanted = list(dict.fromkeys([*rows, *columns]))
    values = frame[wanted].astype(np.float64)
    full = values.corr(method="spearman", min_periods=min_rows)
    return full.loc[list(rows), list(columns)]


def compare_application_correlations(
    real: pd.DataFrame, generated: pd.DataFrame, columns: Sequence[str], *, min_rows: int = MIN_ROWS
) -> CorrelationComparison:
    """Correlations among ``columns`` (application columns) on the real and on the generated rows."""
    columns = list(columns)
    real_matrix = _matrix(real, columns, columns, min_rows)
    gen_matrix = _matrix(generated, columns, columns, min_rows)
    return CorrelationComparison(
        name="application",
        selection=f"the {len(columns)} numeric application columns most correlated with TARGET on the real "
        "rows (absolute Spearman correlation)",
        real=real_matrix,
        generated=gen_matrix,
        gap=correlation_gap(real_matrix, gen_matrix, symmetric=True),
    )


def compare_history_correlations(
    real: pd.DataFrame,
    generated: pd.DataFrame,
    application_columns: Sequence[str],
    aggregates: Sequence[str],
    *,
    min_rows: int = MIN_ROWS,
) -> CorrelationComparison:
    """Correlations of application columns (rows) against child-table aggregates (columns).

    ``real`` and ``generated`` hold both the application columns and the aggregates, one row per applicant.
    """
    real_matrix = _matrix(real, application_columns, aggregates, min_rows)
    gen_matrix = _matrix(generated, application_columns, aggregates, min_rows)
    return CorrelationComparison(
        name="history",
        selection=f"the {len(application_columns)} application columns above against the {len(aggregates)} "
        "child-table aggregates of the training features most correlated with TARGET on the real rows",
        real=real_matrix,
        generated=gen_matrix,
        gap=correlation_gap(real_matrix, gen_matrix, symmetric=False),
    )


def compare_table_rows(
    table: str,
    real: pd.DataFrame,
    generated: pd.DataFrame,
    *,
    max_rows: int = 50_000,
    seed: int = 0,
    min_rows: int = MIN_ROWS,
) -> CorrelationComparison | None:
    """Row-level correlations among the numeric columns (ids left out) of one child table.

    Each side is reduced to at most ``max_rows`` random rows (seeded). Columns constant in the real rows
    are left out; ``None`` when fewer than two columns remain.
    """
    numeric = [
        c.name
        for c in TABLES[table].columns
        if c.kind != "str" and not c.name.startswith("SK_ID_") and c.name in real and c.name in generated
    ]
    real = _at_most(real, max_rows, seed)
    generated = _at_most(generated, max_rows, seed)
    columns = [c for c in numeric if real[c].nunique() > 1]
    if len(columns) < 2:
        return None
    real_matrix = _matrix(real, columns, columns, min_rows)
    gen_matrix = _matrix(generated, columns, columns, min_rows)
    return CorrelationComparison(
        name=f"rows of {table}",
        selection=f"the {len(columns)} numeric columns of {table} (ids left out), one row per {table} row",
        real=real_matrix,
        generated=gen_matrix,
        gap=correlation_gap(real_matrix, gen_matrix, symmetric=True),
    )


def _at_most(frame: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    if len(frame) <= rows:
        return frame
    return frame.sample(n=rows, random_state=seed)
