"""Vectorised validation of batches: one Python list and one numpy array per feature column.

The per-value loop in :mod:`service.validation` costs a few microseconds per value; here each column is
gathered with one list comprehension, its JSON types are checked with one ``set(map(type, ...))``, and its
values become a float64 array checked with array comparisons. These functions only answer "all valid"
(the matrix) or "something is wrong" (``None``): the caller then runs the exact per-value loop, which names
the first offending field. Every check here is at least as strict as the loop's, so a body accepted here is
accepted there with the same values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

KIND_FLOAT, KIND_INT, KIND_BOOL, KIND_CATEGORY = 0, 1, 2, 3
"""Kinds of feature values: JSON number, whole number, 0/1 or true/false, category label."""

_NONE_TYPE = type(None)
_NUMBER_TYPES = frozenset({int, float})
_BOOL_TYPES = frozenset({int, float, bool})
_ID_TYPES = frozenset({str, int, _NONE_TYPE})
_APPLICANT_KEYS = frozenset({"id", "features"})
_UNKNOWN_CATEGORY = -1.0


@dataclass(frozen=True)
class ColumnRule:
    """What one feature accepts, compiled from its :class:`~service.bundle.FeatureSpec`."""

    name: str
    """Feature name."""
    index: int
    """Column of the feature in the booster's input."""
    kind: int
    """One of ``KIND_FLOAT``, ``KIND_INT``, ``KIND_BOOL``, ``KIND_CATEGORY``."""
    low: float
    """Smallest valid value (``-inf`` if unbounded)."""
    high: float
    """Largest valid value (``+inf`` if unbounded)."""
    missing_allowed: bool
    """Whether null or absent is accepted (as ``NaN``)."""
    categories: dict[str, int] | None
    """Category label -> code, for categorical features."""


def fill_applicants(
    applicants: list, rules: Sequence[ColumnRule], max_id_chars: int
) -> tuple[np.ndarray, list[str | None]] | None:
    """``[{"id": ..., "features": {...}}, ...]`` -> (matrix, caller ids), or ``None`` if anything is off."""
    if set(map(type, applicants)) != {dict} or not all(map(_APPLICANT_KEYS.issuperset, applicants)):
        return None
    features = [a.get("features") for a in applicants]
    if set(map(type, features)) != {dict}:
        return None
    names = frozenset(rule.name for rule in rules)
    if not all(map(names.issuperset, features)):
        return None
    caller_ids = _caller_ids([a.get("id") for a in applicants], max_id_chars)
    if caller_ids is None:
        return None
    matrix = np.empty((len(applicants), len(rules)), dtype=np.float64)
    for rule in rules:
        name = rule.name
        if not _fill_column(rule, [f.get(name) for f in features], matrix[:, rule.index]):
            return None
    return matrix, caller_ids


def fill_columnar(
    columns: list[str],
    rows: list,
    rules_by_name: dict[str, ColumnRule],
    rules: Sequence[ColumnRule],
    max_id_chars: int,
) -> tuple[np.ndarray, list[str | None]] | None:
    """``columns`` (checked names) + ``rows`` (lists in column order) -> (matrix, caller ids), or ``None``."""
    n = len(rows)
    if set(map(type, rows)) != {list} or set(map(len, rows)) != {len(columns)}:
        return None
    matrix = np.full((n, len(rules)), np.nan, dtype=np.float64)
    caller_ids: list[str | None] | None = [None] * n
    for name, column in zip(columns, zip(*rows, strict=True), strict=True):
        if name == "id":
            caller_ids = _caller_ids(list(column), max_id_chars)
            if caller_ids is None:
                return None
            continue
        rule = rules_by_name[name]
        if not _fill_column(rule, column, matrix[:, rule.index]):
            return None
    sent = set(columns)
    if any(not rule.missing_allowed and rule.name not in sent for rule in rules):
        return None
    return matrix, caller_ids


def _caller_ids(ids: list, max_chars: int) -> list[str | None] | None:
    types = set(map(type, ids))
    if not types <= _ID_TYPES:
        return None
    if int in types:
        ids = [None if v is None else str(v) for v in ids]
    if (str in types or int in types) and max(map(len, filter(None, ids)), default=0) > max_chars:
        return None
    return ids


def _fill_column(rule: ColumnRule, column: Sequence[object], out: np.ndarray) -> bool:
    """Write one feature's values into ``out`` (a matrix column); ``False`` if any value is invalid."""
    n_missing = column.count(None)
    if n_missing and not rule.missing_allowed:
        return False
    types = set(map(type, column))
    types.discard(_NONE_TYPE)
    if rule.kind == KIND_CATEGORY:
        if not types <= {str}:
            return False
        assert rule.categories is not None
        codes = {label: float(code) for label, code in rule.categories.items()}
        values = np.array(
            [np.nan if v is None else codes.get(v, _UNKNOWN_CATEGORY) for v in column], dtype=np.float64
        )
        if (values == _UNKNOWN_CATEGORY).any():
            return False
        out[:] = values
        return True
    if not types <= (_BOOL_TYPES if rule.kind == KIND_BOOL else _NUMBER_TYPES):
        return False
    try:
        values = np.array(column, dtype=np.float64)  # None -> NaN
    except (OverflowError, ValueError, TypeError):
        return False
    finite = np.isfinite(values)
    if len(values) - int(np.count_nonzero(finite)) != n_missing:
        return False  # NaN or an infinity sent as a value, not as null
    if rule.kind == KIND_BOOL:  # like the per-value loop: 0/1 only, no range check
        if ((values != 0.0) & (values != 1.0) & finite).any():
            return False
        out[:] = values
        return True
    if rule.kind == KIND_INT and float in types:
        with np.errstate(invalid="ignore"):
            if (np.abs(np.fmod(values, 1.0)) > 0.0).any():
                return False
    if rule.low > -np.inf and (values < rule.low).any():
        return False
    if rule.high < np.inf and (values > rule.high).any():
        return False
    out[:] = values
    return True
