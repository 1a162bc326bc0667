"""Fleet fairness end to end: two real sidecar processes count decisions per protected group, a real
Prometheus scrapes them and evaluates the chart's own rules file, and its approval rates and adverse-impact
ratios equal fairlearn's on the same records, with the groups under the minimum count left out.

Needs the ``prometheus`` binary (Debian package ``prometheus``); skipped with a reason when it is absent.
Both pods ingest the same records, so every series of the fleet gets the same ``increase()`` extrapolation
and the ratios are exact (see tests/monitoring/test_stability_prometheus.py for why that matters). The
minimum count is applied to the extrapolated counts (1.2 to 1.4 times the true ones for these young
series), so which groups are kept is read from Prometheus's own sums and checked against the true counts.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from deploy.bento_server import free_port
from deploy.chart import CHART_DIR
from service.applicant.groups import MONITORED
from service.bundle import Bundle
from tests.monitoring.fairness_records import fairlearn_numbers, with_groups
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
PODS = 2
RECORDS_PER_POD = 500
FEATURE_VECTORS_PER_POD = 60
MIN_GROUP_DECISIONS = yaml.safe_load((CHART_DIR / "values.yaml").read_text())["metrics"]["prometheusRule"][
    "fairness"
]["minGroupDecisions"]
"""The rules file's minimum count per group (the chart's default, checked by tests/deploy/test_rules.py)."""

pytestmark = pytest.mark.skipif(
    PROMETHEUS is None, reason="prometheus binary not installed (Debian package `prometheus`)"
)


def query(base: str, promql: str) -> list[dict]:
    """Result vector of an instant query (now)."""
    return prometheus_query(base, promql)


def total(base: str) -> float | None:
    """Decisions counted on CODE_GENDER by the whole fleet, as Prometheus last scraped them."""
    result = query(base, 'sum(credit_scoring_fairness_decisions_total{attribute="CODE_GENDER"})')
    return float(result[0]["value"][1]) if result else None


def test_fleet_ratios_from_prometheus_equal_fairlearns_on_the_same_records(
    tmp_path: Path, bundle_dir: Path, bundle: Bundle
) -> None:
    frame = generate_features(RECORDS_PER_POD, len(bundle.features), seed=31)
    records = with_groups(records_from_frame(frame, bundle), seed=31, feature_vectors=FEATURE_VECTORS_PER_POD)
    fleet_records = records * PODS
    spools = [tmp_path / f"spool-{i}" for i in range(PODS)]
    ports = [free_port() for _ in range(PODS)]
    sidecars, prometheus = [], None
    try:
        for i, (spool, port) in enumerate(zip(spools, ports, strict=True)):
            spool.mkdir()
            sidecars.append(start_sidecar(spool, bundle_dir, port, tmp_path / f"sidecar-{i}.log"))
        config = write_prometheus_config(tmp_path / "prometheus.yml", ports, rules_file=RULES_FILE)
        prom_port = free_port()
        prometheus = start_prometheus(str(PROMETHEUS), config, tmp_path, prom_port)
        base = f"http://127.0.0.1:{prom_port}"
        wait_until(
            lambda: len(query(base, "count by (instance) (credit_scoring_fairness_decisions_total)")) == PODS,
            90,
            "Prometheus to scrape both sidecars' counters",
        )
        assert total(base) == 0.0
        for spool in spools:
            writer = SpoolWriter(spool)
            writer.append(records)
            writer.close_segment()
        labelled = PODS * (RECORDS_PER_POD - FEATURE_VECTORS_PER_POD)
        wait_until(lambda: total(base) == labelled, 60, "both sidecars' counts in Prometheus")  # no vectors
        scraped = time.time()
        ratio_rule = "fleet:credit_scoring_fairness_adverse_impact_ratio:1h"

        def evaluated_after_scrape() -> bool:
            stamp = query(base, f"max(timestamp({ratio_rule}))")
            return bool(stamp) and float(stamp[0]["value"][1]) > scraped

        wait_until(evaluated_after_scrape, 30, "the ratios evaluated after that scrape")

        sizes = Counter((a.name, r["groups"][a.name]) for r in records if r["groups"] for a in MONITORED)
        # the fleet's sum decides: some group is under the minimum on each pod, not on the two together
        assert any(n < MIN_GROUP_DECISIONS <= PODS * n for n in sizes.values())
        counted = query(
            base, "sum without (decision) (fleet:credit_scoring_fairness_decisions:increase1h) >= 0"
        )
        kept = {
            (s["metric"]["attribute"], s["metric"]["group"])
            for s in counted
            if float(s["value"][1]) >= MIN_GROUP_DECISIONS
        }
        assert {key for key, n in sizes.items() if PODS * n >= MIN_GROUP_DECISIONS} <= kept
        assert all(PODS * sizes[key] * 1.5 >= MIN_GROUP_DECISIONS for key in kept)
        for attribute in MONITORED:
            groups = {group for name, group in kept if name == attribute.name}
            rates, ratios, parity = fairlearn_numbers(fleet_records, attribute.name, groups)
            selector = f'{{attribute="{attribute.name}"}}'
            got_rates = {
                s["metric"]["group"]: float(s["value"][1])
                for s in query(base, f"fleet:credit_scoring_fairness_approval_rate:1h{selector}")
            }
            got_ratios = {
                s["metric"]["group"]: float(s["value"][1]) for s in query(base, f"{ratio_rule}{selector}")
            }
            assert got_rates.keys() == rates.keys() == got_ratios.keys(), attribute.name
            for group, rate in rates.items():
                assert abs(got_rates[group] - rate) <= 1e-9, (attribute.name, group)
                assert abs(got_ratios[group] - ratios[group]) <= 1e-9, (attribute.name, group)
            assert abs(min(got_ratios.values()) - parity) <= 1e-9, attribute.name
        assert ("CODE_GENDER", "XNA") not in kept  # too few applicants for a rate, whatever their decisions
        (female,) = query(base, f'{ratio_rule}{{attribute="CODE_GENDER", group="F"}}')
        assert (
            female["metric"]["namespace"] == "test"
            and female["metric"]["binning"] == bundle.stability.fingerprint()
        )
        (male,) = query(base, f'{ratio_rule}{{attribute="CODE_GENDER", group="M"}}')
        # the records lean that way (fairness_records._LEANING): M is the most approved group
        assert float(female["value"][1]) < float(male["value"][1]) == 1.0
    finally:
        if prometheus is not None:
            stop(prometheus)
        for sidecar in sidecars:
            stop(sidecar)
