"""Readiness before the bundle exists; the payload-log spool (exact, full, unwritable); graceful stop."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from deploy.bento_server import BentoServer, serving_bundle
from tests.service.serving import register_tiny_bundle, wait_for
from tests.service.spool_records import read_spool
from tests.service.tiny_bundle import TINY_FEATURES, applicant_payloads

FEATURE_NAMES = [f.name for f in TINY_FEATURES]
RECORD_KEYS = {
    "time", "request_id", "caller_id", "model_tag", "input", "features", "probability", "decision", "groups",
}  # fmt: skip
SEGMENT_NAME = re.compile(r"^seg-[^-]+-\d{8}\.arrows(\.open)?$")


def metric_value(text: str, name: str, labels: str = "") -> float:
    """Sum of the samples of ``name`` (optionally only those whose labels contain ``labels``)."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and (line[len(name)] in " {") and labels in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


class TestSpool:
    def test_spool_holds_exactly_the_records_sent(self, client: httpx.Client, spool_dir: Path) -> None:
        applicants = applicant_payloads(30, seed=42)
        for a in applicants:
            a["id"] = "spool-test-" + a["id"]
        sent = {}
        for a in applicants[:10]:
            r = client.post("/score", json=a).json()
            sent[r["request_id"]] = (a, r)
        batch = client.post("/score", json={"applicants": applicants[10:]}).json()["results"]
        for a, r in zip(applicants[10:], batch, strict=True):
            sent[r["request_id"]] = (a, r)
        bad = client.post("/score", json={"id": "spool-test-bad", "features": {"AMT_CREDIT": -1}})
        assert bad.status_code == 422

        def ours() -> list[dict]:
            return [r for r in read_spool(spool_dir) if (r["caller_id"] or "").startswith("spool-test-")]

        wait_for(lambda: len(ours()) >= len(sent))
        records = ours()
        assert len(records) == len(sent)
        assert {r["request_id"] for r in records} == set(sent)
        for record in records:
            applicant, result = sent[record["request_id"]]
            assert set(record) == RECORD_KEYS
            assert abs(record["time"] - datetime.now(UTC)).total_seconds() < 120
            assert record["caller_id"] == applicant["id"]
            assert record["model_tag"] == result["model_tag"]
            assert record["input"] == "features"
            assert record["groups"] is None  # a feature vector has no monitoring groups
            assert list(record["features"]) == FEATURE_NAMES
            for name, value in applicant["features"].items():
                expected = None if value is None else float(value)
                assert record["features"][name] == expected
            assert record["probability"] == result["probability"]
            assert record["decision"] == result["decision"]
        assert all(SEGMENT_NAME.match(p.name) for p in spool_dir.iterdir())

    def test_metrics_have_help_and_count_records(self, client: httpx.Client) -> None:
        client.post("/score", json={**applicant_payloads(1)[0], "explain": 2}).raise_for_status()
        client.post("/score", json={"applicants": applicant_payloads(3)}, params={}).raise_for_status()
        assert client.post("/score", json={"features": {"NOT_A_FEATURE": 1.0}}).status_code == 422

        def written() -> float:
            return metric_value(client.get("/metrics").text, "credit_scoring_payload_records_written_total")

        wait_for(lambda: written() >= 4)
        text = client.get("/metrics").text
        for name in (
            "credit_scoring_predictions_total",
            "credit_scoring_probability",
            "credit_scoring_explanation_duration_seconds",
            "credit_scoring_payload_records_written_total",
            "credit_scoring_payload_bytes_written_total",
            "credit_scoring_spool_bytes",
            "credit_scoring_ready",
            'credit_scoring_http_request_duration_seconds_bucket{le="0.005",route="/score"}',
            'credit_scoring_http_requests_total{code="200",route="/score"}',
            "credit_scoring_http_requests_in_progress",
            "bentoml_service_request_duration_seconds",
        ):
            assert name in text, name
        families = [
            line.split()[2] for line in text.splitlines() if line.startswith("# TYPE credit_scoring_")
        ]
        assert len(families) >= 8
        for family in families:
            help_line = next(line for line in text.splitlines() if line.startswith(f"# HELP {family} "))
            assert len(help_line) > len(f"# HELP {family} ") + 10
        predictions = metric_value(text, "credit_scoring_predictions_total")
        observed = metric_value(text, "credit_scoring_probability_count")
        assert predictions >= 4 and observed == predictions
        assert metric_value(text, "credit_scoring_rejected_requests_total", 'error="unknown_feature"') >= 1


def test_unready_until_bundle_registered_and_unwritable_spool_never_fails_scoring(
    tmp_path: Path,
) -> None:
    """A serve with no bundle answers 503 (with a reason), then turns ready once one is registered.

    Its spool directory lies under a regular file, so every write fails: scoring still answers 200 and the
    drops are counted as ``write_error``.
    """
    home = tmp_path / "home"
    home.mkdir()
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the spool's parent directory should be")
    served = BentoServer(
        home,
        env={
            "CREDIT_SCORING_BUNDLE_TAG": "late_scorer:latest",
            "CREDIT_SCORING_LOAD_RETRY_S": "1",
            "CREDIT_SCORING_SPOOL_DIR": str(blocker / "spool"),
        },
        log_path=tmp_path / "serve.log",
    )
    try:
        served.start()
        served.wait_listening()
        with httpx.Client(base_url=served.url, timeout=10.0) as http:
            assert http.get("/readyz").status_code == 503
            for path in ("/score", "/explain"):
                response = http.post(path, json=applicant_payloads(1)[0])
                assert response.status_code == 503
                assert response.json()["error"] == "not_ready"
            assert http.get("/spec").status_code == 503
            assert http.get("/livez").status_code == 200

            register_tiny_bundle(home, name="late_scorer", seed=3)
            served.wait_ready(timeout_s=60)
            for _ in range(3):
                assert http.post("/score", json=applicant_payloads(1)[0]).status_code == 200
            assert http.post("/score", json={"applicants": applicant_payloads(5)}).status_code == 200

            def dropped() -> float:
                return metric_value(
                    http.get("/metrics").text,
                    "credit_scoring_payload_records_dropped_total",
                    'reason="write_error"',
                )

            wait_for(lambda: dropped() >= 8)
    finally:
        served.stop()


@pytest.fixture()
def small_spool_server(served_bentoml_home: Path, registered_tag: str, tmp_path: Path):
    """A serve whose spool may hold only ~5 kB: the schema and a drain or two of these small requests (a
    segment of one record is 2.8 kB since the payload log carries the groups column, 2.1 kB before)."""
    spool = tmp_path / "spool"
    env = {"CREDIT_SCORING_SPOOL_DIR": str(spool), "CREDIT_SCORING_SPOOL_MAX_BYTES": "5000"}
    with serving_bundle(served_bentoml_home, env=env, log_path=tmp_path / "serve.log") as served:
        yield served, spool


def test_full_spool_drops_and_counts_and_shutdown_closes_segments(small_spool_server) -> None:
    served, spool = small_spool_server
    statuses = []
    with httpx.Client(base_url=served.url, timeout=10.0) as http:
        for applicant in applicant_payloads(40, seed=9):
            statuses.append(http.post("/score", json=applicant).status_code)
            time.sleep(0.01)

        def counts() -> tuple[float, float]:
            text = http.get("/metrics").text
            return (
                metric_value(text, "credit_scoring_payload_records_written_total"),
                metric_value(text, "credit_scoring_payload_records_dropped_total", 'reason="spool_full"'),
            )

        wait_for(lambda: sum(counts()) >= 40)
        written, dropped = counts()
    assert statuses == [200] * 40
    assert written >= 1 and dropped >= 1 and written + dropped == 40
    served.stop()
    assert not list(spool.glob("*.open")), "graceful shutdown closes the open segment"
    assert len(read_spool(spool)) == written
    assert sum(p.stat().st_size for p in spool.iterdir()) <= 5000
