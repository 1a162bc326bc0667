"""Fixtures for the gate tests: tiny real bundles in a temporary model store, a real service serving one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.bento_server import serving_bundle
from tests.service.serving import last_line_in_home

EXAMPLE_APPLICANTS = 6
"""Example applicants given to the tiny bundle (the first documents of the committed fallback file)."""


def register_tiny_bundles(home: Path, example_applicants: int) -> tuple[str, str]:
    """Register the service tests' tiny bundle twice in ``home``; return both exact tags.

    The first (``credit_scorer``) carries ``example_applicants`` example applicant documents, the first of
    ``loadtests/example_applicants.json``. The second (``credit_scorer_untraced``) is the same model without
    its definitions fingerprint, as trained before applicant scoring: the service scores it only from
    feature vectors and ``GET /spec`` says why.
    """
    code = (
        "from dataclasses import replace\n"
        "from loadtests.applicants import FALLBACK_DOCUMENTS, load_documents\n"
        "from service.bundle import register\n"
        "from tests.service.tiny_bundle import make_tiny_bundle\n"
        "bundle = make_tiny_bundle(seed=0)\n"
        "documents = [item['applicant'] for item in load_documents(FALLBACK_DOCUMENTS)]\n"
        f"examples = register(replace(bundle, example_applicants=documents[:{example_applicants}]))\n"
        "untraced = register(replace(bundle, feature_definitions=''), name='credit_scorer_untraced')\n"
        "print(examples, untraced)\n"
    )
    examples, untraced = last_line_in_home(home, code).split()
    return examples, untraced


@pytest.fixture(scope="session")
def model_home(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment pointing BentoML at a temporary model store holding the tiny bundles (their tags included).

    ``MODEL_TAG``: the tiny bundle with :data:`EXAMPLE_APPLICANTS` example applicants; ``NO_APPLICANT_TAG``:
    the same model without a definitions fingerprint, so ``GET /spec`` says the applicant form is unavailable.
    """
    home = tmp_path_factory.mktemp("bentoml-home")
    examples, untraced = register_tiny_bundles(home, EXAMPLE_APPLICANTS)
    return {"BENTOML_HOME": str(home), "MODEL_TAG": examples, "NO_APPLICANT_TAG": untraced}


@pytest.fixture(scope="module")
def running_service(model_home: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a real ``bentoml serve`` of the tiny bundle on a free loopback port, stopped after the tests."""
    folder = tmp_path_factory.mktemp("served")
    env = {
        "CREDIT_SCORING_BUNDLE_TAG": model_home["MODEL_TAG"],
        "CREDIT_SCORING_SPOOL_DIR": str(folder / "spool"),
    }
    home = model_home["BENTOML_HOME"]
    with serving_bundle(home, env=env, log_path=folder / "service.log") as service:
        yield service.url
