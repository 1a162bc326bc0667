"""Response validation used by every Locust request: what counts as a right answer."""

from __future__ import annotations

import copy
import math

import pytest

from loadtests.checks import (
    NO_APPLICANT_FORM,
    ServiceSpec,
    applicant_form,
    check_explain_response,
    check_feature_row,
    check_score_response,
)

SPEC = ServiceSpec(
    model_tag="credit_scorer:v1", threshold=0.3, feature_names=("A", "B", "C"), max_batch_size=10
)


def scored(
    probability: float = 0.1, decision: str = "accept", applicant_id: str = "a-1", **extra: object
) -> dict:
    """A ``/score`` result as the service writes it."""
    return {
        "id": applicant_id,
        "request_id": "r-1",
        "probability": probability,
        "decision": decision,
        "model_tag": "credit_scorer:v1",
        **extra,
    }


def reasons(*contributions: float) -> list[dict]:
    """Reasons with the given contributions, on features A, B, C in order."""
    return [
        {"feature": name, "value": 1.0, "contribution": c, "direction": "increases_risk"}
        for name, c in zip("ABC", contributions, strict=False)
    ]


def test_right_single_and_batch_answers_pass() -> None:
    assert check_score_response(scored(), SPEC, ["a-1"], True, 0) is None
    batch = {"results": [scored(0.1, "accept", "x"), scored(0.3, "refuse", "y")]}
    assert check_score_response(batch, SPEC, ["x", "y"], False, 0) is None


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (scored(0.31, "accept"), "decision inconsistent with probability and threshold"),
        (scored(0.29, "refuse"), "decision inconsistent with probability and threshold"),
        (scored(1.2, "refuse"), "probability missing or outside [0, 1]"),
        (scored(math.nan, "accept"), "probability missing or outside [0, 1]"),
        (scored(decision="maybe"), "decision is not accept/refuse"),
        (scored(applicant_id="other"), "result id does not match the applicant sent"),
        ({**scored(), "model_tag": "credit_scorer:v0"}, "model_tag differs from GET /spec"),
        (scored(reasons=reasons(0.5)), "reasons returned without explain"),
        ([], "result is not an object"),
    ],
)
def test_wrong_score_answers_are_named(body: object, reason: str) -> None:
    assert check_score_response(body, SPEC, ["a-1"], True, 0) == reason


def test_batch_with_a_missing_result_fails() -> None:
    assert check_score_response({"results": [scored()]}, SPEC, ["a-1", "a-2"], False, 0) == (
        "batch answer does not hold one result per applicant"
    )


def test_reasons_are_counted_ordered_and_known() -> None:
    assert check_score_response(scored(reasons=reasons(0.5, -0.2)), SPEC, ["a-1"], True, 2) is None
    assert (
        check_score_response(scored(reasons=reasons(0.5)), SPEC, ["a-1"], True, 2)
        == "wrong number of reasons"
    )
    assert check_score_response(scored(reasons=reasons(0.1, -0.5)), SPEC, ["a-1"], True, 2) == (
        "reasons not ordered strongest first"
    )
    unknown = reasons(0.5, 0.2)
    unknown[1]["feature"] = "Z"
    assert (
        check_score_response(scored(reasons=unknown), SPEC, ["a-1"], True, 2)
        == "reason names an unknown feature"
    )
    # asking for more reasons than features gets one per feature
    assert check_score_response(scored(reasons=reasons(0.5, 0.3, 0.1)), SPEC, ["a-1"], True, 5) is None


EXPLAINED = {
    "id": "a-1",
    "model_tag": "credit_scorer:v1",
    "base_value": -1.0,
    "margin": -0.5,
    "probability": 1 / (1 + math.exp(0.5)),
    "contributions": {"A": 0.25, "B": 0.5, "C": -0.25},
}


def test_explain_answer_adds_up() -> None:
    assert check_explain_response(EXPLAINED, SPEC, ["a-1"], True) is None


def test_explain_answer_that_does_not_add_up_fails() -> None:
    body = copy.deepcopy(EXPLAINED)
    body["contributions"]["A"] = 0.3
    assert (
        check_explain_response(body, SPEC, ["a-1"], True) == "margin differs from base value + contributions"
    )


def test_explain_answer_missing_a_feature_fails() -> None:
    body = copy.deepcopy(EXPLAINED)
    del body["contributions"]["C"]
    assert check_explain_response(body, SPEC, ["a-1"], True) == (
        "contributions do not cover exactly the model's features"
    )


def test_spec_from_service_body() -> None:
    body = {
        "model_tag": "m:1",
        "threshold": 0.25,
        "max_batch_size": 5,
        "features": [{"name": "A"}, {"name": "B"}],
    }
    spec = ServiceSpec.from_json(body)
    assert spec == ServiceSpec("m:1", 0.25, ("A", "B"), 5, applicant_unavailable_reason=NO_APPLICANT_FORM)
    assert not spec.applicant_available
    with_form = ServiceSpec.from_json(
        {**body, "max_body_bytes": 2048, "applicant": {"available": True, "unavailable_reason": None}}
    )
    assert with_form.applicant_available and with_form.applicant_unavailable_reason is None
    assert with_form.max_body_bytes == 2048
    with pytest.raises(ValueError, match="GET /spec"):
        ServiceSpec.from_json({"threshold": 0.25})


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"available": True, "unavailable_reason": None, "record_limits": {}}, (True, None)),
        ({"available": False, "unavailable_reason": "features not defined"}, (False, "features not defined")),
        ({"available": False}, (False, "GET /spec says the applicant form is unavailable")),
        (None, (False, NO_APPLICANT_FORM)),
    ],
)
def test_spec_says_whether_the_applicant_form_is_available(section: dict | None, expected: tuple) -> None:
    body = {"model_tag": "m:1"} if section is None else {"model_tag": "m:1", "applicant": section}
    assert applicant_form(body) == expected


ROW = {"A": 1.5, "B": None, "C": -2}


def test_feature_row_must_hold_exactly_the_models_features() -> None:
    assert check_feature_row(ROW, SPEC) is None
    assert (
        check_feature_row({"A": 1.0, "B": 2.0}, SPEC)
        == "feature row does not hold exactly the model's features"
    )
    assert (
        check_feature_row({**ROW, "D": 1.0}, SPEC) == "feature row does not hold exactly the model's features"
    )
    assert check_feature_row({**ROW, "A": "1.5"}, SPEC) == "feature row value is not a finite number or null"
    assert check_feature_row({**ROW, "A": True}, SPEC) == "feature row value is not a finite number or null"
    assert check_feature_row(None, SPEC) == "feature row missing although return_features was asked"


def test_return_features_answers_carry_the_row_and_others_do_not() -> None:
    assert check_score_response(scored(features=ROW), SPEC, ["a-1"], True, 0, return_features=True) is None
    assert check_score_response(scored(), SPEC, ["a-1"], True, 0, return_features=True) == (
        "feature row missing although return_features was asked"
    )
    assert check_score_response(scored(features=ROW), SPEC, ["a-1"], True, 0) == (
        "feature row returned without return_features"
    )
    batch = {"results": [scored(applicant_id="x", features=ROW), scored(applicant_id="y", features={"A": 1})]}
    assert check_score_response(batch, SPEC, ["x", "y"], False, 0, return_features=True) == (
        "feature row does not hold exactly the model's features"
    )


def test_reasons_must_quote_the_returned_feature_row() -> None:
    quoted = reasons(0.5, -0.2)  # features A and B
    quoted[0]["value"], quoted[1]["value"] = 1.5, None
    body = scored(reasons=quoted, features=ROW)
    assert check_score_response(body, SPEC, ["a-1"], True, 2, return_features=True) is None
    wrong = copy.deepcopy(body)
    wrong["reasons"][0]["value"] = 1.6
    assert check_score_response(wrong, SPEC, ["a-1"], True, 2, return_features=True) == (
        "reason value differs from the returned feature row"
    )
    wrong["reasons"][0]["value"], wrong["reasons"][1]["value"] = 1.5, 0.0  # a value where the row has none
    assert check_score_response(wrong, SPEC, ["a-1"], True, 2, return_features=True) == (
        "reason value differs from the returned feature row"
    )


def test_explain_answer_with_its_feature_row() -> None:
    body = {**EXPLAINED, "features": ROW}
    assert check_explain_response(body, SPEC, ["a-1"], True, return_features=True) is None
    assert check_explain_response(EXPLAINED, SPEC, ["a-1"], True, return_features=True) == (
        "feature row missing although return_features was asked"
    )
    assert check_explain_response(body, SPEC, ["a-1"], True) == "feature row returned without return_features"
