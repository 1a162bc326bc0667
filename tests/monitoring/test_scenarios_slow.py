"""Done-means check of issue 4 on the generator: false alarms and detection with a trained bundle (slow).

A bundle from the training pipeline learns from 20,000 baseline applicants (its reference sample is its
5,000-row holdout). False alarms: 200 disjoint windows of 5,000 freshly generated baseline applicants.
Detection: 20 shifts per scenario at a random point of a window; the scenario must be flagged (dataset drift
or one of its key features) on the straddling window or the next. About 10 minutes on 2 busy cores;
``benchmarks/bench_drift_scenarios.py`` runs the same measurement and prints the numbers.
"""

from __future__ import annotations

import pytest

from tests.monitoring.scenario_data import (
    BundleScorer,
    Detection,
    FalseAlarms,
    detection,
    false_alarms,
    make_detector,
    trained_bundle,
)
from training.synthetic import SCENARIOS

WINDOW = 5_000
"""Records per window (the sidecar's default)."""
N_WINDOWS = 200
"""Undrifted windows."""
N_TRIALS = 20
"""Shifts per scenario."""


@pytest.fixture(scope="module")
def measured() -> tuple[FalseAlarms, dict[str, Detection]]:
    """False alarms and detections, measured once for the module."""
    scorer = BundleScorer(trained_bundle(20_000, seed=0))
    detector = make_detector(scorer.bundle, WINDOW)
    alarms, baseline = false_alarms(
        detector, scorer, windows=N_WINDOWS, window_records=WINDOW, seed=1_000, keep=N_TRIALS
    )
    detections = {
        name: detection(
            detector,
            scorer,
            name,
            baseline=baseline,
            trials=N_TRIALS,
            window_records=WINDOW,
            seed=10_000 * (i + 1),
        )
        for i, name in enumerate(SCENARIOS)
    }
    return alarms, detections


@pytest.mark.slow
def test_false_alarms_on_200_windows_of_the_training_distribution(
    measured: tuple[FalseAlarms, dict[str, Detection]],
) -> None:
    alarms, _ = measured
    assert alarms.windows == N_WINDOWS
    assert alarms.dataset_drifted <= 0.01 * N_WINDOWS
    name, count = alarms.worst_feature
    assert count <= 0.02 * N_WINDOWS, f"{name} drifted in {count} of {N_WINDOWS} undrifted windows"


@pytest.mark.slow
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_each_scenario_is_flagged_within_two_windows_of_the_shift(
    measured: tuple[FalseAlarms, dict[str, Detection]], scenario: str
) -> None:
    _, detections = measured
    result = detections[scenario]
    assert result.key_features, f"the bundle has none of {scenario}'s key features"
    assert result.trials == N_TRIALS
    assert result.within_two >= 0.95 * N_TRIALS
