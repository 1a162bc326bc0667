"""The demo traffic's outcomes: built for accepted applicants only, posted by request id in batches to a real
``POST /outcomes`` (the monitoring package's endpoint on a real SQLite decision store), errors counted.

The whole chain (``/score`` answers, the sidecar's endpoint, the performance job, Prometheus) runs in
``tests/e2e/test_stack.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from deploy.bento_server import free_port
from monitoring import store_schema as schema
from monitoring.bounded_server import HttpLimits
from monitoring.outcomes_endpoint import outcomes_response
from monitoring.performance import compute
from monitoring.server import make_server, serve_in_thread
from tests.monitoring.store_data import decision, model, seed
from training.cli import build_parser
from training.http_retry import Backoff
from training.traffic import TrafficReport, _post_batch, generated_applicants
from training.traffic_outcomes import (
    DelayedOutcomes,
    OutcomesPlan,
    OutcomesReport,
    outcome_records,
    send_outcomes,
)

OBSERVED = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(base URL of a real ``POST /outcomes``, its SQLite store URL) with 40 stored decisions ``r-0``...:
    even ones accepted, odd ones refused."""
    store_url = f"sqlite:///{tmp_path / 'decisions.sqlite'}"
    scored = datetime(2026, 5, 10, 12)
    seed(
        store_url,
        [
            decision(f"r-{i}", 0.05 + i / 100, refused=i % 2 == 1, scored_at=scored, band=i % 4)
            for i in range(40)
        ],
        [model()],
    )
    engine = schema.open_engine(store_url)
    server = make_server(
        "127.0.0.1", 0, None, lambda: (True, ""), lambda: (True, ""),  # type: ignore[arg-type]
        limits=HttpLimits(max_threads=2, max_pending=8, request_timeout=5, write_timeout=5),
        outcomes=partial(outcomes_response, engine), max_body_bytes=1 << 20,
    )  # fmt: skip
    serve_in_thread(server)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", store_url
    finally:
        server.shutdown()
        server.server_close()
        engine.dispose()


def stored_outcomes(store_url: str) -> dict[str, bool]:
    """Request id -> defaulted of every stored outcome."""
    engine = schema.open_engine(store_url)
    with engine.connect() as connection:
        rows = connection.execute(select(schema.outcomes.c.subject_id, schema.outcomes.c.defaulted)).all()
    engine.dispose()
    return {subject: bool(defaulted) for subject, defaulted in rows}


def test_generated_applicants_carry_the_generators_outcome_beside_the_document() -> None:
    from training.synthetic import generate

    documents, targets = generated_applicants(30, seed=5)
    drawn = generate(30, seed=5).tables["application_train"]
    assert len(documents) == len(targets) == 30
    assert targets == [int(t) for t in drawn["TARGET"]]
    assert [d["SK_ID_CURR"] for d in documents] == list(drawn["SK_ID_CURR"])
    assert all("TARGET" not in document for document in documents)  # the service never sees it


def test_send_remembers_the_request_id_of_accepted_applicants_only() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        applicants = json.loads(request.content)["applicants"]
        results = [
            {"id": a["id"], "request_id": f"r-{a['id']}", "decision": "refuse" if i == 1 else "accept"}
            for i, a in enumerate(applicants)
        ]
        return httpx.Response(200, json={"results": results})

    report = TrafficReport("t")
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        body = json.dumps({"applicants": [{"id": name} for name in ("a", "b", "c")]})
        _post_batch(client, "http://x/score", body, 3, report)
    assert report.accepted == {"a": "r-a", "c": "r-c"}
    assert report.refused == 1


def test_outcome_records_are_by_request_id_for_the_share_with_a_known_outcome() -> None:
    accepted = {f"a-{i}": f"r-{2 * i}" for i in range(10)}
    targets: dict[str, int | None] = {f"a-{i}": i % 3 == 0 for i in range(10)} | {"a-9": None}
    records = outcome_records(accepted, targets, share=0.5, observed_at=OBSERVED)
    # nine have an outcome, half of them (rounded) get it sent, first scored first
    assert [r["request_id"] for r in records] == ["r-0", "r-2", "r-4", "r-6"]
    assert [r["defaulted"] for r in records] == [1, 0, 0, 1]
    assert {r["observed_at"] for r in records} == {"2026-06-01T09:30:00+00:00"}
    assert len(outcome_records(accepted, targets, share=1.0, observed_at=OBSERVED)) == 9
    with pytest.raises(ValueError, match="share"):
        outcome_records(accepted, targets, share=1.5, observed_at=OBSERVED)


def test_outcomes_reach_the_store_in_batches_and_join_accepted_decisions(endpoint: tuple[str, str]) -> None:
    url, store_url = endpoint
    accepted = {f"a-{i}": f"r-{i}" for i in range(0, 40, 2)}  # the accepted decisions
    targets = {f"a-{i}": int(i % 6 == 0) for i in range(0, 40, 2)}
    records = outcome_records(accepted, targets, share=1.0, observed_at=OBSERVED)
    report = send_outcomes(url, records, OutcomesReport("p", refused=20, accepted=20), batch_size=6)
    assert report.statuses == {200: 4}  # 20 outcomes in batches of 6
    assert (report.sent, report.stored, report.failed, report.defaulted) == (20, 20, 0, 7)
    assert stored_outcomes(store_url) == {f"r-{i}": i % 6 == 0 for i in range(0, 40, 2)}
    assert "20/20 sent for 20 accepted applicants (7 defaulted, 20 new" in report.summary()
    assert "20 refused applicants get none (no loan was granted)" in report.summary()
    engine = schema.open_engine(store_url)
    (month,), counts = compute(engine, "2026-01")
    engine.dispose()
    assert (month.outcomes, month.defaults, month.refused) == (20, 7, 20)
    assert counts.on_refused == 0 and counts.unmatched == 0
    again = send_outcomes(url, records, OutcomesReport("p"), batch_size=50)
    assert again.statuses == {200: 1} and again.stored == 0  # idempotent: nothing new


def test_refused_batches_are_counted_with_the_first_error(endpoint: tuple[str, str]) -> None:
    url, store_url = endpoint
    good = [{"request_id": "r-0", "defaulted": 1, "observed_at": "2026-06-01"}]
    bad = [{"request_id": "r-2", "defaulted": "perhaps", "observed_at": "2026-06-01"}]
    report = send_outcomes(url, good + bad + good, OutcomesReport("p"), batch_size=1)
    assert report.statuses == {200: 2, 400: 1}
    assert (report.sent, report.failed, report.stored) == (3, 1, 1)
    assert report.first_error is not None and report.first_error.startswith("400")
    assert "defaulted" in report.first_error
    assert "; 1 not loaded, first error: 400" in report.summary()
    assert stored_outcomes(store_url) == {"r-0": True}


def test_an_endpoint_that_never_answers_counts_every_outcome_as_failed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    quick = Backoff(retries=1, first_pause_s=0.01, max_pause_s=0.01)  # two attempts per batch
    monkeypatch.setattr("training.traffic_outcomes.OUTCOMES_BACKOFF", quick)
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    records = [{"request_id": f"r-{i}", "defaulted": 0, "observed_at": "2026-06-01"} for i in range(5)]
    report = send_outcomes(url, records, OutcomesReport("p"), batch_size=5)
    assert report.failed == 5 and report.statuses == {"no answer": 2}
    assert report.first_error is not None and report.first_error.startswith(f"{url}/outcomes: ")


def test_delayed_outcomes_are_sent_by_a_thread_that_wait_joins(endpoint: tuple[str, str]) -> None:
    url, store_url = endpoint
    lines: list[str] = []
    delayed = DelayedOutcomes(OutcomesPlan(after_seconds=0.1, url=url, share=0.5), lines.append)
    report = delayed.schedule(
        "baseline", scored=8, refused=4, accepted={f"a-{i}": f"r-{i}" for i in (0, 2, 4, 6)},
        targets={f"a-{i}": 1 for i in (0, 2, 4, 6)},
    )  # fmt: skip
    assert delayed.wait() == [report]
    assert stored_outcomes(store_url) == {"r-0": True, "r-2": True}
    assert lines[0].startswith("baseline: outcomes of accepted applicants go to")
    assert "the 4 refused applicants never get one" in lines[0]
    assert lines[1] == report.summary()


def test_cli_outcome_options(capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["traffic", "--url", "http://x", "--outcomes-after", "30"])
    assert (args.outcomes_after, args.outcomes_url, args.outcomes_share) == (
        30.0,
        "http://127.0.0.1:9108",
        0.5,
    )
    assert build_parser().parse_args(["traffic", "--url", "http://x"]).outcomes_after is None
    for bad in (["--outcomes-share", "0"], ["--outcomes-share", "1.5"], ["--outcomes-after", "-1"]):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["traffic", "--url", "http://x", *bad])
    from training.cli import main

    code = main(["traffic", "--url", "http://x", "--form", "features", "--outcomes-after", "1"])
    assert code == 2
    assert "--outcomes-after needs --form applicant" in capsys.readouterr().err
