"""Render the Helm chart offline with Helm's own engine (``helm-python-sdk``), as ``helm template`` would."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CHART_DIR = Path(__file__).resolve().parents[1] / "helm" / "credit-scoring"
"""The chart in this repository."""


@dataclass(frozen=True)
class Rendered:
    """The result of rendering the chart once."""

    manifests: dict[str, str]
    """Template path -> rendered text, as Helm returns it (NOTES.txt included)."""
    values: dict[str, Any]
    """The user-supplied values the chart was rendered with (before defaults are merged)."""

    @property
    def objects(self) -> list[dict[str, Any]]:
        """Every Kubernetes object of the manifests (NOTES.txt and empty documents left out)."""
        found: list[dict[str, Any]] = []
        for path, text in sorted(self.manifests.items()):
            if path.endswith("NOTES.txt"):
                continue
            found.extend(doc for doc in yaml.safe_load_all(text) if doc)
        return found

    @property
    def notes(self) -> str:
        """The rendered NOTES.txt."""
        return next((text for path, text in self.manifests.items() if path.endswith("NOTES.txt")), "")

    def find(self, kind: str, name_suffix: str = "") -> list[dict[str, Any]]:
        """Objects of ``kind`` whose name ends with ``name_suffix``."""
        return [o for o in self.objects if o["kind"] == kind and o["metadata"]["name"].endswith(name_suffix)]

    def to_yaml(self) -> str:
        """All objects as one multi-document YAML stream, like ``helm template`` prints."""
        return yaml.safe_dump_all(self.objects, sort_keys=False)


def deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into a copy of ``base``: nested dicts merge, everything else is replaced."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_values(files: Iterable[Path] = (), sets: Iterable[str] = ()) -> dict[str, Any]:
    """User values from ``-f`` files (later files win) then ``--set`` expressions, parsed the Helm way."""
    import helm_python as helm

    values: dict[str, Any] = {}
    for path in files:
        values = deep_merge(values, helm.values_from_yaml(Path(path).read_text()))
    for expression in sets:
        values = deep_merge(values, helm.parse_set_string(expression))
    return values


def render(
    values: Mapping[str, Any] | None = None,
    *,
    release: str = "credit-scoring",
    namespace: str = "default",
    chart_dir: Path = CHART_DIR,
) -> Rendered:
    """Validate ``values`` against the chart's schema and render every template.

    Raises ``helm_python.HelmValuesError`` when the values break ``values.schema.json`` and
    ``helm_python.HelmRenderError`` when a template fails (including the chart's own ``fail`` checks).
    """
    import helm_python as helm

    user = json.loads(json.dumps(dict(values or {})))
    with helm.Chart.load(chart_dir) as chart:
        chart.validate_schema(chart.merge_values(user))
        manifests = chart.render(user, name=release, namespace=namespace, is_install=True)
    return Rendered(manifests=manifests, values=user)


def lint(values: Mapping[str, Any] | None = None, *, kube_version: str = "v1.30.0") -> list[dict[str, Any]]:
    """``helm lint --strict`` messages of warning severity or worse (an empty list means the chart passed)."""
    import helm_python as helm

    report = helm.lint(
        CHART_DIR, dict(values or {}), strict=True, namespace="credit-scoring", kube_version=kube_version
    )
    problems = [m for m in report.get("messages", []) if m.get("severity", 0) >= 2]
    problems.extend({"severity": 3, "path": "", "error": e} for e in report.get("errors", []) or [])
    return problems
