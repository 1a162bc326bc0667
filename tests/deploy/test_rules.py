"""The alert and recording rules: promtool-valid, unit-tested (each alert fires and stays silent, each
recording rule is evaluated), documented, and in step with the PSI definition of service/stability_bins.py."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from deploy.chart import CHART_DIR
from service.stability_bins import PSI_CRITICAL, PSI_EPSILON, PSI_MIN_RECORDS, PSI_WARNING
from tests.deploy.promtool import run_promtool

RULES_FILE = CHART_DIR / "rules" / "credit-scoring.rules.yaml"
RULE_TESTS = Path(__file__).parent / "promtool" / "credit-scoring-rules.test.yaml"
WINDOW_TESTS = Path(__file__).parent / "promtool" / "credit-scoring-stability-windows.test.yaml"
"""The stability rules over 1 d and 7 d, tested with 15-minute evaluation steps (see its header)."""
FAIRNESS_TESTS = Path(__file__).parent / "promtool" / "credit-scoring-fairness.test.yaml"
"""The fairness rules and the adverse-impact alert, over two days in 15-minute steps (see its header)."""
UNIT_TESTS = (RULE_TESTS, WINDOW_TESTS, FAIRNESS_TESTS)
VALUES_FILE = CHART_DIR / "values.yaml"
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
    "CreditScoringFeatureStabilityWarning",
    "CreditScoringFeatureStabilityCritical",
    "CreditScoringScoreStabilityWarning",
    "CreditScoringScoreStabilityCritical",
    "CreditScoringRealizedAucBelowHoldout",
    "CreditScoringPerformanceJobDown",
    "CreditScoringPerformanceStale",
    "CreditScoringAdverseImpact",
}

STABILITY_WINDOWS = ("1h", "1d", "7d")
"""Windows of the fleet PSI recording rules."""
FAIRNESS_WINDOWS = ("1h", "1d", "7d")
"""Windows of the fleet approval-rate and adverse-impact recording rules."""


def _rules() -> list[dict]:
    groups = yaml.safe_load(RULES_FILE.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def _alerts() -> list[dict]:
    return [rule for rule in _rules() if "alert" in rule]


def _recording_rules() -> dict[str, str]:
    return {rule["record"]: rule["expr"] for rule in _rules() if "record" in rule}


def test_promtool_check_rules() -> None:
    result = run_promtool("check", "rules", RULES_FILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass() -> None:
    result = run_promtool("test", "rules", *UNIT_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_recording_rule_is_evaluated_by_a_unit_test() -> None:
    tested = " ".join(
        case["expr"]
        for path in UNIT_TESTS
        for group in yaml.safe_load(path.read_text())["tests"]
        for case in group.get("promql_expr_test", [])
    )
    records = _recording_rules()
    assert len(records) == 6 * len(STABILITY_WINDOWS) + 3 * len(FAIRNESS_WINDOWS)
    assert [name for name in records if name not in tested] == []


def test_stability_rules_use_the_psi_definition_of_the_bins_module() -> None:
    """The floor, the minimum count and the alert bands are the Python constants, in every window."""
    records = _recording_rules()
    for window in STABILITY_WINDOWS:
        for kind, bins in (("stability", "feature, bin"), ("score", "band")):
            expr = " ".join(records[f"fleet:credit_scoring_{kind}_psi:{window}"].split())
            floors = re.findall(r", ([0-9][0-9.e+-]*)\)", expr)  # the second argument of each clamp_min
            assert len(floors) == 4 and {float(f) for f in floors} == {PSI_EPSILON}, expr
            assert expr.endswith(f") >= {PSI_MIN_RECORDS})"), expr
            assert f"by (namespace, job, binning, {bins})" in expr
            counted = "stability_records" if kind == "stability" else "score_band_records"
            assert f"_total[{window}]" in records[f"fleet:credit_scoring_{counted}:increase{window}"]
    thresholds = {
        a["alert"]: float(a["expr"].rsplit(">=", 1)[1]) for a in _alerts() if "Stability" in a["alert"]
    }
    assert thresholds == {
        "CreditScoringFeatureStabilityWarning": PSI_WARNING,
        "CreditScoringFeatureStabilityCritical": PSI_CRITICAL,
        "CreditScoringScoreStabilityWarning": PSI_WARNING,
        "CreditScoringScoreStabilityCritical": PSI_CRITICAL,
    }


def test_the_expected_alerts_exist() -> None:
    assert {a["alert"] for a in _alerts()} == EXPECTED_ALERTS


def test_every_alert_has_a_firing_and_a_silent_unit_test() -> None:
    fires: set[str] = set()
    silent: set[str] = set()
    for group in (g for path in UNIT_TESTS for g in yaml.safe_load(path.read_text())["tests"]):
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


def test_fairness_rules_use_the_minimum_count_and_level_of_the_chart_values() -> None:
    """Every window applies the minimum count where the chart substitutes it (">= N)"), the alert the level
    (") < L"), both equal to values.yaml's defaults; ratios are taken within an attribute of one bundle."""
    fairness = yaml.safe_load(VALUES_FILE.read_text())["metrics"]["prometheusRule"]["fairness"]
    records = _recording_rules()
    for window in FAIRNESS_WINDOWS:
        rate = " ".join(records[f"fleet:credit_scoring_fairness_approval_rate:{window}"].split())
        assert rate.count(">= ") == 1 and rate.endswith(f">= {fairness['minGroupDecisions']})"), rate
        ratio = " ".join(records[f"fleet:credit_scoring_fairness_adverse_impact_ratio:{window}"].split())
        assert "max by (namespace, job, binning, attribute)" in ratio
        decisions = records[f"fleet:credit_scoring_fairness_decisions:increase{window}"]
        assert f"credit_scoring_fairness_decisions_total[{window}]" in decisions
    (alert,) = [a for a in _alerts() if a["alert"] == "CreditScoringAdverseImpact"]
    assert " ".join(alert["expr"].split()).endswith(f") < {fairness['adverseImpactRatio']}")
