"""Scoring applicant documents on a real ``bentoml serve``: the same score as the feature vector they define,
the feature row on request, both contracts on /spec, and what reaches the payload log and the metrics."""

from __future__ import annotations

from pathlib import Path

import httpx
import msgspec
import numpy as np
import pytest

from service.applicant.document import applicant_type
from service.applicant.evaluate import FeatureRow
from service.applicant.groups import MONITORED
from tests.service.serving import wait_for
from tests.service.spool_records import read_spool
from tests.service.tiny_bundle import TINY_FEATURES
from training.documents import tables_to_documents
from training.synthetic import generate

FEATURE_NAMES = [f.name for f in TINY_FEATURES]


@pytest.fixture(scope="module")
def documents() -> list[dict]:
    """Generated applicants with their whole credit history, as a lender's systems would send them."""
    return tables_to_documents(generate(40, seed=21).tables)


def _features_of(document: dict) -> dict[str, float | None]:
    """The tiny model's features of ``document``, computed in process with the service's evaluator."""
    decoded = msgspec.convert(document, applicant_type())
    values = FeatureRow(FEATURE_NAMES).values(decoded)
    return {name: None if np.isnan(v) else v for name, v in zip(FEATURE_NAMES, values, strict=True)}


def test_an_applicant_scores_as_the_feature_vector_it_defines(client: httpx.Client, documents: list) -> None:
    for document in documents[:10]:
        by_document = client.post("/score", json={"applicant": document, "return_features": True})
        assert by_document.status_code == 200, by_document.text
        answer = by_document.json()
        features = {k: v for k, v in _features_of(document).items()}
        assert answer["features"] == features
        by_vector = client.post("/score", json={"features": features}).json()
        assert answer["probability"] == by_vector["probability"]
        assert answer["decision"] == by_vector["decision"]


def test_a_batch_of_documents_and_vectors_keeps_order(client: httpx.Client, documents: list) -> None:
    items = []
    for i, document in enumerate(documents[:12]):
        items.append(
            {"id": f"d{i}", "applicant": document}
            if i % 2
            else {"id": f"d{i}", "features": _features_of(document)}
        )
    batch = client.post("/score", json={"applicants": items, "explain": 2})
    assert batch.status_code == 200, batch.text
    results = batch.json()["results"]
    assert [r["id"] for r in results] == [f"d{i}" for i in range(12)]
    for result, document in zip(results, documents[:12], strict=True):
        alone = client.post("/score", json={"applicant": document}).json()
        assert result["probability"] == alone["probability"]
        assert len(result["reasons"]) == 2


def test_explain_takes_documents(client: httpx.Client, documents: list) -> None:
    document = documents[3]
    explained = client.post("/explain", json={"applicant": document, "return_features": True})
    assert explained.status_code == 200, explained.text
    body = explained.json()
    assert set(body["contributions"]) == set(FEATURE_NAMES)
    assert body["features"] == _features_of(document)
    scored = client.post("/score", json={"applicant": document}).json()
    assert body["probability"] == pytest.approx(scored["probability"], abs=1e-9)


def test_errors_name_the_path_and_never_echo_the_value(client: httpx.Client, documents: list) -> None:
    document = {**documents[0], "bureau": [{"CREDIT_ACTIVE": "Active", "AMT_CREDIT_SUM": -987654.321}]}
    response = client.post(
        "/score", json={"applicants": [{"applicant": documents[1]}, {"applicant": document}]}
    )
    assert response.status_code == 422
    assert response.json()["field"] == "applicants[1].applicant.bureau[0].AMT_CREDIT_SUM"
    assert "987654" not in response.text
    too_many = {**documents[0], "installments_payments": [{}] * 2001}
    assert client.post("/score", json={"applicant": too_many}).status_code == 413


def test_spec_publishes_both_contracts(client: httpx.Client) -> None:
    spec = client.get("/spec").json()
    assert [f["name"] for f in spec["features"]] == FEATURE_NAMES
    applicant = spec["applicant"]
    assert applicant["available"] is True and applicant["unavailable_reason"] is None
    schema = applicant["schema"]
    definitions = schema["$defs"]
    assert "AMT_CREDIT" in definitions["Applicant"]["properties"]
    assert "TARGET" not in definitions["Applicant"]["properties"]
    assert "bureau_balance" in definitions["BureauRecord"]["properties"]
    assert applicant["record_limits"]["installments_payments"] == 2000
    doc = client.get("/docs.json").json()
    assert doc["openapi"].startswith("3.1")
    assert doc["components"]["schemas"]["Applicant"]["properties"]["DAYS_EMPLOYED"]["anyOf"][1] == {
        "const": 365243
    }


def test_records_say_which_form_was_sent_and_unknown_labels_are_counted(
    client: httpx.Client, documents: list, spool_dir: Path
) -> None:
    novel = {**documents[5], "NAME_HOUSING_TYPE": "Houseboat"}
    client.post("/score", json={"id": "form-test-doc", "applicant": novel}).raise_for_status()
    vector = _features_of(documents[5])
    client.post("/score", json={"id": "form-test-vec", "features": vector}).raise_for_status()

    def ours() -> dict[str, dict]:
        return {
            r["caller_id"]: r
            for r in read_spool(spool_dir)
            if (r["caller_id"] or "").startswith("form-test-")
        }

    wait_for(lambda: len(ours()) == 2)
    records = ours()
    assert records["form-test-doc"]["input"] == "applicant"
    assert records["form-test-vec"]["input"] == "features"
    assert records["form-test-doc"]["features"] == records["form-test-vec"]["features"]
    decoded = msgspec.convert(novel, applicant_type())
    assert records["form-test-doc"]["groups"] == {
        a.name: a.labels[a.index(getattr(decoded, a.column))] for a in MONITORED
    }
    assert records["form-test-doc"]["groups"]["CODE_GENDER"] == novel["CODE_GENDER"]
    assert records["form-test-vec"]["groups"] is None  # a feature vector carries no protected attribute
    metrics = client.get("/metrics").text
    assert 'credit_scoring_unknown_labels_total{column="NAME_HOUSING_TYPE",table="application"}' in metrics
    assert 'credit_scoring_applicants_by_input_total{input="applicant"}' in metrics
