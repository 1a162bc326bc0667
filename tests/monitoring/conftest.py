"""Fixtures of the sidecar tests: a tiny real bundle on disk, settings pointing at a temp spool."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitoring.settings import MonitorSettings
from service.bundle import Bundle
from tests.monitoring import postgres
from tests.monitoring.postgres import PostgresServer
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


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server (Debian's package) on loopback for the whole session."""
    if not postgres.available():
        pytest.skip(
            f"PostgreSQL server binaries not found in {postgres.PG_BIN}: apt-get install postgresql "
            "(scripts/system-packages.sh does)"
        )
    server = PostgresServer()
    server.start()
    yield server
    server.remove()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty decision store: a SQLite file, or a new database on the real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store' / 'decisions.sqlite'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    if server.process is None:  # a test stopped it to simulate an outage
        server.start()
    return server.new_database()
