"""The vectorised batch path and the columnar form accept and refuse exactly what the per-value loop does."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

import service.validation as validation
from service.errors import ServiceError
from service.validation import RequestValidator
from tests.service.tiny_bundle import TINY_FEATURES, applicant_payloads

NAMES = [f.name for f in TINY_FEATURES]

BAD_VALUES = [
    ("AMT_CREDIT", -5.0),
    ("AMT_CREDIT", "12"),
    ("AMT_CREDIT", True),
    ("AMT_CREDIT", [1.0]),
    ("AMT_CREDIT", 10**400),
    ("EXT_SOURCE_2", 1.5),
    ("CNT_CHILDREN", 2.5),
    ("CNT_CHILDREN", True),
    ("DAYS_BIRTH", 3),
    ("FLAG_OWN_CAR", 2),
    ("FLAG_OWN_CAR", "yes"),
    ("NOT_A_FEATURE", 1.0),
]


def _validator() -> RequestValidator:
    return RequestValidator(TINY_FEATURES, max_batch_size=1000, explain_max_k=5)


def _outcome(validator: RequestValidator, body: bytes) -> tuple:
    try:
        parsed = validator.parse(body)
    except ServiceError as error:
        return ("error", error.status, error.code, error.field)
    return ("ok", parsed.matrix.tobytes(), tuple(parsed.caller_ids), parsed.single)


def _per_value_loop_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validation, "VECTORISED_MIN_ROWS", 10**9)


def _columnar(applicants: list[dict], columns: list[str]) -> bytes:
    rows = [[a["id"] if c == "id" else a["features"].get(c) for c in columns] for a in applicants]
    return json.dumps({"columns": columns, "rows": rows}).encode()


@pytest.mark.parametrize("seed", range(30))
def test_vectorised_batches_match_the_per_value_loop(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    applicants = applicant_payloads(rng.randint(8, 40), seed=seed)
    if seed % 3:  # two thirds of the batches carry one bad value somewhere
        name, value = rng.choice(BAD_VALUES)
        applicants[rng.randrange(len(applicants))]["features"][name] = value
    if seed % 5 == 0:
        applicants[rng.randrange(len(applicants))]["id"] = rng.choice([7, None, True, "x" * 200])
    body = json.dumps({"applicants": applicants}).encode()
    fast = _outcome(_validator(), body)
    _per_value_loop_only(monkeypatch)
    assert _outcome(_validator(), body) == fast


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "1e999"])
def test_non_finite_literals_in_a_batch_name_the_field(literal: str) -> None:
    applicants = applicant_payloads(10, seed=1)
    applicants[3]["features"]["AMT_OVERDUE"] = "PLACEHOLDER"
    body = json.dumps({"applicants": applicants}).replace('"PLACEHOLDER"', literal)
    with pytest.raises(ServiceError) as caught:
        _validator().parse(body.encode())
    assert caught.value.code == "impossible_value"
    assert caught.value.field == "applicants[3].features.AMT_OVERDUE"


def test_columnar_form_gives_the_same_matrix_and_ids() -> None:
    applicants = applicant_payloads(25, seed=4)
    expected = _validator().parse(json.dumps({"applicants": applicants}).encode())
    parsed = _validator().parse(_columnar(applicants, ["id", *NAMES]))
    assert not parsed.single
    assert parsed.caller_ids == expected.caller_ids
    np.testing.assert_array_equal(parsed.matrix, expected.matrix)


def test_columnar_form_without_id_or_some_features() -> None:
    applicants = applicant_payloads(3, seed=4)
    parsed = _validator().parse(_columnar(applicants, ["AMT_CREDIT", "CNT_CHILDREN"]))
    assert parsed.caller_ids == [None, None, None]
    assert np.isnan(parsed.matrix[:, NAMES.index("EXT_SOURCE_2")]).all()
    assert parsed.matrix[1, NAMES.index("AMT_CREDIT")] == applicants[1]["features"]["AMT_CREDIT"]


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"columns": ["AMT_CREDIT"], "rows": [[1.0], [-1.0]]}, "impossible_value", "rows[1].AMT_CREDIT"),
        ({"columns": ["AMT_CREDIT"], "rows": [[1.0], ["1"]]}, "wrong_type", "rows[1].AMT_CREDIT"),
        ({"columns": ["AMT_CREDIT", "id"], "rows": [[1.0, ["x"]]]}, "wrong_type", "rows[0].id"),
        ({"columns": ["AMT_CREDIT"], "rows": [[1.0, 2.0]]}, "wrong_type", "rows[0]"),
        ({"columns": ["AMT_CREDIT"], "rows": [7]}, "wrong_type", "rows[0]"),
        ({"columns": ["NOPE"], "rows": [[1.0]]}, "unknown_feature", "columns.NOPE"),
        ({"columns": ["AMT_CREDIT", "AMT_CREDIT"], "rows": [[1.0, 1.0]]}, "malformed_request", "columns"),
        ({"columns": "AMT_CREDIT", "rows": [[1.0]]}, "wrong_type", "columns"),
        ({"columns": ["AMT_CREDIT"], "rows": {}}, "wrong_type", "rows"),
        ({"columns": ["AMT_CREDIT"], "rows": []}, "malformed_request", "rows"),
        ({"columns": ["AMT_CREDIT"], "rows": [[1.0]], "more": 1}, "malformed_request", "more"),
    ],
)
def test_columnar_errors_name_the_field(body: dict, code: str, field: str) -> None:
    with pytest.raises(ServiceError) as caught:
        _validator().parse(json.dumps(body).encode())
    assert (caught.value.code, caught.value.field) == (code, field)


def test_columnar_batch_above_the_limit_is_413() -> None:
    validator = RequestValidator(TINY_FEATURES, max_batch_size=2, explain_max_k=5)
    with pytest.raises(ServiceError) as caught:
        validator.parse(json.dumps({"columns": ["AMT_CREDIT"], "rows": [[1.0]] * 3}).encode())
    assert caught.value.status == 413
