"""The alert rules: promtool-valid, unit-tested (each alert fires and stays silent), documented."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from deploy.chart import CHART_DIR
from tests.deploy.promtool import run_promtool

RULES_FILE = CHART_DIR / "rules" / "credit-scoring.rules.yaml"
RULE_TESTS = Path(__file__).parent / "promtool" / "credit-scoring-rules.test.yaml"
RUNBOOKS = Path(__file__).resolve().parents[2] / "docs" / "runbooks.md"

EXPECTED_ALERTS = {
    "CreditScoringDatasetDrift",
    "CreditScoringKeyFeatureDrift",
    "CreditScoringPredictionDrift",
    "CreditScoringDriftComputationStale",
    "CreditScoringPayloadRecordsDropped",
    "CreditScoringLatencyP99High",
    "CreditScoringErrorRateHigh",
    "CreditScoringHPAAtMaxReplicas",
    "CreditScoringDriftSegmentsSkipped",
    "CreditScoringDriftSidecarDown",
    "CreditScoringDriftCheckpointStale",
    "CreditScoringTooManyRequests",
}


def _alerts() -> list[dict]:
    groups = yaml.safe_load(RULES_FILE.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_promtool_check_rules() -> None:
    result = run_promtool("check", "rules", RULES_FILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass() -> None:
    result = run_promtool("test", "rules", RULE_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_expected_alerts_exist() -> None:
    assert {a["alert"] for a in _alerts()} == EXPECTED_ALERTS


def test_every_alert_has_a_firing_and_a_silent_unit_test() -> None:
    fires: set[str] = set()
    silent: set[str] = set()
    for group in yaml.safe_load(RULE_TESTS.read_text())["tests"]:
        for case in group.get("alert_rule_test", []):
            (fires if case["exp_alerts"] else silent).add(case["alertname"])
    assert fires == EXPECTED_ALERTS
    assert silent == EXPECTED_ALERTS


def test_every_alert_is_documented_with_severity_and_for() -> None:
    runbooks = RUNBOOKS.read_text()
    anchors = {
        re.sub(r"[^a-z0-9]", "", line.lower()) for line in runbooks.splitlines() if line.startswith("## ")
    }
    for alert in _alerts():
        assert alert["labels"]["severity"] in ("warning", "critical"), alert["alert"]
        assert re.fullmatch(r"\d+m", alert["for"]), alert["alert"]
        for key in ("summary", "description", "runbook_url"):
            assert alert["annotations"][key], (alert["alert"], key)
        anchor = alert["annotations"]["runbook_url"].split("#", 1)[1]
        assert anchor == alert["alert"].lower()
        assert anchor in anchors, f"docs/runbooks.md has no section for {alert['alert']}"
