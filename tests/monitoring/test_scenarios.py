"""The generator's drift scenarios on a small pool (default run): each flagged on one window, baseline quiet.

A bundle is built in seconds from the generator's baseline applicants (:func:`quick_bundle`); windows are
fresh applicants with features built as in training and probabilities from that bundle. The full-size
measurement (200 windows of 5,000, 20 trials per scenario, a bundle from the training pipeline) is
``test_scenarios_slow.py`` and ``benchmarks/bench_drift_scenarios.py``.
"""

from __future__ import annotations

import pytest

from monitoring.drift import DriftDetector
from tests.monitoring.scenario_data import (
    BundleScorer,
    applicant_features,
    flagged,
    key_features,
    make_detector,
    quick_bundle,
)
from training.synthetic import SCENARIOS

WINDOW = 2_000
"""Records per window in this small run."""


@pytest.fixture(scope="module")
def scorer() -> BundleScorer:
    """A quick bundle trained on 4,000 baseline applicants, reference sample 3,000 others."""
    return BundleScorer(quick_bundle(4_000, 3_000, seed=100))


@pytest.fixture(scope="module")
def detector(scorer: BundleScorer) -> DriftDetector:
    """The sidecar's drift detector for that bundle, calibrated for windows of ``WINDOW`` records."""
    return make_detector(scorer.bundle, WINDOW, calibration_windows=15)


@pytest.mark.parametrize("seed", [1_000, 1_001])
def test_undrifted_windows_raise_no_alarm(scorer: BundleScorer, detector: DriftDetector, seed: int) -> None:
    frame, _ = applicant_features(WINDOW, seed=seed, columns=scorer.bundle.feature_names)
    result = detector.compute(scorer.score(frame).view())
    assert not result.dataset_drifted
    assert [f.name for f in result.features if f.drifted] == []
    assert not result.prediction.drifted


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_each_scenario_is_flagged_on_one_window(
    scorer: BundleScorer, detector: DriftDetector, scenario: str
) -> None:
    keys = key_features(scenario, scorer.bundle.feature_names)
    frame, _ = applicant_features(WINDOW, seed=2_000, scenario=scenario, columns=scorer.bundle.feature_names)
    result = detector.compute(scorer.score(frame).view())
    assert keys, f"the bundle has none of {scenario}'s key features"
    assert flagged(result, keys)
    assert any(f.drifted for f in result.features if f.name in keys)
