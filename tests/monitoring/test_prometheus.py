"""The sidecar's metrics scraped by a real Prometheus server and read back with PromQL.

Needs the ``prometheus`` binary (Debian package ``prometheus``); skipped with a reason when it is absent.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from deploy.bento_server import free_port
from service.bundle import Bundle
from tests.monitoring.processes import (
    start_prometheus,
    start_sidecar,
    stop,
    wait_ready,
    wait_until,
    write_prometheus_config,
)
from tests.monitoring.synthetic import SpoolWriter, generate_features, records_from_frame

PROMETHEUS = shutil.which("prometheus")
N_RECORDS = 1_500

pytestmark = pytest.mark.skipif(
    PROMETHEUS is None, reason="prometheus binary not installed (Debian package `prometheus`)"
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, bundle_dir: Path, bundle: Bundle):
    """A sidecar reading a spool where ``normal_0`` drifted, and a Prometheus scraping it every second."""
    tmp_path = tmp_path_factory.mktemp("prometheus")
    frame = generate_features(N_RECORDS, len(bundle.features), seed=11)
    frame["normal_0"] = frame["normal_0"] + 1.0
    frame.loc[: N_RECORDS // 2, "count_3"] = np.nan
    writer = SpoolWriter(tmp_path / "spool")
    writer.append(records_from_frame(frame, bundle))
    writer.append_bytes(b"not a record")
    writer.close_segment()
    sidecar_port, prom_port = free_port(), free_port()
    sidecar = start_sidecar(tmp_path / "spool", bundle_dir, sidecar_port, tmp_path / "sidecar.log")
    config = write_prometheus_config(tmp_path / "prometheus.yml", [sidecar_port], job="drift-sidecar")
    prometheus = start_prometheus(str(PROMETHEUS), config, tmp_path, prom_port)
    try:
        wait_ready(sidecar_port, sidecar)
        yield f"http://127.0.0.1:{prom_port}"
    finally:
        stop(prometheus)
        stop(sidecar)


def query(base: str, promql: str) -> list[dict]:
    response = httpx.get(f"{base}/api/v1/query", params={"query": promql}, timeout=5)
    response.raise_for_status()
    return response.json()["data"]["result"]


def scalar(base: str, promql: str) -> float | None:
    result = query(base, promql)
    return float(result[0]["value"][1]) if result else None


def test_prometheus_scrapes_drift_metrics_with_expected_values(stack: str) -> None:
    base = stack
    wait_until(
        lambda: scalar(base, "credit_scoring_drift_window_records") == N_RECORDS, 60, "a drift computation"
    )
    assert scalar(base, 'up{job="drift-sidecar"}') == 1
    assert scalar(base, "credit_scoring_drift_records_ingested_total") == N_RECORDS
    assert scalar(base, 'credit_scoring_drift_records_malformed_total{reason="truncated"}') == 1
    drifted = query(base, "credit_scoring_drift_feature_drifted == 1")
    assert {s["metric"]["feature"] for s in drifted} >= {"normal_0", "count_3"}
    assert {s["metric"]["method"] for s in drifted if s["metric"]["feature"] == "normal_0"} == {"wasserstein"}
    assert len(query(base, "credit_scoring_drift_feature_score")) == 12
    assert scalar(base, 'credit_scoring_drift_feature_missing_ratio{feature="count_3"}') == pytest.approx(
        (N_RECORDS // 2 + 1) / N_RECORDS
    )
    assert scalar(base, "credit_scoring_drift_prediction_drifted") == 1
    assert 0 < scalar(base, "credit_scoring_drift_drifted_features_ratio") < 0.5
    assert scalar(base, "credit_scoring_drift_dataset_drifted") == 0
    assert scalar(base, "credit_scoring_drift_insufficient_data") == 0
    assert scalar(base, "credit_scoring_drift_stale") == 0
    assert 0 <= scalar(base, "credit_scoring_drift_refusal_ratio") <= 1
    assert scalar(base, "credit_scoring_drift_window_age_seconds") > 0
    assert scalar(base, "time() - credit_scoring_drift_last_success_timestamp_seconds") < 120
    assert scalar(base, "credit_scoring_drift_computation_duration_seconds_count") >= 1
    assert (
        scalar(base, "histogram_quantile(0.5, credit_scoring_drift_computation_duration_seconds_bucket)") > 0
    )
    assert scalar(base, "credit_scoring_drift_ingest_lag_bytes") == 0


def test_every_metric_has_help_text_and_no_colon(stack: str) -> None:
    base = stack
    wait_until(lambda: scalar(base, "credit_scoring_drift_window_records") is not None, 60, "a scrape")
    time.sleep(1.5)
    metadata = httpx.get(f"{base}/api/v1/metadata", timeout=5).json()["data"]
    ours = {name: entries for name, entries in metadata.items() if name.startswith("credit_scoring_drift_")}
    assert len(ours) >= 25
    for name, entries in ours.items():
        assert ":" not in name
        assert all(e["help"] for e in entries), name
        if entries[0]["type"] == "counter":
            assert name.endswith("_total"), name
