"""Marginals of the application table: one distance per column, and the building-information block's
missingness pattern.

Both tables are compared after the loader's cleaning (``training.loader.clean_table``), so Kaggle's
``365243`` day sentinel and ``XNA`` label count as missing values on both sides.

Each column gets one of three kinds and its measure:

``categorical``
    a text column: total variation distance (TVD) over its labels.
``flag``
    a numeric column whose present values are all 0 or 1 on both sides: TVD over {0, 1}.
``numeric``
    any other numeric column: Kolmogorov-Smirnov statistic (KS).

How missing values are folded in: a column's **distance** is the larger of the measure on the present
values and the difference of the two missing shares, so a column is close only when both what is there
and how often it is missing are close (a mostly-missing column is not excused by its missing share). Beside
it the report keeps the present-value measure, both missing shares, and the measure with "missing" taken as
a value of its own (one more label for TVD, a point mass below every value for KS), which weighs a
difference in the present values by the present share. When one side has no present value at all, the
distance is that last measure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from service.applicant.schema import TABLES
from training.realism.distances import ks_statistic, ks_with_missing, total_variation

__all__ = [
    "BLOCK_SUFFIXES",
    "BlockMissingness",
    "BlockPattern",
    "ColumnDistance",
    "MarginalComparison",
    "block_columns",
    "compare_block_missingness",
    "compare_column",
    "compare_marginals",
]

BLOCK_SUFFIXES = ("_AVG", "_MODE", "_MEDI")
"""Name endings of the building-information block (normalised figures about the applicant's building)."""

_SKIPPED = ("SK_ID_CURR", "TARGET")


@dataclass
class ColumnDistance:
    """Real against generated, one application column."""

    column: str
    """Kaggle column name."""
    kind: str
    """``numeric``, ``flag`` or ``categorical`` (see the module docstring)."""
    measure: str
    """``KS`` or ``TVD``."""
    distance: float
    """The column's distance: max(present-value measure, missing-share difference); the summary and the
    flags use it."""
    present_distance: float
    """The measure over present values only (NaN when a side has none)."""
    missing_as_value: float
    """The measure with "missing" as a value of its own (see the module docstring)."""
    missing_real: float
    """Share of missing values in the real rows."""
    missing_generated: float
    """Share of missing values in the generated rows."""


@dataclass
class MarginalComparison:
    """Every application column's distance and their summary."""

    columns: list[ColumnDistance]
    """One entry per compared column, largest distance first."""
    median: float
    """Median distance over the columns."""
    maximum: float
    """Largest distance."""
    threshold: float
    """Columns whose distance exceeds this are flagged."""
    flagged: list[str]
    """Columns above the threshold, largest first."""


def _is_flag(real: pd.Series, generated: pd.Series) -> bool:
    values = pd.concat([real.dropna(), generated.dropna()], ignore_index=True)
    return not values.empty and bool(values.isin([0, 1]).all())


def compare_column(column: str, real: pd.Series, generated: pd.Series, kind_in_schema: str) -> ColumnDistance:
    """The distance of one column (see the module docstring for the measure of each kind)."""
    if kind_in_schema == "str":
        kind, measure = "categorical", "TVD"
    elif _is_flag(real, generated):
        kind, measure = "flag", "TVD"
    else:
        kind, measure = "numeric", "KS"
    if measure == "TVD":
        as_value = total_variation(real, generated)
        present = total_variation(real, generated, missing=False)
    else:
        as_value = ks_with_missing(real, generated)
        present = ks_statistic(real, generated)
    missing_real = float(real.isna().mean())
    missing_generated = float(generated.isna().mean())
    distance = as_value if np.isnan(present) else max(present, abs(missing_real - missing_generated))
    return ColumnDistance(
        column=column,
        kind=kind,
        measure=measure,
        distance=distance,
        present_distance=present,
        missing_as_value=as_value,
        missing_real=missing_real,
        missing_generated=missing_generated,
    )


def compare_marginals(
    real: pd.DataFrame, generated: pd.DataFrame, *, threshold: float = 0.30
) -> MarginalComparison:
    """Distance of every application_train column except the id and TARGET, real against generated.

    Args:
        real: cleaned real application rows.
        generated: cleaned generated application rows.
        threshold: columns whose distance exceeds it are flagged.
    """
    schema = TABLES["application_train"]
    compared = [
        compare_column(spec.name, real[spec.name], generated[spec.name], spec.kind)
        for spec in schema.columns
        if spec.name not in _SKIPPED
    ]
    compared.sort(key=lambda c: (-np.nan_to_num(c.distance, nan=-1.0), c.column))
    distances = np.array([c.distance for c in compared], dtype=np.float64)
    return MarginalComparison(
        columns=compared,
        median=float(np.nanmedian(distances)),
        maximum=float(np.nanmax(distances)),
        threshold=threshold,
        flagged=[c.column for c in compared if c.distance > threshold],
    )


def block_columns() -> list[str]:
    """The building-information block: application columns ending in _AVG, _MODE or _MEDI."""
    return [c for c in TABLES["application_train"].column_names if c.endswith(BLOCK_SUFFIXES)]


@dataclass
class BlockPattern:
    """How much of the building-information block one table's rows hold."""

    all_missing: float
    """Share of rows with every block column missing."""
    partly_present: float
    """Share of rows with some, not all, block columns present."""
    all_present: float
    """Share of rows with every block column present."""
    present_counts: dict[int, float]
    """Share of rows by number of block columns present (0 to the block size)."""


@dataclass
class BlockMissingness:
    """The block's missingness pattern, real against generated."""

    columns: int
    """Number of columns in the block."""
    real: BlockPattern
    """Pattern of the real rows."""
    generated: BlockPattern
    """Pattern of the generated rows."""
    distance: float
    """Total variation distance between the two distributions of the number of present block columns."""


def _pattern(frame: pd.DataFrame, columns: list[str]) -> tuple[BlockPattern, pd.Series]:
    present = frame[columns].notna().sum(axis=1)
    shares = present.value_counts(normalize=True).sort_index()
    pattern = BlockPattern(
        all_missing=float((present == 0).mean()),
        partly_present=float(((present > 0) & (present < len(columns))).mean()),
        all_present=float((present == len(columns)).mean()),
        present_counts={int(k): float(v) for k, v in shares.items()},
    )
    return pattern, present


def compare_block_missingness(real: pd.DataFrame, generated: pd.DataFrame) -> BlockMissingness:
    """The building-information block's missingness pattern in the real and the generated rows."""
    columns = block_columns()
    real_pattern, real_present = _pattern(real, columns)
    gen_pattern, gen_present = _pattern(generated, columns)
    return BlockMissingness(
        columns=len(columns),
        real=real_pattern,
        generated=gen_pattern,
        distance=total_variation(real_present, gen_present),
    )
