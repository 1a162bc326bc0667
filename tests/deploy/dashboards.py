"""The Grafana dashboards shipped in the chart, and their PromQL made concrete for a plain Prometheus."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from deploy.chart import CHART_DIR

DASHBOARD_FILES = sorted((CHART_DIR / "dashboards").glob("*.json"))
"""Dashboard JSON files of the chart."""

GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$namespace": ".*", "${namespace}": ".*"}
"""What Grafana substitutes in the queries, with the values used when a test evaluates them."""

KUBE_STATE_METRICS_PREFIX = "kube_"
"""Queries on kube-state-metrics series only (HPA panels) return data only where kube-state-metrics runs."""


def load(path: Path) -> dict:
    """A dashboard as a dict."""
    return json.loads(path.read_text())


def panels(dashboard: dict) -> Iterator[dict]:
    """Every panel (rows included), descending into collapsed rows."""
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def queries(dashboard: dict) -> Iterator[tuple[str, str]]:
    """(panel title, PromQL with Grafana variables substituted) for every target of every panel."""
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            expr = target["expr"]
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            yield panel["title"], expr


def needs_kube_state_metrics(expr: str) -> bool:
    """Whether the query only reads kube-state-metrics series."""
    return KUBE_STATE_METRICS_PREFIX + "horizontalpodautoscaler" in expr
