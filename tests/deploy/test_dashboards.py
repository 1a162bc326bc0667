"""The Grafana dashboards: valid JSON with the expected panels, and every query valid PromQL."""

from __future__ import annotations

import pytest
import yaml

from tests.deploy.chart_cases import rendered
from tests.deploy.dashboards import DASHBOARD_FILES, load, panels, queries
from tests.deploy.promtool import run_promtool

EXPECTED_PANELS = {
    "credit-scoring-latency.json": [
        "Requests per second",
        "Latency of /score (p50, p95, p99)",
        "Responses by status code",
        "Error share and rejected requests",
        "Requests in flight",
        "Replicas and HPA",
        "Decisions per second",
        "Refusal rate",
        "Probability of default distribution",
    ],
    "credit-scoring-drift.json": [
        "PSI by feature (last hour, all pods)",
        "Features by PSI (latest hour)",
        "Score PSI (last hour, all pods)",
        "Score bands: live share against development",
        "Adverse-impact ratio by group (last hour, all pods)",
        "Approval rate by group (last hour, all pods)",
        "Dataset drift",
        "Share of drifted features",
        "Per-feature drift score relative to threshold",
        "Drift score by feature (latest)",
        "Prediction drift",
        "Window fill",
        "Age of last computation and of the window",
        "Records ingested and malformed",
        "Ingest lag",
        "Payload records written and dropped",
        "Sidecar faults",
        "Checkpoint age",
        "Realized performance (accepted applicants with outcomes)",
        "About realized performance",
        "Realized AUC by model and decision month against the accepted applicants' holdout AUC",
        "Label-free estimated AUC beside realized AUC",
        "Bad rate by score band against predicted probability",
        "Outcomes received against accepted decisions",
        "Outcomes left out and age of the last performance computation",
    ],
}

REALIZED_ROW = "Realized performance (accepted applicants with outcomes)"
"""The drift dashboard's row of realized performance (issue 15)."""


def test_both_dashboards_ship() -> None:
    assert sorted(p.name for p in DASHBOARD_FILES) == sorted(EXPECTED_PANELS)


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_dashboard_has_expected_panels_and_unique_ids(path) -> None:
    dashboard = load(path)
    assert dashboard["uid"] and dashboard["title"]
    titles = [p["title"] for p in panels(dashboard)]
    for title in EXPECTED_PANELS[path.name]:
        assert title in titles
    ids = [p["id"] for p in panels(dashboard)]
    assert len(ids) == len(set(ids))
    for panel in panels(dashboard):
        if panel["type"] == "text":  # words only, no query
            assert panel["options"]["content"].strip() and panel["description"], panel["title"]
            assert "targets" not in panel, panel["title"]
        elif panel["type"] != "row":
            assert panel["targets"], panel["title"]
            assert panel["datasource"]["uid"] == "${datasource}"
            assert panel["description"], panel["title"]


def row_panels(dashboard: dict, title: str) -> list[dict]:
    """The panels laid out under the row ``title`` (up to the next row)."""
    ordered = sorted(dashboard["panels"], key=lambda p: (p["gridPos"]["y"], p["gridPos"]["x"]))
    start = next(i for i, p in enumerate(ordered) if p["type"] == "row" and p["title"] == title)
    end = next((i for i in range(start + 1, len(ordered)) if ordered[i]["type"] == "row"), len(ordered))
    return ordered[start + 1 : end]


def test_realized_performance_row_says_refused_applicants_never_get_an_outcome() -> None:
    """Issue 15: the row shows realized AUC against holdout, the label-free estimate, bad rate by band and
    outcomes against accepted decisions, and says in words that its figures are on accepted applicants."""
    (path,) = [p for p in DASHBOARD_FILES if p.name == "credit-scoring-drift.json"]
    row = row_panels(load(path), REALIZED_ROW)
    assert [p["title"] for p in row] == EXPECTED_PANELS[path.name][-6:]
    (text,) = [p for p in row if p["type"] == "text"]
    assert "Refused applicants never get an outcome" in text["options"]["content"]
    assert "accepted applicants only" in text["options"]["content"]
    read = {t["expr"] for p in row for t in p.get("targets", [])}
    for metric in (
        "credit_scoring_realized_auc",
        "credit_scoring_model_holdout_auc",
        "credit_scoring_model_holdout_accepted_auc",
        "credit_scoring_estimated_auc",
        "credit_scoring_realized_band_bad_rate",
        "credit_scoring_realized_outcomes",
        "credit_scoring_stored_decisions_accepted",
    ):
        assert any(metric + "{" in expr for expr in read), metric
    for panel in row:
        if panel["type"] != "text" and "left out" not in panel["title"]:
            assert "Refused applicants never get an outcome" in panel["description"], panel["title"]


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_every_dashboard_query_parses_in_promtool(path, tmp_path) -> None:
    """Each query becomes a recording rule; ``promtool check rules`` parses it with Prometheus's parser."""
    rules = [
        {"record": f"dashboard_query_{i}", "expr": expr} for i, (_, expr) in enumerate(queries(load(path)))
    ]
    rules_file = tmp_path / "queries.yaml"
    rules_file.write_text(yaml.safe_dump({"groups": [{"name": path.stem, "rules": rules}]}))
    result = run_promtool("check", "rules", rules_file)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout


def test_dashboards_ship_as_configmaps_with_the_same_json() -> None:
    configmaps = [c for c in rendered("defaults").find("ConfigMap") if "dashboard" in c["metadata"]["name"]]
    shipped = {key: value for c in configmaps for key, value in c["data"].items()}
    assert {p.name: p.read_text().rstrip("\n") for p in DASHBOARD_FILES} == {
        k: v.rstrip("\n") for k, v in shipped.items()
    }
