"""Fixtures for the gate tests: a tiny real bundle in a temporary model store, a real service serving it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from loadtests.server import REPO_ROOT, SERVICE_IMPORT_PATH, ServedService

REGISTER_TINY_BUNDLE = (
    "from tests.service.tiny_bundle import make_tiny_bundle\n"
    "from service.bundle import register\n"
    "print(register(make_tiny_bundle()))\n"
)
"""Trains the service tests' tiny LightGBM bundle and registers it in ``$BENTOML_HOME``."""


@pytest.fixture(scope="session")
def model_home(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment pointing BentoML at a temporary model store holding one tiny bundle (its tag included)."""
    home = tmp_path_factory.mktemp("bentoml-home")
    env = {**os.environ, "BENTOML_HOME": str(home), "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", REGISTER_TINY_BUNDLE],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    return {"BENTOML_HOME": str(home), "MODEL_TAG": done.stdout.strip().splitlines()[-1]}


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
