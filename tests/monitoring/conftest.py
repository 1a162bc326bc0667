"""Fixtures of the sidecar tests: a tiny real bundle on disk, settings pointing at a temp spool."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from monitoring.settings import MonitorSettings
from service.bundle import Bundle
from tests.monitoring.synthetic import make_bundle

N_FEATURES = 12
"""Features of the test bundle (every generated shape appears at least twice)."""


@pytest.fixture(scope="session")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle with a real tiny LightGBM and a 3,000-row reference sample, saved once per session."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bundle = make_bundle(n_reference=3_000, n_features=N_FEATURES, seed=0)
    return bundle.save(tmp_path_factory.mktemp("bundle"))


@pytest.fixture(scope="session")
def bundle(bundle_dir: Path) -> Bundle:
    """The test bundle, loaded with its reference sample."""
    return Bundle.load(bundle_dir)


@pytest.fixture
def settings(tmp_path: Path, bundle_dir: Path) -> MonitorSettings:
    """Small, fast settings: 2,000-record window, quick calibration, checkpoint on every step."""
    return MonitorSettings(
        spool_dir=tmp_path / "spool",
        bundle_dir=bundle_dir,
        window_records=2_000,
        max_window_records=4_000,
        min_records=500,
        recompute_rows=500,
        recompute_interval_seconds=1.0,
        poll_interval_seconds=0.05,
        checkpoint_interval_seconds=0.0,
        calibration_windows=10,
    )
