"""Distances between a real and a generated sample of one column, and between two correlation matrices.

Conventions shared by every function here:

* **Kolmogorov-Smirnov (KS)** is the largest gap between the two empirical cumulative distributions
  (0 for identical samples, 1 for samples that do not overlap).
* **Total variation distance (TVD)** is half the sum of the absolute differences between the two samples'
  label shares (0 for identical shares, 1 for disjoint labels).
* **Missing values** are folded in as a value of their own: for TVD, "missing" is one more label; for
  :func:`ks_with_missing`, missing is a point mass placed below every value, so the gap at that point is the
  difference of the missing shares and the gaps above it compare the present values weighted by the
  present shares. :func:`ks_statistic` and :func:`total_variation` with ``missing=False`` compare the
  present values only.
* A side without any value (present values, for the present-only forms) gives NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "CorrelationGap",
    "correlation_gap",
    "ks_statistic",
    "ks_with_missing",
    "total_variation",
]

_MISSING = "<missing>"


def _split(values: pd.Series | np.ndarray) -> tuple[np.ndarray, int]:
    """The sorted present values as float64 and the number of missing ones."""
    array = pd.to_numeric(pd.Series(values, copy=False), errors="coerce").to_numpy(dtype=np.float64)
    missing = np.isnan(array)
    return np.sort(array[~missing]), int(missing.sum())


def _ks(real: pd.Series | np.ndarray, generated: pd.Series | np.ndarray, *, fold_missing: bool) -> float:
    real_values, real_missing = _split(real)
    gen_values, gen_missing = _split(generated)
    if not fold_missing:
        real_missing = gen_missing = 0
    real_n = real_values.size + real_missing
    gen_n = gen_values.size + gen_missing
    if real_n == 0 or gen_n == 0:
        return float("nan")
    # the gap at the missing atom (0 when missing values are not folded in)
    gap = abs(real_missing / real_n - gen_missing / gen_n)
    points = np.union1d(real_values, gen_values)
    if points.size:
        # a side without present values has its whole mass on the atom: its CDF is 1 at every point
        real_cdf = (real_missing + np.searchsorted(real_values, points, side="right")) / real_n
        gen_cdf = (gen_missing + np.searchsorted(gen_values, points, side="right")) / gen_n
        gap = max(gap, float(np.max(np.abs(real_cdf - gen_cdf))))
    return gap


def ks_statistic(real: pd.Series | np.ndarray, generated: pd.Series | np.ndarray) -> float:
    """Two-sample KS statistic of the present (non-missing) values; NaN when a side has none."""
    real_values, _ = _split(real)
    gen_values, _ = _split(generated)
    if real_values.size == 0 or gen_values.size == 0:
        return float("nan")
    return _ks(real_values, gen_values, fold_missing=False)


def ks_with_missing(real: pd.Series | np.ndarray, generated: pd.Series | np.ndarray) -> float:
    """KS statistic with missing values as a point mass below every value (see the module docstring).

    It is at least the difference of the missing shares and at least the present-value KS scaled by the
    smaller present share; two samples that are both entirely missing are at distance 0.
    """
    return _ks(real, generated, fold_missing=True)


def _shares(values: pd.Series | np.ndarray, missing: bool) -> pd.Series:
    series = pd.Series(values, copy=False)
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    elif pd.api.types.is_numeric_dtype(series.dtype):
        series = series.astype(np.float64)
    series = series.astype(object).where(series.notna(), _MISSING) if missing else series.dropna()
    return series.value_counts(normalize=True, dropna=False)


def total_variation(
    real: pd.Series | np.ndarray, generated: pd.Series | np.ndarray, *, missing: bool = True
) -> float:
    """Total variation distance between the label shares of two samples.

    Args:
        real: the real sample (text, category or numeric labels such as 0/1 flags).
        generated: the generated sample, of the same kind.
        missing: count "missing" as a label of its own (default); ``False`` compares the present values
            only, each side's shares taken over its present values.

    Returns:
        A number in [0, 1]; NaN when a side has no value to compare.
    """
    real_shares = _shares(real, missing)
    gen_shares = _shares(generated, missing)
    if real_shares.empty or gen_shares.empty:
        return float("nan")
    return float(0.5 * real_shares.subtract(gen_shares, fill_value=0.0).abs().sum())


@dataclass
class CorrelationGap:
    """How far a generated correlation matrix is from the real one, entry by entry."""

    median_abs_difference: float
    """Median over the compared entries of |real - generated| (NaN when no entry could be compared)."""
    max_abs_difference: float
    """Largest |real - generated| over the compared entries."""
    pairs: int
    """Entries compared: defined on both sides (and, for a symmetric matrix, above the diagonal only)."""
    worst_pair: tuple[str, str] | None
    """Row and column label of the largest difference."""


def correlation_gap(real: pd.DataFrame, generated: pd.DataFrame, *, symmetric: bool) -> CorrelationGap:
    """Compare two correlation matrices with the same labels.

    Args:
        real: correlations measured on the real rows.
        generated: correlations of the same pairs on the generated rows (same index and columns).
        symmetric: the matrices are square and symmetric (one set of columns against itself): only the
            entries above the diagonal are compared, so each pair counts once. Otherwise (one set of
            columns against another) every entry is compared.

    Entries undefined on either side (NaN: too few rows in common, or a constant column) are left out.
    """
    if not (real.index.equals(generated.index) and real.columns.equals(generated.columns)):
        raise ValueError("the two correlation matrices must have the same rows and columns")
    difference = (real - generated).abs().to_numpy(dtype=np.float64)
    keep = ~np.isnan(difference)
    if symmetric:
        keep &= np.triu(np.ones(difference.shape, dtype=bool), k=1)
    if not keep.any():
        return CorrelationGap(float("nan"), float("nan"), 0, None)
    values = difference[keep]
    rows, cols = np.nonzero(keep)
    worst = int(np.argmax(values))
    return CorrelationGap(
        median_abs_difference=float(np.median(values)),
        max_abs_difference=float(values[worst]),
        pairs=int(values.size),
        worst_pair=(str(real.index[rows[worst]]), str(real.columns[cols[worst]])),
    )
