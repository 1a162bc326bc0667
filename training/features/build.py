"""build_features: one numeric row per applicant from the Home Credit tables, with fixed columns."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from service.applicant.catalog import APPLICATION, FeatureDefinition, FeatureKind
from service.applicant.definitions import FEATURES, feature_definition
from service.applicant.expressions import Aggregate, AggregateRatio
from training.features.evaluate import ApplicationRows, TableRows
from training.features.grouping import unique_key_index

__all__ = ["APPLICATION", "build_features", "feature_catalog", "feature_names", "rows_table"]

_log = logging.getLogger(__name__)


def feature_catalog() -> tuple[FeatureDefinition, ...]:
    """Every output column of :func:`build_features`, in order."""
    return FEATURES


def feature_names() -> list[str]:
    """Names of the output columns of :func:`build_features`, in order."""
    return [definition.name for definition in FEATURES]


def rows_table(definition: FeatureDefinition) -> str:
    """The table whose rows a feature is computed from (``application`` for the applicant's own record)."""
    computed = definition.computed
    while isinstance(computed, AggregateRatio):
        computed = computed.numerator
    return computed.rows if isinstance(computed, Aggregate) else APPLICATION  # type: ignore[attr-defined]


def _typed(values: np.ndarray, kind: FeatureKind) -> np.ndarray:
    """A feature's values with its storage convention: float64 with NaN, or int64 with 0 for missing."""
    values = np.asarray(values, dtype=np.float64)
    if kind == "value":
        return np.where(np.isfinite(values), values, np.nan)
    return np.nan_to_num(values, nan=0.0).astype(np.int64)


def _by_rows_table(definitions: Iterable[FeatureDefinition]) -> dict[str, list[FeatureDefinition]]:
    grouped: dict[str, list[FeatureDefinition]] = {}
    for definition in definitions:
        grouped.setdefault(rows_table(definition), []).append(definition)
    return grouped


def build_features(
    tables: Mapping[str, pd.DataFrame], *, names: Sequence[str] | None = None, progress: bool = False
) -> pd.DataFrame:
    """One row of numeric features per applicant, indexed by SK_ID_CURR in the order of the application rows.

    ``tables["application"]`` holds the applicants (train rows, test rows or a single applicant; a
    TARGET column is ignored). The child tables come under their Kaggle names (bureau, bureau_balance,
    previous_application, POS_CASH_balance, installments_payments, credit_card_balance), cleaned as the
    loader does (``training.loader.clean_table``); any may be absent or empty, which reads as "no history":
    counts are 0 and statistics NaN. Child rows of applicants not in the application table are ignored.
    The columns are every feature of :func:`feature_catalog` in its order, or ``names`` in that order; their
    dtypes are fixed whatever the input: values are float64, counts and one-hot flags int64.
    """
    if APPLICATION not in tables:
        raise KeyError(
            f"build_features needs the applicant table under {APPLICATION!r}, got {sorted(tables)}"
        )
    applicants = unique_key_index(
        tables[APPLICATION]["SK_ID_CURR"], what="SK_ID_CURR in the application table"
    ).rename("SK_ID_CURR")
    definitions = FEATURES if names is None else [feature_definition(name) for name in names]
    columns: dict[str, np.ndarray] = {}
    steps = tqdm(_by_rows_table(definitions).items(), desc="features", unit="table", disable=not progress)
    for table, group in steps:
        steps.set_postfix_str(table)
        started = time.perf_counter()
        if table == APPLICATION:
            application = ApplicationRows(tables[APPLICATION])
            for definition in group:
                columns[definition.name] = _typed(application.value(definition.computed), definition.kind)
        else:
            rows = TableRows.for_applicants(table, tables, applicants, [d.computed for d in group])
            for definition in group:
                columns[definition.name] = _typed(rows.aggregate(definition.computed), definition.kind)
        _log.debug("features from %s: %.2f s", table, time.perf_counter() - started)
    ordered = {definition.name: columns[definition.name] for definition in definitions}
    return pd.DataFrame(ordered, index=applicants, copy=False)
