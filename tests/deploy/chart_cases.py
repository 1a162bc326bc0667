"""Chart variants the tests run on: the defaults plus each ``helm/credit-scoring/ci/*-values.yaml``."""

from __future__ import annotations

from functools import cache

from deploy.chart import CHART_DIR, Rendered, load_values, render

CI_VALUES = sorted((CHART_DIR / "ci").glob("*-values.yaml"))
"""The chart-testing variants shipped with the chart."""

CASES = ["defaults", *(p.name.removesuffix("-values.yaml") for p in CI_VALUES)]
"""Case ids: ``defaults`` and one per ci values file (e.g. ``01-autoscaling-off``)."""

RELEASE = "scoring"
"""Release name the tests render with."""

NAMESPACE = "credit-scoring"
"""Namespace the tests render into."""


def values_for(case: str) -> dict:
    """The user values of a case (empty for the defaults)."""
    if case == "defaults":
        return {}
    return load_values([CHART_DIR / "ci" / f"{case}-values.yaml"])


@cache
def rendered(case: str) -> Rendered:
    """The chart rendered by Helm's engine for ``case`` (cached: rendering is deterministic)."""
    return render(values_for(case), release=RELEASE, namespace=NAMESPACE)
