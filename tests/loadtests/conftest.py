"""Fixtures for the gate tests: a tiny real bundle in a temporary model store, a real service serving it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from loadtests.server import SERVICE_IMPORT_PATH, ServedService
from tests.service.serving import register_tiny_bundle


@pytest.fixture(scope="session")
def model_home(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment pointing BentoML at a temporary model store holding one tiny bundle (its tag included)."""
    home = tmp_path_factory.mktemp("bentoml-home")
    return {"BENTOML_HOME": str(home), "MODEL_TAG": register_tiny_bundle(home)}


@pytest.fixture(scope="module")
def running_service(model_home: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a real ``bentoml serve`` of the tiny bundle on a free loopback port, stopped after the tests."""
    folder = tmp_path_factory.mktemp("served")
    env = {
        "BENTOML_HOME": model_home["BENTOML_HOME"],
        "CREDIT_SCORING_BUNDLE_TAG": model_home["MODEL_TAG"],
        "CREDIT_SCORING_SPOOL_DIR": str(folder / "spool"),
    }
    with ServedService(SERVICE_IMPORT_PATH, env=env, log_path=folder / "service.log") as service:
        yield service.url
