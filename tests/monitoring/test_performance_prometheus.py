"""The performance job's gauges scraped by a real Prometheus, and the realized-AUC alert's expression (from
the chart's rules file) evaluated on them.

Needs the ``prometheus`` binary (Debian package ``prometheus``); skipped with a reason when it is absent.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import yaml

from deploy.bento_server import free_port
from deploy.chart import CHART_DIR
from monitoring import store_schema as schema
from monitoring.outcome_store import load_outcomes
from monitoring.outcomes import read_csv
from monitoring.performance import compute
from tests.monitoring.processes import (
    REPO,
    prometheus_query,
    start_prometheus,
    stop,
    wait_until,
    write_prometheus_config,
)
from tests.monitoring.store_data import decision, model, seed

PROMETHEUS = shutil.which("prometheus")
ALERT = "CreditScoringRealizedAucBelowHoldout"

pytestmark = pytest.mark.skipif(
    PROMETHEUS is None, reason="prometheus binary not installed (Debian package `prometheus`)"
)


def alert_expression() -> str:
    groups = yaml.safe_load((CHART_DIR / "rules" / "credit-scoring.rules.yaml").read_text())["groups"]
    (rule,) = [r for g in groups for r in g["rules"] if r.get("alert") == ALERT]
    return rule["expr"]


def test_prometheus_reads_the_job_and_the_alert_selects_the_month_below_the_accepted_holdout_auc(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(4)
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    rows, lines = [], []
    for month, start, informative in (
        ("2026-03", datetime(2026, 3, 2), False),
        ("2026-04", datetime(2026, 4, 2), True),
    ):
        for i in range(600):
            p = float(rng.uniform(0.01, 0.99))
            rows.append(decision(f"{month}-{i}", p, scored_at=start + timedelta(minutes=i)))
            defaulted = rng.random() < (p if informative else 0.5)  # March: outcomes unrelated to the score
            lines.append(f"{month}-{i},{int(defaulted)},2026-09-01")
    # April is far below the whole holdout's 0.95 and must not fire: the baseline is the accepted 0.75
    seed(url, rows, [model(holdout_auc=0.95, holdout_accepted_auc=0.75)])
    load_outcomes(
        schema.open_engine(url), read_csv(("request_id,defaulted,observed_at\n" + "\n".join(lines)).encode())
    )
    months, _ = compute(schema.open_engine(url))
    realized = {m.decision_month: m.auc for m in months}
    assert realized["2026-03"] < 0.7 < realized["2026-04"] < 0.9  # March falls short of 0.75 by over 0.05
    job_port, prom_port = free_port(), free_port()
    with open(tmp_path / "job.log", "wb") as log:
        job = subprocess.Popen(
            [sys.executable, "-m", "monitoring", "performance", "--store-url", url, "--port", str(job_port),
             "--months", "1200", "--interval-seconds", "1",
             "--auc-alert-margin", "0.05", "--min-outcomes", "500"],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
    config = write_prometheus_config(tmp_path / "prometheus.yml", [job_port], job="performance")
    prometheus = start_prometheus(str(PROMETHEUS), config, tmp_path, prom_port)
    base = f"http://127.0.0.1:{prom_port}"
    try:
        wait_until(
            lambda: len(prometheus_query(base, "credit_scoring_realized_auc")) == 2, 60, "two months scraped"
        )
        by_month = {
            s["metric"]["decision_month"]: float(s["value"][1])
            for s in prometheus_query(base, "credit_scoring_realized_auc")
        }
        selected = prometheus_query(base, alert_expression())
    finally:
        stop(prometheus)
        stop(job)
    assert by_month == pytest.approx(realized)
    assert [s["metric"]["decision_month"] for s in selected] == ["2026-03"]
    assert float(selected[0]["value"][1]) == pytest.approx(0.75 - realized["2026-03"])
    assert selected[0]["metric"]["model_tag"] == "credit_scorer:v1"
