"""Drift decisions: quiet on undrifted windows, loud on constructed shifts; insufficient data; failures."""

from __future__ import annotations

import math
from collections.abc import Callable

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from monitoring.drift import (
    JENSEN_SHANNON,
    WASSERSTEIN,
    WASSERSTEIN_LOG1P,
    ComputationCancelledError,
    DriftDetector,
)
from monitoring.settings import MonitorSettings
from monitoring.sidecar import Sidecar
from monitoring.window import WindowView
from service.bundle import Bundle
from tests.monitoring.synthetic import generate_features


@pytest.fixture(scope="module")
def detector(bundle: Bundle) -> DriftDetector:
    detector = DriftDetector(
        bundle.reference,
        bundle.features,
        bundle.threshold,
        MonitorSettings(window_records=2_000, calibration_windows=15),
    )
    detector.calibrate()
    return detector


def view_of(frame: pd.DataFrame, bundle: Bundle) -> WindowView:
    booster = lgb.Booster(model_str=bundle.booster_text)
    p = booster.predict(frame[bundle.feature_names], num_threads=1)
    return WindowView(
        np.zeros(len(frame)), frame[bundle.feature_names].to_numpy(float), p, p >= bundle.threshold
    )


def test_methods_follow_the_feature_shapes(detector: DriftDetector) -> None:
    methods = {c.name: c.method for c in detector.columns}
    assert methods["normal_0"] == WASSERSTEIN
    assert methods["amount_1"] == WASSERSTEIN_LOG1P
    assert methods["flag_2"] == JENSEN_SHANNON
    assert methods["probability"] == WASSERSTEIN


@pytest.mark.parametrize("seed", range(5))
def test_no_alarm_on_windows_from_the_training_distribution(
    detector: DriftDetector, bundle: Bundle, seed: int
) -> None:
    result = detector.compute(
        view_of(generate_features(2_000, len(bundle.features), seed=900 + seed), bundle)
    )
    assert [f.name for f in result.features if f.drifted] == []
    assert not result.dataset_drifted and not result.prediction.drifted
    assert result.n_records == 2_000


SHIFTS = {
    "mean_shift": ("normal_0", lambda df: df.assign(normal_0=df.normal_0 + 0.3 * df.normal_0.std())),
    "scale_change": ("amount_1", lambda df: df.assign(amount_1=df.amount_1 * 1.5)),
    "blanked": ("count_3", lambda df: df.assign(count_3=np.nan)),
    "more_missing": ("sparse_4", lambda df: df.assign(sparse_4=df.sparse_4.where(df.index % 2 == 0))),
}


@pytest.mark.parametrize("name", sorted(SHIFTS))
def test_constructed_shift_is_flagged_on_its_feature(
    detector: DriftDetector, bundle: Bundle, name: str
) -> None:
    key, shift = SHIFTS[name]
    frame = shift(generate_features(2_000, len(bundle.features), seed=77))
    result = detector.compute(view_of(frame, bundle))
    drifted = {f.name for f in result.features if f.drifted}
    assert key in drifted
    assert len(drifted) <= 2  # the shifted feature, not the whole table


def test_shifting_most_features_flags_dataset_drift(detector: DriftDetector, bundle: Bundle) -> None:
    frame = generate_features(2_000, len(bundle.features), seed=5)
    shifted = frame * 1.5
    result = detector.compute(view_of(shifted, bundle))
    assert result.dataset_drifted and result.drifted_share >= 0.5


def test_prediction_drift_and_refusal_rate(detector: DriftDetector, bundle: Bundle) -> None:
    frame = generate_features(2_000, len(bundle.features), seed=6)
    frame["normal_0"] = frame["normal_0"] + 2.0  # the model's strongest input
    result = detector.compute(view_of(frame, bundle))
    assert result.prediction.drifted
    assert result.refusal_ratio > detector.reference_refusal_ratio


def test_insufficient_data_reports_no_drift(settings: MonitorSettings, bundle: Bundle) -> None:
    sidecar = Sidecar(settings, bundle)
    sidecar.prepare_detector()
    assert sidecar.compute_once() is None
    registry = sidecar.metrics.registry
    assert registry.get_sample_value("credit_scoring_drift_insufficient_data") == 1
    assert (
        registry.get_sample_value("credit_scoring_drift_computations_total", {"outcome": "insufficient_data"})
        == 1
    )
    assert math.isnan(registry.get_sample_value("credit_scoring_drift_dataset_drifted"))


def test_failed_computation_keeps_last_values_and_is_stale(settings: MonitorSettings, bundle: Bundle) -> None:
    sidecar = Sidecar(settings, bundle)
    sidecar.prepare_detector()
    frame = generate_features(1_000, len(bundle.features), seed=8)
    view = view_of(frame, bundle)
    sidecar.ingestor.view = lambda: view  # type: ignore[method-assign]
    assert sidecar.compute_once() is not None
    registry = sidecar.metrics.registry
    labels = {"feature": "normal_0", "method": WASSERSTEIN}
    score = registry.get_sample_value("credit_scoring_drift_feature_score", labels)

    def broken(_: WindowView) -> None:
        raise RuntimeError("boom")

    sidecar.prepare_detector().compute = broken  # type: ignore[method-assign]
    assert sidecar.compute_once() is None
    assert registry.get_sample_value("credit_scoring_drift_stale") == 1
    assert registry.get_sample_value("credit_scoring_drift_feature_score", labels) == score
    assert registry.get_sample_value("credit_scoring_drift_computations_total", {"outcome": "failure"}) == 1


def stop_after(calls: int) -> tuple[list[int], Callable[[], bool]]:
    """A ``should_stop`` that turns true on its ``calls``-th poll, and the list counting its polls."""
    polls: list[int] = []

    def should_stop() -> bool:
        polls.append(1)
        return len(polls) >= calls

    return polls, should_stop


def test_stop_flag_interrupts_calibration_between_columns(bundle: Bundle) -> None:
    settings = MonitorSettings(window_records=2_000, calibration_windows=1_000)
    polls, should_stop = stop_after(20)  # within the second split
    detector = DriftDetector(
        bundle.reference, bundle.features, bundle.threshold, settings, should_stop=should_stop
    )
    with pytest.raises(ComputationCancelledError):
        detector.calibrate()
    assert len(polls) == 20 and not detector.calibrated


def test_stop_flag_interrupts_a_computation_without_touching_the_metrics(
    settings: MonitorSettings, bundle: Bundle, detector: DriftDetector
) -> None:
    view = view_of(generate_features(1_000, len(bundle.features), seed=9), bundle)
    polls, should_stop = stop_after(3)
    detector.should_stop = should_stop
    try:
        with pytest.raises(ComputationCancelledError):
            detector.compute(view)
    finally:
        detector.should_stop = lambda: False
    assert len(polls) == 3
    sidecar = Sidecar(settings, bundle)
    sidecar.prepare_detector()
    sidecar.ingestor.view = lambda: view  # type: ignore[method-assign]
    sidecar.stop_event.set()  # e.g. SIGTERM while it computes
    assert sidecar.compute_once() is None
    registry = sidecar.metrics.registry
    for outcome in ("success", "failure"):
        assert not registry.get_sample_value("credit_scoring_drift_computations_total", {"outcome": outcome})
    assert registry.get_sample_value("credit_scoring_drift_stale") == 0
