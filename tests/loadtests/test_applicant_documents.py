"""Applicant documents: where the gate gets them, how they are sent, and when they are not sent."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import msgspec
import pytest

from loadtests.applicants import (
    FALLBACK_DOCUMENTS,
    FALLBACK_RECIPE,
    FALLBACK_SIZE,
    LoadDataError,
    encode_items,
    export_load_data,
    load_applicants,
    load_documents,
    request_body,
    select_fallback,
    within_body_limit,
)
from loadtests.gate import choose_forms, prepare_documents
from loadtests.gate_settings import GateSettings, parse_settings
from loadtests.mix import APPLICANT, FEATURES, FORMS, SCENARIO_WEIGHTS, scenario_weights
from loadtests.profile import LoadProfile
from service.applicant.document import ROW_LIMITS, applicant_type, check_document
from service.bundle import register
from tests.service.tiny_bundle import make_tiny_bundle

DOCUMENTS = [item["applicant"] for item in load_documents(FALLBACK_DOCUMENTS)]
"""The committed fallback documents, without their ids."""


def _args(*argv: str) -> GateSettings:
    return parse_settings(argv)


# ------------------------------------------------------------------------------ the committed fallback


def test_the_fallback_file_holds_valid_small_documents_and_says_how_to_regenerate_it() -> None:
    raw = json.loads(FALLBACK_DOCUMENTS.read_text())
    assert FALLBACK_RECIPE in raw["about"] and "training.documents import tables_to_documents" in raw["about"]
    assert FALLBACK_DOCUMENTS.stat().st_size < 300_000
    items = raw["applicants"]
    assert len(items) == FALLBACK_SIZE
    assert [item["id"] for item in items] == [f"fallback-{i}" for i in range(FALLBACK_SIZE)]
    decoder = msgspec.json.Decoder(applicant_type())  # the service's own definition of a valid document
    for i, item in enumerate(items):
        check_document(decoder.decode(json.dumps(item["applicant"])), f"applicants[{i}].applicant")
    # Short to about median histories, some with every history table, none near the record limits.
    for table in ("bureau", "previous_application", "POS_CASH_balance", "installments_payments"):
        assert any(document.get(table) for document in DOCUMENTS), table
        assert all(len(document.get(table, [])) < ROW_LIMITS[table] / 4 for document in DOCUMENTS), table
    assert any(
        credit.get("bureau_balance") for document in DOCUMENTS for credit in document.get("bureau", [])
    )


def test_fallback_selection_keeps_every_second_of_the_shortest() -> None:
    documents = [{"AMT_CREDIT": 1.0, "NOTE": "x" * length} for length in (50, 10, 40, 20, 30, 60)]
    chosen = select_fallback(documents, n=2)
    assert [len(item["applicant"]["NOTE"]) for item in chosen] == [10, 30]
    assert [item["id"] for item in chosen] == ["fallback-0", "fallback-1"]


# ---------------------------------------------------------------------------- export from the bundle


@pytest.fixture
def tiny_bundle():
    """A small real bundle (its features are defined features, so the applicant form applies)."""
    return make_tiny_bundle(n_rows=400, n_trees=5)


def test_example_applicants_of_a_bundle_are_exported_as_request_items(
    bentoml_home: Path, tiny_bundle, tmp_path: Path
) -> None:
    tag = register(replace(tiny_bundle, example_applicants=DOCUMENTS[:4]))
    path = tmp_path / "documents.json"
    export_load_data(tag, 3, documents_out=path)  # python -m training export-load-data
    items = load_documents(path)
    assert items == [{"id": f"example-{i}", "applicant": DOCUMENTS[i]} for i in range(3)]
    assert tag in json.loads(path.read_text())["about"]

    documents, source = prepare_documents(_args("--model-tag", tag), tmp_path / "run", "unknown:tag")
    assert source == f"4 example applicants of {tag}"
    assert load_documents(documents) == [{"id": f"example-{i}", "applicant": DOCUMENTS[i]} for i in range(4)]


def test_reference_rows_of_a_bundle_are_exported_as_feature_vectors(
    bentoml_home: Path, tiny_bundle, tmp_path: Path
) -> None:
    tag = register(tiny_bundle)
    path = tmp_path / "applicants.json"
    export_load_data(tag, 5, reference_out=path)  # python -m training export-load-data
    applicants = load_applicants(path)
    assert [a["id"] for a in applicants] == [f"ref-{i}" for i in range(5)]
    assert all(list(a["features"]) == tiny_bundle.feature_names for a in applicants)


def test_an_unregistered_model_has_no_load_data(bentoml_home: Path, tmp_path: Path) -> None:
    with pytest.raises(LoadDataError, match="no registered model 'credit_scorer:absent'"):
        export_load_data("credit_scorer:absent", 5, reference_out=tmp_path / "applicants.json")
    assert not (tmp_path / "applicants.json").exists()


def test_a_bundle_without_example_applicants_falls_back_to_the_committed_documents(
    bentoml_home: Path, tiny_bundle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tag = register(tiny_bundle)  # trained before example applicants existed
    with pytest.raises(LoadDataError, match=f"bundle {tag} has no example applicants"):
        export_load_data(tag, 10, documents_out=tmp_path / "documents.json")
    assert not (tmp_path / "documents.json").exists()
    documents, source = prepare_documents(_args("--model-tag", tag), tmp_path / "run", tag)
    assert documents == str(FALLBACK_DOCUMENTS)
    fallback = "fallback documents of loadtests/example_applicants.json (no example applicants available)"
    assert source == f"{FALLBACK_SIZE} {fallback}"
    reason = f"bundle {tag} has no example applicants"
    assert f"example applicants of {tag} not available ({reason})" in capsys.readouterr().out


def test_no_model_store_entry_falls_back_and_a_given_file_wins(bentoml_home: Path, tmp_path: Path) -> None:
    documents, source = prepare_documents(_args(), tmp_path / "run", "credit_scorer:absent")
    assert documents == str(FALLBACK_DOCUMENTS) and source.startswith(f"{FALLBACK_SIZE} fallback documents")
    given = tmp_path / "mine.json"
    given.write_text(json.dumps([{"id": "a", "applicant": DOCUMENTS[0]}]))
    documents, source = prepare_documents(_args("--applicant-documents", str(given)), tmp_path / "run", "x:y")
    assert documents == str(given.resolve()) and source == f"1 documents of file {given}"
    given.write_text(json.dumps([{"id": "a", "features": {}}]))
    with pytest.raises(ValueError, match="'applicant' document"):
        prepare_documents(_args("--applicant-documents", str(given)), tmp_path / "run", "x:y")


# ------------------------------------------------------------------------- forms: sent or left out


def test_both_forms_are_sent_when_the_service_scores_documents() -> None:
    forms = choose_forms({"applicant": {"available": True, "unavailable_reason": None}})
    assert forms.sent == FORMS and forms.unsent == {} and forms.unsent_scenarios() == {}


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        (
            {"applicant": {"available": False, "unavailable_reason": "features X not defined"}},
            "features X not defined",
        ),
        ({"model_tag": "m:1"}, "GET /spec does not describe the applicant form"),
    ],
)
def test_the_applicant_scenarios_are_left_out_with_the_reason_of_spec(spec: dict, reason: str) -> None:
    forms = choose_forms(spec)
    assert forms.sent == (FEATURES,)
    assert reason in forms.unsent[APPLICANT]
    unsent = forms.unsent_scenarios()
    assert set(unsent) == set(SCENARIO_WEIGHTS) - set(scenario_weights([FEATURES]))
    assert all(
        name.endswith("(applicant)") and why == forms.unsent[APPLICANT] for name, why in unsent.items()
    )
    assert forms.to_json() == {"sent": [FEATURES], "not_sent": {APPLICANT: forms.unsent[APPLICANT]}}


def test_profile_carries_the_forms_and_document_batches_through_the_environment() -> None:
    profile = LoadProfile(forms="features", applicant_documents="/d.json", applicant_batch_max=7)
    assert LoadProfile.from_env(profile.to_env()) == profile
    assert profile.form_list() == (FEATURES,)
    with pytest.raises(ValueError, match="LOADTEST_FORMS"):
        LoadProfile.from_env({"LOADTEST_FORMS": "vectors"})
    with pytest.raises(ValueError, match="LOADTEST_APPLICANT_BATCH_MIN"):
        LoadProfile.from_env({"LOADTEST_APPLICANT_BATCH_MIN": "9", "LOADTEST_APPLICANT_BATCH_MAX": "3"})


# ----------------------------------------------------------------------------------- request bodies


def test_bodies_are_the_request_forms_of_the_service() -> None:
    items = encode_items(
        [{"id": "d-1", "applicant": DOCUMENTS[0]}, {"id": 7, "features": {"A": 1.5, "B": None}}]
    )
    assert json.loads(request_body(items[:1], single=True)) == {"id": "d-1", "applicant": DOCUMENTS[0]}
    assert json.loads(request_body(items[1:], single=True, explain=3, return_features=True)) == {
        "id": "7",
        "features": {"A": 1.5, "B": None},
        "explain": 3,
        "return_features": True,
    }
    assert json.loads(request_body(items, single=False, return_features=True)) == {
        "applicants": [
            {"id": "d-1", "applicant": DOCUMENTS[0]},
            {"id": "7", "features": {"A": 1.5, "B": None}},
        ],
        "return_features": True,
    }
    with pytest.raises(ValueError, match="one applicant"):
        request_body(items, single=True)


def test_a_batch_of_documents_is_cut_to_the_body_budget_but_never_emptied() -> None:
    items = [(f"d-{i}", b"x" * 1000) for i in range(10)]
    assert len(within_body_limit(items, 10_000_000)) == 10
    assert len(within_body_limit(items, 3 * 1064)) == 3
    assert within_body_limit(items, 10) == items[:1]


def test_documents_file_must_hold_documents(tmp_path: Path) -> None:
    path = tmp_path / "documents.json"
    path.write_text(json.dumps({"applicants": []}))
    with pytest.raises(ValueError, match="no applicant documents"):
        load_documents(path)
    path.write_text(json.dumps([{"id": "x", "applicant": {"AMT_CREDIT": 1.0}}]))  # a bare list is read too
    assert load_documents(path) == [{"id": "x", "applicant": {"AMT_CREDIT": 1.0}}]
