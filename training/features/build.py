"""build_features: one numeric row per applicant from the Home Credit tables, with fixed columns."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from training.features import application, bureau, credit_card, installments, pos_cash, previous
from training.features.catalog import FeatureSpec
from training.features.grouping import unique_key_index

__all__ = [
    "FEATURE_SOURCES",
    "FeatureSource",
    "build_features",
    "feature_catalog",
    "feature_names",
    "source_frame",
]

_log = logging.getLogger(__name__)

APPLICATION = "application"
"""Key of the applicant table in the mapping given to :func:`build_features`."""


@dataclass(frozen=True)
class FeatureSource:
    """One step of the build: the features drawn from one table (bureau includes bureau_balance)."""

    name: str
    """Kaggle table name of the step."""
    specs: Callable[[], list[FeatureSpec]]
    """The step's features in output order, fixed by the schema."""
    compute: Callable[[Mapping[str, pd.DataFrame], pd.Index], dict[str, np.ndarray]]
    """Feature arrays keyed by name, aligned with the applicant index."""


def _application_step(tables: Mapping[str, pd.DataFrame], applicants: pd.Index) -> dict[str, np.ndarray]:
    return application.compute(tables[APPLICATION])


FEATURE_SOURCES: tuple[FeatureSource, ...] = (
    FeatureSource(APPLICATION, application.feature_specs, _application_step),
    FeatureSource("bureau", bureau.feature_specs, bureau.compute),
    FeatureSource("previous_application", previous.feature_specs, previous.compute),
    FeatureSource("POS_CASH_balance", pos_cash.feature_specs, pos_cash.compute),
    FeatureSource("installments_payments", installments.feature_specs, installments.compute),
    FeatureSource("credit_card_balance", credit_card.feature_specs, credit_card.compute),
)
"""The build steps in output-column order."""


@functools.cache
def _source_specs(name: str) -> tuple[FeatureSpec, ...]:
    source = next(s for s in FEATURE_SOURCES if s.name == name)
    return tuple(source.specs())


@functools.cache
def feature_catalog() -> tuple[FeatureSpec, ...]:
    """Every output column of :func:`build_features`, in order."""
    specs = tuple(spec for source in FEATURE_SOURCES for spec in _source_specs(source.name))
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        repeated = sorted({n for n in names if names.count(n) > 1})
        raise RuntimeError(f"feature names repeat: {repeated}")
    return specs


def feature_names() -> list[str]:
    """Names of the output columns of :func:`build_features`, in order."""
    return [spec.name for spec in feature_catalog()]


def source_frame(
    source: FeatureSource, tables: Mapping[str, pd.DataFrame], applicants: pd.Index
) -> pd.DataFrame:
    """The features of one build step as a frame indexed by ``applicants``, columns and dtypes fixed."""
    specs = _source_specs(source.name)
    arrays = source.compute(tables, applicants)
    expected = [spec.name for spec in specs]
    if set(arrays) != set(expected):
        missing, extra = sorted(set(expected) - set(arrays)), sorted(set(arrays) - set(expected))
        raise RuntimeError(
            f"{source.name} features differ from their specs: missing {missing}, extra {extra}"
        )
    columns: dict[str, np.ndarray] = {}
    for spec in specs:
        values = np.asarray(arrays[spec.name])
        if spec.kind == "value":
            values = values.astype(np.float64, copy=False)
            values = np.where(np.isfinite(values), values, np.nan)
        else:
            values = np.nan_to_num(values.astype(np.float64, copy=False), nan=0.0).astype(np.int64)
        columns[spec.name] = values
    return pd.DataFrame(columns, index=applicants, copy=False)


def build_features(tables: Mapping[str, pd.DataFrame], *, progress: bool = False) -> pd.DataFrame:
    """One row of numeric features per applicant, indexed by SK_ID_CURR in the order of the application rows.

    ``tables["application"]`` holds the applicants (train rows, test rows or a single applicant; a
    TARGET column is ignored). The child tables come under their Kaggle names (bureau, bureau_balance,
    previous_application, POS_CASH_balance, installments_payments, credit_card_balance); any may be
    absent or empty, which reads as "no history": counts are 0 and statistics NaN. Child rows of
    applicants not in the application table are ignored. The columns, their order and dtypes are the
    same whatever the input (see :func:`feature_catalog`): values are float64, counts and one-hot flags
    int64.
    """
    if APPLICATION not in tables:
        raise KeyError(
            f"build_features needs the applicant table under {APPLICATION!r}, got {sorted(tables)}"
        )
    applicants = unique_key_index(
        tables[APPLICATION]["SK_ID_CURR"], what="SK_ID_CURR in the application table"
    )
    applicants = applicants.rename("SK_ID_CURR")
    frames = []
    steps = tqdm(FEATURE_SOURCES, desc="features", unit="table", disable=not progress)
    for source in steps:
        steps.set_postfix_str(source.name)
        started = time.perf_counter()
        frames.append(source_frame(source, tables, applicants))
        _log.debug("features from %s: %.2f s", source.name, time.perf_counter() - started)
    started = time.perf_counter()
    features = pd.concat(frames, axis=1, copy=False)
    _log.debug("features assembled: %.2f s", time.perf_counter() - started)
    return features
