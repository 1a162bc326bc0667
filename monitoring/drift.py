"""Drift of a window against the bundle's reference sample, with thresholds calibrated on the reference.

Per feature, the score comes from Evidently's registered drift methods (``evidently.legacy.calculations.
stattests``), called directly per column: the normalised Wasserstein distance for numeric features and the
Jensen-Shannon distance for 0/1 flags and low-cardinality codes (the methods Evidently itself picks for
samples over 1,000 rows). Calling them directly costs ~0.1 s for 5,000 x 40, where
``Report([DataDriftPreset()])`` costs 8-9 s and the legacy ``DataDriftTable`` ~1 s on this machine (see
BENCHMARKS.md); the HTML report (:mod:`monitoring.report`) runs the full preset with the same methods
and thresholds.

Distances have no p-value, so thresholds are calibrated, not assumed: the reference sample is split at random
many times into a window-sized part and the rest, and each feature's no-drift score level c (mean + k standard
deviations of ``score / sqrt(1/n + 1/m)``) is measured. For a window with ``n`` present values the threshold
is ``max(floor, margin * c * sqrt(1/n + 1/M))``, M being the reference's present values: with nothing drifted,
these distances shrink like the square root of the two sample sizes. That scaling fails for heavy tails
(amounts), where the standard deviation that normalises the Wasserstein distance is itself noisy: such columns
(non-negative, skewness above 2) are compared on ``log1p`` of their values (method ``wasserstein_log1p``),
where a change of scale becomes a shift. A missing-value share that moves from the reference also counts as
drift, since the distance methods only see non-missing values (a column that becomes empty would otherwise go
unnoticed).

Calibration and computation check a stop flag (``should_stop``) before every per-column call, so a shutdown
signal never waits for more than one Evidently call: they raise :class:`ComputationCancelledError`.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from monitoring.settings import MonitorSettings
from monitoring.window import WindowView
from service.bundle import PROBABILITY_COLUMN, FeatureSpec

log = logging.getLogger(__name__)

WASSERSTEIN = "wasserstein"
"""Evidently's name of the normalised Wasserstein distance (numeric features, the predicted probability)."""
WASSERSTEIN_LOG1P = "wasserstein_log1p"
"""The normalised Wasserstein distance between ``log1p`` of the values (skewed non-negative amounts)."""
JENSEN_SHANNON = "jensenshannon"
"""Evidently's name of the Jensen-Shannon distance (flags and low-cardinality features)."""
SKEWED_MIN_SKEWNESS = 2.0
"""A non-negative numeric feature whose reference skewness exceeds this is compared on ``log1p`` scale."""
CATEGORICAL_MAX_VALUES = 5
"""A numeric feature with at most this many distinct reference values is treated like a category."""


class ComputationCancelledError(Exception):
    """A calibration or drift computation stopped early because its ``should_stop`` flag was raised."""


def _never() -> bool:
    return False


@dataclass
class ColumnDrift:
    """Drift of one column of the window."""

    name: str
    """Feature name, or ``probability`` for the prediction."""
    method: str
    """Evidently drift method name (``wasserstein`` or ``jensenshannon``)."""
    score: float
    """Distance between window and reference (NaN when the window has no value for it)."""
    threshold: float
    """Calibrated threshold for this window size."""
    missing_ratio: float
    """Share of window records where the value is missing."""
    reference_missing_ratio: float
    """Share of reference rows where the value is missing."""
    distribution_drifted: bool
    """Score at or above threshold."""
    missing_drifted: bool
    """Missing share moved away from the reference beyond noise."""

    @property
    def drifted(self) -> bool:
        """Either the distribution of values or the missing share drifted."""
        return self.distribution_drifted or self.missing_drifted


@dataclass
class DriftResult:
    """One drift computation over one window."""

    features: list[ColumnDrift]
    """Per-feature drift, in the bundle's feature order."""
    prediction: ColumnDrift
    """Drift of the predicted probability."""
    drifted_count: int
    """Number of drifted features."""
    drifted_share: float
    """Share of drifted features."""
    dataset_drifted: bool
    """``drifted_share >= drift_share``."""
    refusal_ratio: float
    """Share of refused records in the window."""
    n_records: int
    """Records in the window."""
    oldest_time: float | None
    """Scoring time of the oldest record (Unix seconds)."""
    duration_seconds: float = 0.0
    """Wall-clock time of the computation."""
    computed_at: float = field(default_factory=time.time)
    """Unix time the computation finished."""


@dataclass
class _Column:
    name: str
    method: str
    reference: pd.Series  # non-missing reference values
    reference_missing: float
    noise_scale: float = 0.0  # no-drift score level divided by sqrt(1/n + 1/m), from calibrate()


def _stat_tests():
    """Evidently's registered drift methods (imported lazily: importing Evidently takes seconds)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from evidently.legacy.calculations.stattests.registry import get_registered_stattest
        from evidently.legacy.core import ColumnType
    return {
        WASSERSTEIN: (get_registered_stattest(WASSERSTEIN, ColumnType.Numerical), ColumnType.Numerical),
        JENSEN_SHANNON: (
            get_registered_stattest(JENSEN_SHANNON, ColumnType.Categorical),
            ColumnType.Categorical,
        ),
    }


def choose_method(spec: FeatureSpec | None, reference: pd.Series) -> str:
    """Jensen-Shannon for flags and few distinct values; Wasserstein (on log1p when skewed) otherwise."""
    if spec is not None and (spec.dtype == "bool" or spec.categories):
        return JENSEN_SHANNON
    if reference.nunique() <= CATEGORICAL_MAX_VALUES:
        return JENSEN_SHANNON
    if len(reference) > 2 and reference.min() >= 0 and reference.skew() > SKEWED_MIN_SKEWNESS:
        return WASSERSTEIN_LOG1P
    return WASSERSTEIN


def transform(method: str, values: np.ndarray) -> np.ndarray:
    """The values a method compares (``log1p`` for ``wasserstein_log1p``, unchanged otherwise)."""
    return np.log1p(np.clip(values, 0, None)) if method == WASSERSTEIN_LOG1P else values


class DriftDetector:
    """Scores windows against the reference sample with calibrated per-column thresholds."""

    def __init__(
        self,
        reference: pd.DataFrame,
        features: list[FeatureSpec],
        decision_threshold: float,
        settings: MonitorSettings,
        *,
        should_stop: Callable[[], bool] = _never,
    ) -> None:
        self.settings = settings
        self.should_stop = should_stop
        """Polled before every per-column call of :meth:`calibrate` and :meth:`compute` (shutdown)."""
        self.feature_names = [f.name for f in features]
        self.decision_threshold = decision_threshold
        self._tests = _stat_tests()
        self.reference_size = len(reference)
        self.reference_refusal_ratio = float((reference[PROBABILITY_COLUMN] >= decision_threshold).mean())
        self._reference_matrix = reference[[*self.feature_names, PROBABILITY_COLUMN]].to_numpy(
            dtype=np.float64
        )
        self.columns: list[_Column] = []
        for i, spec in enumerate([*features, None]):
            name = PROBABILITY_COLUMN if spec is None else spec.name
            values = self._reference_matrix[:, i]
            present = pd.Series(values[~np.isnan(values)])
            method = WASSERSTEIN if spec is None else choose_method(spec, present)
            self._reference_matrix[:, i] = transform(method, values)
            present = pd.Series(transform(method, present.to_numpy()))
            self.columns.append(_Column(name, method, present, float(np.isnan(values).mean())))
        self.calibrated = False

    def _check_stop(self) -> None:
        if self.should_stop():
            raise ComputationCancelledError("stop requested")

    def _score(self, column: _Column, current: np.ndarray, reference: pd.Series | None = None) -> float:
        self._check_stop()
        reference = column.reference if reference is None else reference
        current = current[~np.isnan(current)]
        if len(current) == 0 or len(reference) == 0:
            return math.nan
        test, column_type = self._tests[WASSERSTEIN if column.method == WASSERSTEIN_LOG1P else column.method]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = test(reference, pd.Series(current), column_type, 1.0)
        return float(result.drift_score)

    def _floor(self, method: str) -> float:
        s = self.settings
        return s.wasserstein_min_threshold if method == WASSERSTEIN else s.jensenshannon_min_threshold

    def calibrate(self) -> None:
        """Measure each column's no-drift score level on random splits of the reference sample.

        Each split draws a window-sized sample (at most half the reference) without replacement and scores it
        against the rest: two independent samples of the training distribution, as in production. Every score
        is divided by ``sqrt(1/n + 1/m)`` (n, m: values present on each side) so splits of any size agree.
        Raises :class:`ComputationCancelledError`, leaving the detector uncalibrated, when ``should_stop``
        turns true (checked before every split and every column).
        """
        s = self.settings
        rng = np.random.default_rng(s.seed)
        n_sample = max(1, min(s.window_records, self.reference_size // 2))
        log.info(
            "calibrating drift thresholds: %d splits of the %d-row reference sample, %d columns",
            s.calibration_windows,
            self.reference_size,
            len(self.columns),
        )
        scaled = np.full((s.calibration_windows, len(self.columns)), np.nan)
        for b in range(s.calibration_windows):
            self._check_stop()
            order = rng.permutation(self.reference_size)
            scaled[b] = self._calibration_split(order[:n_sample], order[n_sample:])
        for j, column in enumerate(self.columns):
            col = scaled[:, j][~np.isnan(scaled[:, j])]
            column.noise_scale = (
                float(col.mean() + s.calibration_sigmas * col.std(ddof=1)) if len(col) > 1 else 0.0
            )
        self.calibrated = True

    def _calibration_split(self, sample_rows: np.ndarray, rest_rows: np.ndarray) -> np.ndarray:
        """Scaled no-drift score of every column for one split (NaN where a side has no value)."""
        sample, rest = self._reference_matrix[sample_rows], self._reference_matrix[rest_rows]
        scaled = np.full(len(self.columns), np.nan)
        for j, column in enumerate(self.columns):
            current, reference = sample[:, j], rest[:, j]
            reference = reference[~np.isnan(reference)]
            n, m = int((~np.isnan(current)).sum()), len(reference)
            if n and m:
                score = self._score(column, current, pd.Series(reference))
                scaled[j] = score / math.sqrt(1 / n + 1 / m)
        return scaled

    def threshold(self, column: _Column, n_records: int) -> float:
        """Threshold of ``column`` for a window of ``n_records`` rows."""
        noise = column.noise_scale * math.sqrt(1.0 / max(n_records, 1) + 1.0 / max(len(column.reference), 1))
        return max(self._floor(column.method), self.settings.calibration_margin * noise)

    def _missing_drifted(self, column: _Column, missing: float, n_records: int) -> bool:
        p0 = column.reference_missing
        se = math.sqrt(max(p0 * (1 - p0), 1e-12) * (1.0 / n_records + 1.0 / max(self.reference_size, 1)))
        return abs(missing - p0) >= max(
            self.settings.missing_share_min_diff, self.settings.missing_share_z * se
        )

    def _column_drift(self, column: _Column, values: np.ndarray) -> ColumnDrift:
        values = transform(column.method, values)
        n = len(values)
        missing = float(np.isnan(values).mean()) if n else math.nan
        score = self._score(column, values)
        present = int(n - np.isnan(values).sum())
        threshold = self.threshold(column, present if present else n)
        return ColumnDrift(
            name=column.name,
            method=column.method,
            score=score,
            threshold=threshold,
            missing_ratio=missing,
            reference_missing_ratio=column.reference_missing,
            distribution_drifted=bool(not math.isnan(score) and score >= threshold),
            missing_drifted=self._missing_drifted(column, missing, n) if n else False,
        )

    def compute(self, view: WindowView) -> DriftResult:
        """Drift of every feature and of the prediction, share of drifted features, refusal rate.

        Raises :class:`ComputationCancelledError` when ``should_stop`` turns true (checked before every
        column).
        """
        if not self.calibrated:
            self.calibrate()
        started = time.perf_counter()
        features = [self._column_drift(c, view.features[:, j]) for j, c in enumerate(self.columns[:-1])]
        prediction = self._column_drift(self.columns[-1], view.probabilities)
        drifted = sum(f.drifted for f in features)
        share = drifted / len(features) if features else 0.0
        return DriftResult(
            features=features,
            prediction=prediction,
            drifted_count=drifted,
            drifted_share=share,
            dataset_drifted=share >= self.settings.drift_share,
            refusal_ratio=float(view.refused.mean()) if len(view) else math.nan,
            n_records=len(view),
            oldest_time=view.oldest_time,
            duration_seconds=time.perf_counter() - started,
        )

    def per_column_config(self, n_records: int) -> tuple[dict[str, str], dict[str, float]]:
        """Method and threshold per column for a window of ``n_records`` (to configure Evidently's preset)."""
        methods = {c.name: c.method for c in self.columns}
        thresholds = {c.name: self.threshold(c, n_records) for c in self.columns}
        return methods, thresholds
