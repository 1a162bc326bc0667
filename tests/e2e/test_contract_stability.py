"""The applicant contract survives a retrain: two models selecting different features take the same request.

Two small models are trained on generated data with different seeds and feature limits, each registered in a
BentoML home of its own and served by a real ``bentoml serve``. The same applicant documents (applicants
neither model saw) are sent to both: both answer 200, and each probability equals that model's in-process
prediction on the feature row training's batch builder makes of the same applicant (documents -> Kaggle
tables -> loader cleaning -> ``build_features``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import lightgbm as lgb
import numpy as np
import pytest

from deploy.bento_server import BentoServer
from service.bundle import Bundle
from tests.e2e.small_model import register_in
from tests.service.serving import last_line_in_home
from training.documents import documents_to_tables, tables_to_documents
from training.features import build_features
from training.loader import clean_table
from training.synthetic import generate

MODELS = {"forty": (0, 40), "twenty": (1, 20)}
"""Name -> (seed of data and modelling, most features kept by selection)."""


@pytest.fixture(scope="module")
def applicants() -> list[dict]:
    """Applicant documents from a seed neither model trained on, with their whole credit history."""
    return tables_to_documents(generate(60, seed=4242).tables, keep_ids=False)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[BentoServer, Bundle]]]:
    """Each model, registered in its own home and served, with its bundle."""
    out: dict[str, tuple[BentoServer, Bundle]] = {}
    try:
        for name, (seed, max_features) in MODELS.items():
            home = tmp_path_factory.mktemp(f"home-{name}")
            tag = register_in(home, seed=seed, max_features=max_features)
            path = last_line_in_home(
                home, f"from service.bundle import registered_path\nprint(registered_path({tag!r}))"
            )
            server = BentoServer(
                home,
                env={"CREDIT_SCORING_SPOOL_DIR": str(tmp_path_factory.mktemp(f"spool-{name}"))},
                log_path=tmp_path_factory.mktemp(f"logs-{name}") / "serve.log",
            )
            out[name] = (server, Bundle.load(path, with_reference=False))
            server.start()  # both start before either is waited for
        for server, _ in out.values():
            server.wait_ready(timeout_s=180)
        yield out
    finally:
        for server, _ in out.values():
            server.stop()


def _in_process(bundle: Bundle, documents: list[dict]) -> np.ndarray:
    """The bundle's probabilities for ``documents`` through training's batch feature build."""
    tables = {name: clean_table("application_test" if name == "application" else name, frame)
              for name, frame in documents_to_tables(documents).items()}  # fmt: skip
    features = build_features(tables, names=bundle.feature_names)
    booster = lgb.Booster(model_str=bundle.booster_text)
    return booster.predict(features.to_numpy(dtype=np.float64), num_threads=1)


def test_the_models_select_different_features(served: dict) -> None:
    (_, forty), (_, twenty) = served["forty"], served["twenty"]
    assert len(forty.feature_names) == 40 and len(twenty.feature_names) == 20
    assert set(forty.feature_names) != set(twenty.feature_names)
    assert forty.feature_definitions and twenty.feature_definitions


def test_the_same_applicants_score_on_both_models_as_training_would(served: dict, applicants: list) -> None:
    for server, bundle in served.values():
        expected = _in_process(bundle, applicants)
        with httpx.Client(base_url=server.url, timeout=30.0) as client:
            batch = client.post("/score", json={"applicants": [{"applicant": a} for a in applicants]})
            assert batch.status_code == 200, batch.text
            got = np.array([r["probability"] for r in batch.json()["results"]])
            np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
            for applicant, probability in zip(applicants[:10], expected[:10], strict=True):
                single = client.post("/score", json={"applicant": applicant})
                assert single.status_code == 200, single.text
                assert single.json()["probability"] == pytest.approx(probability, rel=1e-9, abs=1e-12)


def test_the_readme_example_scores_on_both_models(served: dict) -> None:
    body = (Path(__file__).resolve().parents[2] / "docs" / "examples" / "applicant.json").read_bytes()
    for server, bundle in served.values():
        answer = httpx.post(server.url + "/score", content=body, headers={"content-type": "application/json"})
        assert answer.status_code == 200, answer.text
        reasons = answer.json()["reasons"]
        assert len(reasons) == 3 and {r["feature"] for r in reasons} <= set(bundle.feature_names)
