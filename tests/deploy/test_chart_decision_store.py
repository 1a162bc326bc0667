"""The chart's decision store and performance job (docs/outcomes.md, "In a cluster"): the database URL
from an existing Secret, the job's Deployment, Service and ServiceMonitor, the NetworkPolicy rules, and the
realized-AUC alert evaluated by promtool on the labels the job's scrape gives its series. The objects are also
validated against the Kubernetes schemas and scanned by checkov through the ``08-decision-store`` case of
``chart_cases``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.chart import render
from tests.deploy.chart_cases import CASES, NAMESPACE, rendered, values_for
from tests.deploy.promtool import run_promtool

helm = pytest.importorskip("helm_python", reason="helm-python-sdk is not installed")

CASE = "08-decision-store"
"""The ci values file that enables the store (a Secret, database CIDR and peer, outcome sources)."""
URL_VARIABLE = "CREDIT_SCORING_MONITOR_DECISION_STORE_URL"
STORE = {"enabled": True, "existingSecret": "scoring-db", "database": {"cidrs": ["10.1.2.3/32"]}}
"""The least values that enable the store with the default NetworkPolicy."""
ALERT = "CreditScoringRealizedAucBelowHoldout"
"""The alert on the performance job's gauges (rules/credit-scoring.rules.yaml)."""


def _containers(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found = {}
    for deployment in (o for o in objects if o["kind"] == "Deployment"):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            found[container["name"]] = container
    return found


def _env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def _job_objects(case: str) -> list[dict[str, Any]]:
    return [o for o in rendered(case).objects if o["metadata"]["name"].endswith("-performance")]


@pytest.mark.parametrize("case", [c for c in CASES if c != CASE])
def test_store_off_keeps_none_and_renders_no_job(case: str) -> None:
    objects = rendered(case).objects
    assert _job_objects(case) == []
    settings = next(
        o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"].endswith("-settings")
    )
    if "drift-monitor" in _containers(objects):
        assert settings["data"][URL_VARIABLE] == "none"
    assert "secretKeyRef" not in rendered(case).to_yaml()


def test_enabled_the_url_comes_from_the_secret_on_the_sidecar_and_the_job_only() -> None:
    objects = rendered(CASE).objects
    containers = _containers(objects)
    reference = {"secretKeyRef": {"name": "credit-scoring-db", "key": "url"}}
    assert _env(containers["drift-monitor"])[URL_VARIABLE] == {"name": URL_VARIABLE, "valueFrom": reference}
    assert _env(containers["performance"])[URL_VARIABLE] == {"name": URL_VARIABLE, "valueFrom": reference}
    assert URL_VARIABLE not in _env(containers["scoring"])
    settings = rendered(CASE).find("ConfigMap", "-settings")[0]["data"]
    assert URL_VARIABLE not in settings  # "none" from envFrom would be a second, conflicting source
    other = render({"decisionStore": {**STORE, "secretKey": "dsn"}}).objects
    assert _env(_containers(other)["performance"])[URL_VARIABLE]["valueFrom"]["secretKeyRef"] == {
        "name": "scoring-db",
        "key": "dsn",
    }


@pytest.mark.parametrize(
    ("store", "message"),
    [
        ({"enabled": True}, "missing property 'existingSecret'"),
        ({"enabled": True, "existingSecret": ""}, "existingSecret"),
        ({"enabled": True, "existingSecret": "Scoring_DB"}, "existingSecret"),
        ({"enabled": True, "existingSecret": "db", "secretKey": "a/b"}, "secretKey"),
        ({"enabled": True, "existingSecret": "db", "url": "postgresql://u:secret@db/scoring"}, "url"),
        ({"enabled": False, "password": "secret"}, "password"),
        ({"enabled": True, "existingSecret": "db", "database": {"cidrs": ["10.1.2.3"]}}, "cidrs"),
        ({"enabled": True, "existingSecret": "db", "database": {"port": 0}}, "port"),
        ({"enabled": True, "existingSecret": "db", "performanceJob": {"months": 0}}, "months"),
    ],
    ids=[
        "enabled-without-secret",
        "empty-secret",
        "bad-secret-name",
        "bad-key",
        "url-in-values",
        "password-in-values",
        "cidr-without-prefix",
        "port-zero",
        "no-months",
    ],
)
def test_schema_refuses_store_values(store: dict[str, Any], message: str) -> None:
    with pytest.raises(helm.HelmValuesError, match=message):
        render({"decisionStore": store})


def test_enabled_without_the_sidecar_or_a_database_peer_is_refused_with_a_reason() -> None:
    with pytest.raises(helm.HelmRenderError, match=r"decisionStore\.enabled needs monitor\.enabled"):
        render({"decisionStore": STORE, "monitor": {"enabled": False}})
    no_database = {"enabled": True, "existingSecret": "scoring-db"}
    with pytest.raises(
        helm.HelmRenderError, match=r"needs decisionStore\.database\.cidrs or decisionStore\.database\.peers"
    ):
        render({"decisionStore": no_database})
    # without NetworkPolicies there is no egress rule to write, so no database address is needed
    objects = render({"decisionStore": no_database, "networkPolicy": {"enabled": False}}).objects
    assert {o["kind"] for o in objects if o["metadata"]["name"].endswith("-performance")} == {
        "Deployment",
        "Service",
        "ServiceMonitor",
    }


def test_the_job_is_one_pod_of_the_same_image_with_the_configured_settings() -> None:
    (job,) = [o for o in _job_objects(CASE) if o["kind"] == "Deployment"]
    assert job["spec"]["replicas"] == 1
    assert job["spec"]["strategy"] == {"type": "Recreate"}  # never two pods exporting the same series
    containers = _containers(rendered(CASE).objects)
    performance, sidecar = containers["performance"], containers["drift-monitor"]
    assert performance["image"] == sidecar["image"]
    assert performance["workingDir"] == sidecar["workingDir"]
    assert performance["command"] == ["python", "-m", "monitoring", "performance"]
    args = dict(a.removeprefix("--").split("=", 1) for a in performance["args"])
    assert args == {
        "host": "0.0.0.0",
        "port": "9110",
        "interval-seconds": "600",
        "months": "12",
        "auc-alert-margin": "0.03",
        "min-outcomes": "1000",
        "log-level": "INFO",
    }
    (port,) = performance["ports"]
    assert port["containerPort"] == 9110
    for probe in ("livenessProbe", "readinessProbe"):
        assert performance[probe]["httpGet"]["port"] == port["name"]
    assert performance["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert performance["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert {m["mountPath"] for m in performance["volumeMounts"]} == {"/tmp"}


def test_performance_job_off_keeps_the_store_and_drops_the_job() -> None:
    without_job = render({"decisionStore": {**STORE, "performanceJob": {"enabled": False}}})
    objects = without_job.objects
    assert [o for o in objects if o["metadata"]["name"].endswith("-performance")] == []
    assert "valueFrom" in _env(_containers(objects)["drift-monitor"])[URL_VARIABLE]
    assert "performance job is off" in without_job.notes


def test_notes_say_where_the_secret_and_the_job_are() -> None:
    notes = rendered(CASE).notes
    assert "Secret credit-scoring-db (key url)" in notes
    assert "port-forward svc/scoring-credit-scoring-performance 9110:9110" in notes
    assert "/outcomes" in notes
    assert "Decision store" not in rendered("defaults").notes


def test_the_job_servicemonitor_selects_the_job_service_and_the_scoring_one_does_not_scrape_it() -> None:
    objects = rendered(CASE).objects
    services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}
    monitors = {o["metadata"]["name"]: o for o in objects if o["kind"] == "ServiceMonitor"}
    pods = {
        o["metadata"]["name"]: o["spec"]["template"]["metadata"]["labels"]
        for o in objects
        if o["kind"] == "Deployment"
    }
    job_name = next(name for name in services if name.endswith("-performance"))
    scoring_name = next(name for name in services if name != job_name)

    def scraped(monitor: dict[str, Any]) -> set[tuple[str, str]]:
        """(Service, port) pairs the Prometheus Operator makes targets of."""
        selector = monitor["spec"]["selector"]["matchLabels"]
        wanted = {e["port"] for e in monitor["spec"]["endpoints"]}
        return {
            (name, port["name"])
            for name, service in services.items()
            if _selects(selector, service["metadata"]["labels"])
            for port in service["spec"]["ports"]
            if port["name"] in wanted
        }

    job_selector = monitors[job_name]["spec"]["selector"]["matchLabels"]
    assert [n for n, s in services.items() if _selects(job_selector, s["metadata"]["labels"])] == [job_name]
    assert scraped(monitors[job_name]) == {(job_name, "perf-metrics")}
    assert scraped(monitors[scoring_name]) == {(scoring_name, "http"), (scoring_name, "monitor-metrics")}
    # each Service sends traffic to its own pods only
    assert _selects(services[job_name]["spec"]["selector"], pods[job_name])
    assert not _selects(services[job_name]["spec"]["selector"], pods[scoring_name])
    assert not _selects(services[scoring_name]["spec"]["selector"], pods[job_name])
    (scoring_policy,) = [
        o for o in objects if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == scoring_name
    ]
    assert not _selects(scoring_policy["spec"]["podSelector"]["matchLabels"], pods[job_name])
    # nothing in the ServiceMonitor renames the job label the alert matches on
    monitor = monitors[job_name]
    assert "jobLabel" not in monitor["spec"]
    assert not any({"relabelings", "metricRelabelings"} & set(e) for e in monitor["spec"]["endpoints"])
    assert "ServiceMonitor" not in {
        o["kind"]
        for o in render({"decisionStore": STORE, "metrics": {"serviceMonitor": {"enabled": False}}}).objects
        if o["metadata"]["name"].endswith("-performance")
    }


def test_networkpolicies_open_the_database_and_outcomes_and_keep_prometheus() -> None:
    objects = rendered(CASE).objects
    policies = {o["metadata"]["name"]: o["spec"] for o in objects if o["kind"] == "NetworkPolicy"}
    job = next(spec for name, spec in policies.items() if name.endswith("-performance"))
    scoring = next(spec for name, spec in policies.items() if not name.endswith("-performance"))
    values = values_for(CASE)["decisionStore"]
    database_peers = [{"ipBlock": {"cidr": "10.20.0.15/32"}}, *values["database"]["peers"]]
    database_rule = {"ports": [{"port": 5432, "protocol": "TCP"}], "to": database_peers}
    monitoring = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    for spec, port in ((scoring, "monitor-metrics"), (job, "perf-metrics")):
        assert database_rule in spec["egress"]
        assert [p["port"] for rule in spec["egress"] for p in rule["ports"]] == [53, 53, 5432]
        sources = [r["from"] for r in spec["ingress"] if port in {p["port"] for p in r["ports"]}]
        assert [monitoring] in sources  # Prometheus still scrapes /metrics
        assert values["outcomesFrom"] in sources  # POST /outcomes from the configured sources
    assert len(job["ingress"]) == 2
    # a custom port; no outcome sources: only Prometheus reaches the sidecar's port
    custom = {**STORE, "database": {"cidrs": ["10.1.2.3/32"], "port": 6432}}
    spec = next(o["spec"] for o in render({"decisionStore": custom}).objects if o["kind"] == "NetworkPolicy")
    assert spec["egress"][-1] == {
        "ports": [{"port": 6432, "protocol": "TCP"}],
        "to": [{"ipBlock": {"cidr": "10.1.2.3/32"}}],
    }
    reaching_sidecar = [r for r in spec["ingress"] if "monitor-metrics" in {p["port"] for p in r["ports"]}]
    assert [r["from"] for r in reaching_sidecar] == [[monitoring]]


def test_realized_auc_alert_fires_on_the_labels_of_the_job_scrape(tmp_path: Path) -> None:
    """promtool evaluates the rendered PrometheusRule on series labelled as the Prometheus Operator labels a
    target of the job's ServiceMonitor: job = the Service's name (no jobLabel), namespace, service, endpoint
    (the port name), pod, container and instance."""
    objects = rendered(CASE).objects
    (monitor,) = [
        o for o in objects if o["kind"] == "ServiceMonitor" and o["metadata"]["name"].endswith("-performance")
    ]
    (service,) = [
        o for o in objects if o["kind"] == "Service" and o["metadata"]["name"].endswith("-performance")
    ]
    (job,) = [
        o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"].endswith("-performance")
    ]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    args = dict(a.removeprefix("--").split("=", 1) for a in container["args"])
    (endpoint,) = monitor["spec"]["endpoints"]
    target = {
        "namespace": NAMESPACE,
        "job": service["metadata"]["name"],
        "service": service["metadata"]["name"],
        "endpoint": endpoint["port"],
        "pod": f"{job['metadata']['name']}-7d9f8c6b5-x2k4q",
        "container": container["name"],
        "instance": f"10.244.1.7:{args['port']}",
    }

    def series(name: str, value: float, **labels: str) -> dict[str, str]:
        text = ", ".join(f'{k}="{v}"' for k, v in {**target, **labels}.items())
        return {"series": f"{name}{{{text}}}", "values": f"{value}x60"}

    tag, month = "credit_scorer:v2", "2026-09"
    margin, least = float(args["auc-alert-margin"]), int(args["min-outcomes"])
    (rule,) = rendered(CASE).find("PrometheusRule")
    rules_path = tmp_path / "rules.yaml"
    rules_path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    inputs = [
        series("credit_scoring_model_holdout_auc", 0.95, model_tag=tag),  # every applicant: not the baseline
        series("credit_scoring_model_holdout_accepted_auc", 0.8, model_tag=tag),
        series("credit_scoring_realized_auc", 0.8 - 2 * margin, model_tag=tag, decision_month=month),
        series("credit_scoring_realized_outcomes", least, model_tag=tag, decision_month=month),
        # a month within the margin and one with too few outcomes stay silent
        series("credit_scoring_realized_auc", 0.8 - margin / 2, model_tag=tag, decision_month="2026-08"),
        series("credit_scoring_realized_outcomes", least, model_tag=tag, decision_month="2026-08"),
        series("credit_scoring_realized_auc", 0.5, model_tag=tag, decision_month="2026-10"),
        series("credit_scoring_realized_outcomes", least - 1, model_tag=tag, decision_month="2026-10"),
        series("credit_scoring_performance_auc_alert_margin", margin),
        series("credit_scoring_performance_min_outcomes", least),
    ]
    expected = {**target, "model_tag": tag, "decision_month": month, "severity": "warning"}
    (alert,) = [r for g in rule["spec"]["groups"] for r in g["rules"] if r.get("alert") == ALERT]
    annotations = {}
    for key, text in alert["annotations"].items():
        for label, value in expected.items():
            text = text.replace(f"{{{{ $labels.{label} }}}}", value)
        annotations[key] = text.replace('{{ printf "%.3f" $value }}', f"{2 * margin:.3f}")
    assert "{{" not in str(annotations)
    tests = {
        "rule_files": [str(rules_path)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": inputs,
                "alert_rule_test": [
                    {
                        "eval_time": "45m",
                        "alertname": ALERT,
                        "exp_alerts": [{"exp_labels": expected, "exp_annotations": annotations}],
                    }
                ],
            }
        ],
    }
    tests_path = tmp_path / "tests.yaml"
    tests_path.write_text(yaml.safe_dump(tests))
    result = run_promtool("test", "rules", tests_path)
    assert result.returncode == 0, result.stdout + result.stderr
