"""``python -m training traffic``: generated applicants, their JSON, batching, retries and the CLI.

The command against a real service is exercised by ``tests/e2e/test_stack.py``.
"""

from __future__ import annotations

import json

import httpx
import numpy as np
import pandas as pd
import pytest

from service.applicant.document import applicant_type
from training.cli import build_parser, main
from training.traffic import (
    TrafficPlan,
    batches,
    document_requests,
    feature_vectors,
    generated_applicants,
    generated_features,
    send,
)

NAMES = ["DAYS_BIRTH", "AMT_ANNUITY", "EXT_SOURCE_1", "BURO_AMT_CREDIT_SUM_MIN"]


def test_payloads_send_missing_values_as_null_and_whole_numbers_as_ints() -> None:
    frame = pd.DataFrame(
        {"A": [1.0, np.nan], "B": [0.25, np.inf], "C": [-12000.0, 3.0]},
        index=pd.Index([7, 8], name="SK_ID_CURR"),
    )
    first, second = feature_vectors(frame, "baseline")
    assert first == {"id": "baseline-7", "features": {"A": 1, "B": 0.25, "C": -12000}}
    assert second == {"id": "baseline-8", "features": {"A": None, "B": None, "C": 3}}
    assert isinstance(first["features"]["A"], int)
    json.dumps([first, second], allow_nan=False)  # valid JSON: no NaN literal


def test_batches_split_and_ask_for_reasons_every_nth_request() -> None:
    applicants = [{"id": str(i), "features": {}} for i in range(25)]
    bodies = [
        (json.loads(body), count) for body, count in batches(applicants, batch_size=10, explain_every=2)
    ]
    assert [(len(b["applicants"]), count) for b, count in bodies] == [(10, 10), (10, 10), (5, 5)]
    assert ["explain" in b for b, _ in bodies] == [False, True, False]
    assert bodies[1][0]["explain"] == 3
    assert all("explain" not in json.loads(body) for body, _ in batches(applicants, 10, 0))


def test_batches_stay_under_the_byte_budget_but_always_send_an_applicant() -> None:
    big = {"id": "x", "applicant": {"installments_payments": [{"AMT_PAYMENT": 1.5}] * 2000}}
    small = {"id": "y", "features": {}}
    bodies = list(batches([big, small, small, big, big], batch_size=50, explain_every=0, max_bytes=40_000))
    assert [count for _, count in bodies] == [1, 2, 1, 1]  # a big one alone exceeds the budget: sent alone
    assert all(len(body) <= 40_000 for body, count in bodies if count > 1)


def test_generated_applicants_are_valid_requests_and_follow_the_scenario() -> None:
    import msgspec

    documents = generated_applicants(200, seed=5)[0]
    assert len(documents) == 200
    decoded = [msgspec.convert(d, applicant_type()) for d in documents]  # the service's own types
    assert any(a.bureau for a in decoded) and all("TARGET" not in d for d in documents)
    shifted = generated_applicants(200, seed=5, scenario="young_high_income")[0]
    assert np.mean([d["DAYS_BIRTH"] for d in shifted]) > np.mean([d["DAYS_BIRTH"] for d in documents])
    requests = document_requests(documents[:2], "base")
    assert requests[1] == {"id": "base-1", "applicant": documents[1]}


def test_plan_sends_the_baseline_then_the_scenario() -> None:
    assert TrafficPlan("u").phases() == [("baseline", None, 6_000)]
    assert TrafficPlan("u", scenario="revolving_mix").phases() == [
        ("baseline", None, 6_000),
        ("revolving_mix", "revolving_mix", 12_000),  # drifted applicants: two thirds of the last hour
    ]
    plan = TrafficPlan("u", applicants=10, baseline_applicants=0, scenario="revolving_mix")
    assert plan.phases() == [("revolving_mix", "revolving_mix", 10)]


def test_generated_features_have_the_models_columns_and_count() -> None:
    frame = generated_features(300, NAMES, seed=5)
    assert list(frame.columns) == NAMES and len(frame) == 300
    assert frame["DAYS_BIRTH"].notna().all() and (frame["DAYS_BIRTH"] < 0).all()
    shifted = generated_features(300, NAMES, seed=5, scenario="young_high_income")
    assert shifted["DAYS_BIRTH"].mean() > frame["DAYS_BIRTH"].mean()  # younger: fewer days since birth


def test_generated_features_refuse_features_the_training_code_does_not_build() -> None:
    with pytest.raises(ValueError, match="NOT_A_FEATURE"):
        generated_features(20, ["DAYS_BIRTH", "NOT_A_FEATURE"], seed=0)


def test_send_counts_scored_and_refused_retries_503_and_counts_rejections() -> None:
    seen: list[dict] = []
    answers = iter([503, 200, 422, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        status = next(answers)
        if status != 200:
            return httpx.Response(status, json={"error": "x", "field": "f", "reason": "r"})
        results = [{"decision": "refuse" if i == 0 else "accept"} for i, _ in enumerate(body["applicants"])]
        results[0].update(
            id=body["applicants"][0]["id"], principal_reasons=[{"code": "R001", "reason": "Scores"}]
        )
        return httpx.Response(200, json={"results": results})

    applicants = [{"id": str(i), "features": {"A": None}} for i in range(9)]
    report = send(
        "http://stack", applicants, phase="t", rate=1e6, batch_size=3, transport=httpx.MockTransport(handler)
    )
    assert report.sent == 9 and report.scored == 6 and report.refused == 2 and report.failed == 3
    assert report.statuses == {503: 1, 200: 2, 422: 1}
    assert report.first_error.startswith("503")
    assert len(seen) == 4 and seen[0] == seen[1]  # the 503 batch was sent again, unchanged
    assert "6/9 applicants scored" in report.summary()
    assert report.example_refusal is not None and report.example_refusal["id"] == "0"
    assert report.summary().endswith("\n  e.g. 0 was refused: R001 Scores")


def test_cli_traffic_options_all_have_help() -> None:
    parser = build_parser()
    commands = next(a for a in parser._subparsers._group_actions if a.dest == "command")
    traffic = commands.choices["traffic"]
    for action in traffic._actions:
        assert action.help, action.dest
    args = parser.parse_args(["traffic", "--url", "http://x", "--scenario", "revolving_mix", "--rate", "50"])
    assert (args.url, args.scenario, args.rate, args.applicants) == ("http://x", "revolving_mix", 50.0, None)
    assert args.baseline_applicants == 6000
    assert args.form == "applicant"
    assert parser.parse_args(["traffic", "--url", "http://x", "--form", "features"]).form == "features"


def test_cli_traffic_rejects_a_zero_rate() -> None:
    # An unknown --scenario is refused too: see test_cli.py::test_unknown_scenario_is_refused_by_the_parser.
    with pytest.raises(SystemExit):
        main(["traffic", "--url", "http://x", "--rate", "0"])


def test_cli_refuses_a_scenario_phase_size_without_a_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["traffic", "--url", "http://127.0.0.1:9", "--applicants", "500"]) == 2
    assert "--applicants sizes the drift-scenario phase" in capsys.readouterr().err
