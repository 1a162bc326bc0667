"""Fixtures: a tiny real bundle registered in a temporary BENTOML_HOME, and a real ``bentoml serve`` on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deploy.bento_server import BentoServer, serving_bundle
from tests.service.serving import register_tiny_bundle


@pytest.fixture(scope="session")
def served_bentoml_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The BentoML home of the served test bundle (used by subprocesses only: this process's model store
    is switched by the root ``bentoml_home`` fixture, which tests of the store itself ask for)."""
    return tmp_path_factory.mktemp("bentoml_home")


@pytest.fixture(scope="session")
def registered_tag(served_bentoml_home: Path) -> str:
    """Register the tiny bundle as ``credit_scorer`` in the temporary store; return its exact tag."""
    return register_tiny_bundle(served_bentoml_home)


@pytest.fixture(scope="session")
def spool_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Payload-log spool of the main test server."""
    return tmp_path_factory.mktemp("spool")


@pytest.fixture(scope="session")
def server(
    served_bentoml_home: Path,
    registered_tag: str,
    spool_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[BentoServer]:
    """The scoring service served by ``bentoml serve`` against the tiny bundle (small limits for tests)."""
    env = {
        "CREDIT_SCORING_SPOOL_DIR": str(spool_dir),
        "CREDIT_SCORING_MAX_BATCH_SIZE": "50",
        "CREDIT_SCORING_MAX_BODY_BYTES": "1048576",  # room for a few applicants with a long history
        "CREDIT_SCORING_SEGMENT_MAX_AGE_S": "0.5",
        "CREDIT_SCORING_EXPLAIN_MAX_CONCURRENCY": "32",  # 16 concurrent explaining callers in one test
    }
    log = tmp_path_factory.mktemp("logs") / "serve.log"
    with serving_bundle(served_bentoml_home, env=env, log_path=log) as served:
        yield served


@pytest.fixture()
def client(server: BentoServer) -> Iterator[httpx.Client]:
    """An HTTP client on the test server."""
    with httpx.Client(base_url=server.url, timeout=10.0) as http:
        yield http
