"""One small generated data set shared by the generator tests (generating is the slow part)."""

from __future__ import annotations

import pytest

from training.synthetic import SyntheticDataset, generate

SMALL = 8_000
"""Applicants of the shared data set: enough for stable shares, quick to generate."""


@pytest.fixture(scope="session")
def small_dataset() -> SyntheticDataset:
    """A baseline data set of SMALL applicants, seed 11 (do not modify it in a test)."""
    return generate(SMALL, seed=11)
