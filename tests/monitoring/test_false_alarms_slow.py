"""Done-means check of the issue: false alarms on 200 undrifted windows of 5,000 x 40 (slow: minutes)."""

from __future__ import annotations

import warnings

import lightgbm as lgb
import numpy as np
import pytest

from monitoring.drift import DriftDetector
from monitoring.settings import MonitorSettings
from monitoring.window import WindowView
from tests.monitoring.synthetic import generate_features, make_bundle

N_WINDOWS = 200


@pytest.mark.slow
def test_false_alarm_rates_on_200_windows_from_the_training_distribution() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bundle = make_bundle(n_reference=5_000, n_features=40, seed=4)
    booster = lgb.Booster(model_str=bundle.booster_text)
    detector = DriftDetector(bundle.reference, bundle.features, bundle.threshold, MonitorSettings())
    detector.calibrate()
    dataset_flags, feature_flags = 0, np.zeros(40)
    for i in range(N_WINDOWS):
        frame = generate_features(5_000, 40, seed=20_000 + i)
        p = booster.predict(frame, num_threads=1)
        result = detector.compute(
            WindowView(np.zeros(5_000), frame.to_numpy(float), p, p >= bundle.threshold)
        )
        dataset_flags += result.dataset_drifted
        feature_flags += [f.drifted for f in result.features]
    assert dataset_flags / N_WINDOWS <= 0.01
    assert feature_flags.max() / N_WINDOWS <= 0.02
