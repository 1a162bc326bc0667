"""Fleet PSI end to end: three real sidecar processes count their records per frozen bin, a real Prometheus
scrapes them and evaluates the chart's own rules file, and its PSI equals the Python PSI of the same records,
over each of the rules' windows (1 h, 1 d and 7 d: the rules file is loaded with its groups' evaluation
intervals of 5 and 15 minutes lifted, so that the long windows are evaluated every second like the hour;
the expressions are the chart's, unchanged).

Needs the ``prometheus`` binary (Debian package ``prometheus``); skipped with a reason when it is absent.

Every pod ingests the same records. ``increase()`` extrapolates each pod's counters by a factor of its own
(1 plus at most about two scrape intervals over the time its samples span in the window; 1.2 to 1.4 for the
young series here), so the fleet's bin shares weight the pods by their counts times their factors; on pods
with different distributions the PSI then differs from the exact one by far more than 1e-9. Within a pod
every bin gets the same factor, so with equal distributions per pod the shares are exact. That the pods add
up is shown by the minimum-count guard: one pod's records are fewer than ``PSI_MIN_RECORDS``, the fleet's
are not. The promtool tests check the sums on pods with different counts, where all series share their
timestamps and the sums are exact.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from deploy.bento_server import free_port
from deploy.chart import CHART_DIR
from service.bundle import Bundle
from service.stability_bins import PSI_MIN_RECORDS, psi
from tests.monitoring.processes import (
    prometheus_query,
    start_prometheus,
    start_sidecar,
    stop,
    wait_until,
    write_prometheus_config,
)
from tests.monitoring.synthetic import SpoolWriter, generate_features, records_from_frame

PROMETHEUS = shutil.which("prometheus")
RULES_FILE = CHART_DIR / "rules" / "credit-scoring.rules.yaml"
WINDOWS = ("1h", "1d", "7d")
"""The PSI windows of the chart's recording rules."""
PODS = 3
RECORDS_PER_POD = 400
"""Fewer than PSI_MIN_RECORDS: only the fleet's sum passes the rules' guard."""

pytestmark = pytest.mark.skipif(
    PROMETHEUS is None, reason="prometheus binary not installed (Debian package `prometheus`)"
)


class Fleet:
    """The sidecars' spools and the Prometheus scraping the sidecars."""

    def __init__(self, spools: list[Path], base: str) -> None:
        self.spools = spools
        self.base = base

    def query(self, promql: str) -> list[dict]:
        """Result vector of an instant query (now)."""
        return prometheus_query(self.base, promql)

    def value(self, promql: str) -> float | None:
        """The single value of an instant query, or ``None`` for an empty result."""
        result = self.query(promql)
        assert len(result) <= 1, result
        return float(result[0]["value"][1]) if result else None

    def evaluated_after(self, record: str, moment: float) -> bool:
        """Whether the recording rule ``record`` (which must have a result) was evaluated after ``moment``."""
        stamp = self.value(f"max(timestamp({record}))")
        return stamp is not None and stamp > moment


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory, bundle_dir: Path):
    """Three sidecars on empty spools and a Prometheus (1 s scrapes and rule evaluations, the chart's rules),
    which has scraped every sidecar's zero counters before the fixture returns."""
    tmp_path = tmp_path_factory.mktemp("stability-prometheus")
    spools = [tmp_path / f"spool-{i}" for i in range(PODS)]
    ports = [free_port() for _ in range(PODS)]
    sidecars = []
    prometheus = None
    try:
        for i, (spool, port) in enumerate(zip(spools, ports, strict=True)):
            spool.mkdir()
            sidecars.append(start_sidecar(spool, bundle_dir, port, tmp_path / f"sidecar-{i}.log"))
        config = write_prometheus_config(
            tmp_path / "prometheus.yml", ports, rules_file=every_second_rules(tmp_path)
        )
        prom_port = free_port()
        prometheus = start_prometheus(str(PROMETHEUS), config, tmp_path, prom_port)
        fleet = Fleet(spools, f"http://127.0.0.1:{prom_port}")
        wait_until(
            lambda: len(fleet.query("count by (instance) (credit_scoring_score_band_records_total)")) == PODS,
            90,
            "Prometheus to scrape the three sidecars' counters",
        )
        assert fleet.value("sum(credit_scoring_score_band_records_total)") == 0
        yield fleet
    finally:
        if prometheus is not None:
            stop(prometheus)
        for sidecar in sidecars:
            stop(sidecar)


def every_second_rules(folder: Path) -> Path:
    """The chart's rules file with every group evaluated at the global (1 s) interval, written to ``folder``;
    nothing else differs."""
    rules = yaml.safe_load(RULES_FILE.read_text())
    lifted = {"groups": [{k: v for k, v in group.items() if k != "interval"} for group in rules["groups"]]}
    assert [g["rules"] for g in lifted["groups"]] == [g["rules"] for g in rules["groups"]]
    assert any("interval" in group for group in rules["groups"])  # the long windows' groups have one
    path = folder / "credit-scoring.rules.yaml"
    path.write_text(yaml.safe_dump(lifted, sort_keys=False))
    return path


def drifted_records(bundle: Bundle) -> list[dict]:
    """Applicants of which some features moved: one shifted, one scaled, one half missing."""
    frame = generate_features(RECORDS_PER_POD, len(bundle.features), seed=21)
    frame["normal_0"] += 1.0
    frame["amount_1"] *= 1.5
    frame.loc[: RECORDS_PER_POD // 2, "count_3"] = np.nan
    return records_from_frame(frame, bundle)


def python_psi(bundle: Bundle, records: list[dict]) -> tuple[dict[str, float], float]:
    """PSI of every feature and of the score bands, computed here on the records' values."""
    bins = bundle.stability
    assert bins is not None
    features = {}
    for feature in bins.features:
        values = np.array([np.nan if (v := r["features"][feature.name]) is None else v for r in records])
        features[feature.name] = psi(
            np.bincount(feature.assign(values), minlength=feature.n_bins), feature.expected
        )
    probabilities = np.array([r["probability"] for r in records])
    bands = np.bincount(bins.score.assign(probabilities), minlength=len(bins.score.expected))
    return features, psi(bands, bins.score.expected)


def test_fleet_psi_from_prometheus_equals_the_python_psi_of_the_same_records(
    fleet: Fleet, bundle: Bundle
) -> None:
    records = drifted_records(bundle)
    writer = SpoolWriter(fleet.spools[0])
    writer.append(records)
    writer.close_segment()
    wait_until(
        lambda: fleet.value("sum(credit_scoring_score_band_records_total)") == RECORDS_PER_POD,
        60,
        "the first sidecar's counts in Prometheus",
    )
    scraped = time.time()
    record = "fleet:credit_scoring_score_band_records:increase1h"
    wait_until(lambda: fleet.evaluated_after(record, scraped), 30, "a rule evaluation after that scrape")
    assert RECORDS_PER_POD <= fleet.value(f"sum({record})") < PSI_MIN_RECORDS
    for window in WINDOWS:  # one pod: under the guard
        assert fleet.query(f"fleet:credit_scoring_stability_psi:{window}") == []
        assert fleet.query(f"fleet:credit_scoring_score_psi:{window}") == []

    for spool in fleet.spools[1:]:
        writer = SpoolWriter(spool)
        writer.append(records)
        writer.close_segment()
    wait_until(
        lambda: fleet.value("sum(credit_scoring_score_band_records_total)") == PODS * RECORDS_PER_POD,
        60,
        "the three sidecars' counts in Prometheus",
    )
    scraped = time.time()
    for window in WINDOWS:
        wait_until(
            lambda window=window: fleet.evaluated_after(f"fleet:credit_scoring_score_psi:{window}", scraped),
            30,
            f"the fleet's {window} PSI evaluated after that scrape",
        )
    per_pod = fleet.query("sum by (instance) (increase(credit_scoring_score_band_records_total[1h]))")
    assert len(per_pod) == PODS and all(float(s["value"][1]) < PSI_MIN_RECORDS for s in per_pod)

    want_features, want_score = python_psi(bundle, records)
    for window in WINDOWS:
        got = {
            s["metric"]["feature"]: float(s["value"][1])
            for s in fleet.query(f"fleet:credit_scoring_stability_psi:{window}")
        }
        assert set(got) == set(bundle.feature_names), window
        for name, value in want_features.items():
            assert abs(got[name] - value) <= 1e-9, (window, name, got[name], value)
        (score,) = fleet.query(f"fleet:credit_scoring_score_psi:{window}")
        assert score["metric"]["binning"] == bundle.stability.fingerprint()
        assert score["metric"]["namespace"] == "test" and score["metric"]["job"] == "credit-scoring"
        assert abs(float(score["value"][1]) - want_score) <= 1e-9, window
    # the shifted, scaled and half-missing features are past the critical band, the others under the warning
    assert min(got["normal_0"], got["amount_1"], got["count_3"]) > 0.25
    assert max(v for k, v in got.items() if k not in ("normal_0", "amount_1", "count_3")) < 0.10


def test_the_stability_metrics_have_help_text_and_counter_types(fleet: Fleet) -> None:
    wait_until(lambda: fleet.query("credit_scoring_stability_expected_share"), 30, "a scrape")
    metadata = prometheus_metadata(fleet.base)
    types = {
        "credit_scoring_stability_records_total": "counter",
        "credit_scoring_score_band_records_total": "counter",
        "credit_scoring_stability_expected_share": "gauge",
        "credit_scoring_score_band_expected_share": "gauge",
    }
    for name, kind in types.items():
        entries = metadata.get(name) or metadata.get(name.removesuffix("_total"))
        assert entries, name
        assert entries[0]["type"] == kind and entries[0]["help"], name


def prometheus_metadata(base: str) -> dict:
    """Prometheus's metric metadata (type, help) by name."""
    import httpx

    return httpx.get(f"{base}/api/v1/metadata", timeout=5).json()["data"]
