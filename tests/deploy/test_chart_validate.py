"""Rendered objects checked against the Kubernetes 1.29-1.32 schemas and the Prometheus Operator CRDs;
``values.schema.json`` checked to be strict."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path

import pytest

from tests.deploy.chart_cases import CASES, rendered

kubernetes_validate = pytest.importorskip(
    "kubernetes_validate", reason="kubernetes-validate is not installed"
)
helm = pytest.importorskip("helm_python", reason="helm-python-sdk is not installed")
jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is not installed")

KUBE_VERSIONS = ["1.29.0", "1.30.0", "1.31.0", "1.32.0"]
"""Kubernetes versions the chart supports."""

CRD_DIR = Path(__file__).parent / "crds"
CRD_SCHEMAS = {"ServiceMonitor": "servicemonitor-v1.json", "PrometheusRule": "prometheusrule-v1.json"}
"""Kinds validated against an embedded CRD schema instead of the Kubernetes ones."""


def _close(schema: dict) -> dict:
    """Reject unknown fields like the API server's strict field validation: close every object schema."""
    if isinstance(schema, dict):
        closable = schema.get("type") == "object" and "properties" in schema
        keeps_unknown = "additionalProperties" in schema or schema.get("x-kubernetes-preserve-unknown-fields")
        if closable and not keeps_unknown:
            schema["additionalProperties"] = False
        for value in schema.values():
            if isinstance(value, dict):
                _close(value)
            elif isinstance(value, list):
                for item in value:
                    _close(item)
    return schema


@cache
def _crd_validator(kind: str) -> jsonschema.Draft7Validator:
    schema = json.loads((CRD_DIR / CRD_SCHEMAS[kind]).read_text())
    schema.pop("$comment", None)
    return jsonschema.Draft7Validator(_close(schema))


@pytest.mark.parametrize("version", KUBE_VERSIONS)
@pytest.mark.parametrize("case", CASES)
def test_objects_valid_for_kubernetes_strict(case: str, version: str) -> None:
    for obj in rendered(case).objects:
        if obj["kind"] in CRD_SCHEMAS:
            continue
        kubernetes_validate.validate(obj, version, strict=True)


@pytest.mark.parametrize("case", CASES)
def test_monitoring_objects_valid_against_crd_schemas(case: str) -> None:
    for obj in rendered(case).objects:
        if obj["kind"] in CRD_SCHEMAS:
            errors = [e.message for e in _crd_validator(obj["kind"]).iter_errors(obj)]
            assert errors == [], f"{obj['kind']}: {errors}"


def test_crd_validation_rejects_an_unknown_field() -> None:
    (monitor,) = rendered("defaults").find("ServiceMonitor")
    broken = copy.deepcopy(monitor)
    broken["spec"]["endpoints"][0]["scrapeIntervall"] = "30s"
    assert list(_crd_validator("ServiceMonitor").iter_errors(broken))


def test_kubernetes_validation_rejects_an_unknown_field() -> None:
    (deployment,) = rendered("defaults").find("Deployment")
    broken = copy.deepcopy(deployment)
    broken["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, "1.30.0", strict=True)


def test_schema_is_closed_at_every_level_the_chart_owns() -> None:
    from deploy.chart import CHART_DIR

    schema = json.loads((CHART_DIR / "values.schema.json").read_text())
    open_objects: list[str] = []

    def walk(node: dict, path: str) -> None:
        if node.get("type") == "object" and "properties" in node:
            if node.get("additionalProperties") is not False:
                open_objects.append(path)
            for key, child in node["properties"].items():
                walk(child, f"{path}.{key}")

    walk(schema, "")
    assert open_objects == []


@pytest.mark.parametrize(
    "values",
    [
        {"replicaCont": 3},
        {"autoscaling": {"maxReplica": 4}},
        {"monitor": {"settings": {"windowRecord": 10}}},
        {"image": {"pullPolicy": "Sometimes"}},
        {"image": {"digest": "sha256:short"}},
        {"scoring": {"settings": {"workers": 0}}},
    ],
    ids=["top-level-typo", "nested-typo", "deep-typo", "bad-enum", "bad-digest", "below-minimum"],
)
def test_schema_rejects_misspelt_or_invalid_values(values: dict) -> None:
    from deploy.chart import render

    with pytest.raises(helm.HelmValuesError):
        render(values)


def test_every_value_in_values_yaml_is_documented() -> None:
    """Every key has a comment right above it, or sits under a key that has one."""
    from deploy.chart import CHART_DIR

    stack: list[tuple[int, bool]] = []
    undocumented = []
    previous = ""
    for line in (CHART_DIR / "values.yaml").read_text().splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        indent = len(line) - len(line.lstrip())
        if stripped.startswith("#"):
            previous = stripped
            continue
        while stack and stack[-1][0] >= indent:
            stack.pop()
        is_key = ":" in stripped and not stripped.startswith("-")
        if is_key:
            documented = previous.startswith("#") or (bool(stack) and stack[-1][1])
            if not documented:
                undocumented.append(stripped)
            stack.append((indent, documented))
        previous = stripped
    assert undocumented == []
