"""Vectorised helpers shared by the table generators (no per-row Python loops anywhere)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from service.applicant.schema import MISSING_LABEL, TABLES

DAYS_PER_MONTH = 30.4375
"""Average month length, used to turn day offsets into MONTHS_BALANCE and back."""


def sigmoid(x: np.ndarray | float) -> np.ndarray:
    """Logistic function."""
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def logit(p: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`sigmoid`."""
    p = np.asarray(p, dtype=np.float64)
    return np.log(p) - np.log1p(-p)


def draw_codes(rng: np.random.Generator, probabilities: Sequence[float], size: int) -> np.ndarray:
    """``size`` draws of category positions with the given (unnormalised) probabilities, as int16."""
    p = np.asarray(probabilities, dtype=np.float64)
    cumulative = np.cumsum(p / p.sum())
    cumulative[-1] = 1.0
    return np.searchsorted(cumulative, rng.random(size), side="right").astype(np.int16)


def draw_labels(
    rng: np.random.Generator, table: Mapping[str, float], size: int
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Draw from a label -> weight table; returns (codes into the labels, labels)."""
    labels = tuple(table)
    return draw_codes(rng, list(table.values()), size), labels


def categorical(
    codes: np.ndarray, labels: Sequence[str], table: str, column: str, missing: np.ndarray | None = None
) -> pd.Categorical:
    """A raw text column as a pandas Categorical.

    ``codes`` index ``labels`` (a code of -1 is an empty cell). The categories are the schema's known labels
    followed by ``"XNA"`` when the generator uses it, so every generated table carries the same dtype.
    """
    known = list(TABLES[table].column(column).categories)
    extra = [label for label in labels if label not in known]
    unknown = [label for label in extra if label != MISSING_LABEL]
    if unknown:
        raise ValueError(f"{table}.{column}: labels {unknown} are not in the schema")
    categories = known + extra
    lookup = np.array([categories.index(label) for label in labels], dtype=np.int16)
    codes = np.asarray(codes)
    out = np.where(codes >= 0, lookup[np.clip(codes, 0, None)], -1).astype(np.int16)
    if missing is not None:
        out[missing] = -1
    return pd.Categorical.from_codes(out, categories=categories)


def from_quantiles(u: np.ndarray, levels: Sequence[float], values: Sequence[float]) -> np.ndarray:
    """Inverse-CDF sampling from a piecewise-linear quantile table (``u`` uniform in [0, 1])."""
    return np.interp(u, levels, values)


def round_to(x: np.ndarray, step: float) -> np.ndarray:
    """Round to the nearest multiple of ``step``."""
    return np.round(np.asarray(x, dtype=np.float64) / step) * step


def group_starts(counts: np.ndarray) -> np.ndarray:
    """Offset of each group's first row when groups of ``counts`` rows are laid end to end."""
    starts = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    return starts


def expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For groups of ``counts`` rows: (parent index of every row, position of the row inside its group)."""
    counts = np.asarray(counts, dtype=np.int64)
    parent = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    position = np.arange(len(parent), dtype=np.int64) - np.repeat(group_starts(counts), counts)
    return parent, position


def negative_binomial(rng: np.random.Generator, mean: np.ndarray, dispersion: float) -> np.ndarray:
    """Counts with the given mean and shape ``dispersion`` (smaller = more spread)."""
    mean = np.asarray(mean, dtype=np.float64)
    p = dispersion / (dispersion + mean)
    return rng.negative_binomial(dispersion, p)


def frame(table: str, columns: Mapping[str, object]) -> pd.DataFrame:
    """A DataFrame with the Kaggle columns of ``table`` in Kaggle order and Kaggle kinds (int64/float64)."""
    schema = TABLES[table]
    missing = [c for c in schema.column_names if c not in columns]
    if missing:
        raise ValueError(f"{table}: generator did not produce {missing}")
    data = {}
    for spec in schema.columns:
        values = columns[spec.name]
        if spec.kind == "int":
            values = np.asarray(values)
            if values.dtype.kind == "f" and np.isnan(values).any():
                raise ValueError(f"{table}.{spec.name}: an int column cannot hold missing values")
            data[spec.name] = values.astype(np.int64, copy=False)
        elif spec.kind == "float":
            data[spec.name] = np.asarray(values, dtype=np.float64)
        else:
            if not isinstance(values, pd.Categorical):
                raise TypeError(f"{table}.{spec.name}: text columns must be built with categorical()")
            data[spec.name] = values
    return pd.DataFrame(data, copy=False)
