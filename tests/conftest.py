"""Fixtures shared by every test package."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# No test may read or write the user's BentoML model store: every test process (and every server or CLI it
# starts, which inherit the environment) uses a private, initially empty home unless a test picks its own.
os.environ["BENTOML_HOME"] = tempfile.mkdtemp(prefix="credit-scoring-tests-bentoml-")

REPO_ROOT = Path(__file__).resolve().parents[1]
"""Root of the repository checkout."""

HOMECREDIT_SAMPLE = REPO_ROOT.parent / "shared" / "reference" / "homecredit-sample"
"""Real Home Credit samples beside the checkout (never copied into the repo; absent on some machines)."""


@pytest.fixture(scope="session")
def homecredit_sample() -> Path:
    """Directory of the real Kaggle samples; skips the test where ``../shared`` is absent."""
    if not (HOMECREDIT_SAMPLE / "application_train.csv").is_file():
        pytest.skip(f"real Home Credit samples not found at {HOMECREDIT_SAMPLE}")
    return HOMECREDIT_SAMPLE


@pytest.fixture
def bentoml_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point this process's BentoML model store at an empty temporary home, restored afterwards.

    BentoML computes its home, the model store's directory and the store once per process (cached
    singletons that ``reset()`` does not clear), so the three are overridden with ``set()`` and the
    overrides removed afterwards.
    """
    from bentoml._internal.configuration.containers import BentoMLContainer
    from bentoml._internal.models import ModelStore

    home = tmp_path / "bentoml"
    models = home / "models"
    models.mkdir(parents=True)
    monkeypatch.setenv("BENTOML_HOME", str(home))
    overridden = (
        BentoMLContainer.bentoml_home,
        BentoMLContainer.model_store_dir,
        BentoMLContainer.model_store,
    )
    BentoMLContainer.bentoml_home.set(str(home))
    BentoMLContainer.model_store_dir.set(str(models))
    BentoMLContainer.model_store.set(ModelStore(str(models)))
    yield home
    for provider in overridden:
        provider.reset()
