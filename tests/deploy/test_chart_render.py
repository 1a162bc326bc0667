"""The chart rendered by Helm's real engine: what each variant must and must not contain."""

from __future__ import annotations

import pytest
import yaml

from deploy.chart import CHART_DIR, lint, render
from tests.deploy.chart_cases import CASES, CI_VALUES, rendered, values_for

pytest.importorskip("helm_python", reason="helm-python-sdk is not installed")


def rules_file() -> dict:
    """The chart's alert rules file, as written."""
    return yaml.safe_load((CHART_DIR / "rules" / "credit-scoring.rules.yaml").read_text())


def _deployment(case: str) -> dict:
    (deployment,) = rendered(case).find("Deployment")
    return deployment


def _containers(case: str) -> dict[str, dict]:
    spec = _deployment(case)["spec"]["template"]["spec"]
    return {c["name"]: c for c in spec["containers"] + spec.get("initContainers", [])}


def test_at_least_six_ci_variants_exist() -> None:
    assert len(CI_VALUES) >= 6


@pytest.mark.parametrize("case", CASES)
def test_lint_strict_passes(case: str) -> None:
    assert lint(values_for(case)) == []


@pytest.mark.parametrize("case", CASES)
def test_every_object_carries_the_release_labels(case: str) -> None:
    for obj in rendered(case).objects:
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/instance"] == "scoring", obj["kind"]
        assert labels["app.kubernetes.io/managed-by"] == "Helm", obj["kind"]


def test_defaults_render_the_full_set_of_objects() -> None:
    kinds = sorted(o["kind"] for o in rendered("defaults").objects)
    for kind in (
        "ConfigMap",
        "Deployment",
        "HorizontalPodAutoscaler",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "PrometheusRule",
        "Service",
        "ServiceAccount",
        "ServiceMonitor",
        "Pod",
    ):
        assert kind in kinds
    dashboards = [o for o in rendered("defaults").find("ConfigMap") if "dashboard" in o["metadata"]["name"]]
    assert len(dashboards) == 2
    assert all(d["metadata"]["labels"]["grafana_dashboard"] == "1" for d in dashboards)


def test_pod_runs_scoring_and_drift_sidecar_sharing_the_spool() -> None:
    containers = _containers("defaults")
    scoring, monitor = containers["scoring"], containers["drift-monitor"]
    spool = {m["mountPath"] for m in scoring["volumeMounts"] if m["name"] == "spool"}
    assert spool == {m["mountPath"] for m in monitor["volumeMounts"] if m["name"] == "spool"}
    settings = rendered("defaults").find("ConfigMap", "-settings")[0]["data"]
    assert settings["CREDIT_SCORING_SPOOL_DIR"] == settings["CREDIT_SCORING_MONITOR_SPOOL_DIR"] == spool.pop()
    assert settings["CREDIT_SCORING_MONITOR_HOST"] == "0.0.0.0"
    # no decision store unless decisionStore.enabled: a SQLite file would outgrow the state emptyDir
    assert settings["CREDIT_SCORING_MONITOR_DECISION_STORE_URL"] == "none"
    assert monitor["command"][:4] == ["python", "-m", "monitoring", "serve"]
    volumes = {v["name"]: v for v in _deployment("defaults")["spec"]["template"]["spec"]["volumes"]}
    assert "emptyDir" in volumes["spool"]


def test_probes_prestop_and_grace_protect_rolling_updates() -> None:
    containers = _containers("defaults")
    scoring = containers["scoring"]
    assert scoring["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert scoring["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert "startupProbe" in scoring
    assert containers["drift-monitor"]["livenessProbe"]["httpGet"]["port"] == "monitor-metrics"
    sleep = int(scoring["lifecycle"]["preStop"]["exec"]["command"][1])
    pod = _deployment("defaults")["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] > sleep
    strategy = _deployment("defaults")["spec"]["strategy"]["rollingUpdate"]
    assert strategy["maxUnavailable"] == 0
    graceful = int(scoring["args"][scoring["args"].index("--timeout-graceful-shutdown") + 1])
    # the sidecar keeps ingesting until the scoring container has drained, then has time to checkpoint
    sidecar_sleep = int(containers["drift-monitor"]["lifecycle"]["preStop"]["exec"]["command"][1])
    assert sleep + graceful < sidecar_sleep < pod["terminationGracePeriodSeconds"] - 3


def test_a_graceful_shutdown_longer_than_the_grace_period_is_refused() -> None:
    from helm_python import HelmRenderError

    with pytest.raises(HelmRenderError, match="terminationGracePeriodSeconds must exceed"):
        render(
            {
                "terminationGracePeriodSeconds": 35,
                "preStopSleepSeconds": 10,
                "scoring": {"gracefulShutdownSeconds": 20},
            }
        )
    args = ["--port", "3000"]
    (deployment,) = render({"scoring": {"args": args}}).find("Deployment")
    (scoring,) = [c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "scoring"]
    assert scoring["args"] == args  # explicit arguments replace the default


@pytest.mark.parametrize("case", CASES)
def test_restricted_pod_security_everywhere(case: str) -> None:
    pods = [o["spec"]["template"]["spec"] for o in rendered(case).find("Deployment")]
    pods += [o["spec"] for o in rendered(case).find("Pod")]
    for pod in pods:
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"] + pod.get("initContainers", []):
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True
            assert sc["allowPrivilegeEscalation"] is False
            assert sc["capabilities"]["drop"] == ["ALL"]
            assert "limits" in container["resources"] and "requests" in container["resources"]


def test_writable_paths_of_bentoml_are_emptydirs() -> None:
    containers = _containers("defaults")
    for name in ("scoring", "drift-monitor"):
        mounts = {m["mountPath"] for m in containers[name]["volumeMounts"]}
        env = {e["name"]: e.get("value") for e in containers[name]["env"]}
        assert "/tmp" in mounts
        assert env["BENTOML_HOME"] in mounts


def test_settings_change_rolls_the_pods() -> None:
    def checksum(values: dict) -> str:
        from deploy.chart import render

        (deployment,) = render(values).find("Deployment")
        return deployment["spec"]["template"]["metadata"]["annotations"]["checksum/settings"]

    assert checksum({}) != checksum({"monitor": {"settings": {"windowRecords": 2000}}})


def test_autoscaling_off_sets_replicas_and_drops_the_hpa() -> None:
    assert rendered("01-autoscaling-off").find("HorizontalPodAutoscaler") == []
    assert _deployment("01-autoscaling-off")["spec"]["replicas"] == 3
    assert "replicas" not in _deployment("defaults")["spec"]


def test_custom_metrics_hpa_has_cpu_and_pods_metric_and_behavior() -> None:
    (hpa,) = rendered("02-autoscaling-custom-metrics").find("HorizontalPodAutoscaler")
    types = {m["type"]: m for m in hpa["spec"]["metrics"]}
    assert types["Resource"]["resource"]["target"]["averageUtilization"] == 60
    assert types["Pods"]["pods"]["metric"]["name"] == "credit_scoring_http_requests_in_progress"
    assert types["Pods"]["pods"]["target"] == {"type": "AverageValue", "averageValue": "8"}
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 600
    assert hpa["apiVersion"] == "autoscaling/v2"


def test_monitoring_crds_off_drops_servicemonitor_and_rule() -> None:
    kinds = {o["kind"] for o in rendered("03-monitoring-crds-off").objects}
    assert not kinds & {"ServiceMonitor", "PrometheusRule"}


def test_networkpolicy_off_and_default_policy_shape() -> None:
    assert rendered("04-networkpolicy-off").find("NetworkPolicy") == []
    (policy,) = rendered("defaults").find("NetworkPolicy")
    egress = policy["spec"]["egress"]
    assert [p["port"] for rule in egress for p in rule["ports"]] == [53, 53]
    metrics_rule = policy["spec"]["ingress"][1]
    assert {p["port"] for p in metrics_rule["ports"]} == {"http", "monitor-metrics"}
    assert "namespaceSelector" in metrics_rule["from"][0]


def test_digest_image_is_pinned_by_digest() -> None:
    for container in _containers("05-digest-image").values():
        assert container["image"].startswith("registry.example.com/risk/credit-scoring@sha256:")
        assert "ignored" not in container["image"]


def test_extra_labels_reach_every_object_and_the_alerts() -> None:
    case = "06-extra-labels"
    for obj in rendered(case).objects:
        assert obj["metadata"]["labels"]["team"] == "risk", obj["kind"]
        assert obj["metadata"]["annotations"]["owner"] == "risk-platform@example.com", obj["kind"]
    (rule,) = rendered(case).find("PrometheusRule")
    alerts = [r for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r]
    assert all(a["labels"]["team"] == "risk" and a["labels"]["severity"] for a in alerts)
    assert all(a["annotations"]["runbook_url"].startswith("https://runbooks.example.com/") for a in alerts)


def test_recording_rules_and_group_intervals_are_rendered_as_written() -> None:
    (rule,) = rendered("06-extra-labels").find("PrometheusRule")
    in_file = {g["name"]: g for g in rules_file()["groups"]}
    assert [g["name"] for g in rule["spec"]["groups"]] == list(in_file)
    recorded = 0
    for group in rule["spec"]["groups"]:
        assert group.get("interval") == in_file[group["name"]].get("interval"), group["name"]
        written = [r for r in in_file[group["name"]]["rules"] if "record" in r]
        assert [r for r in group["rules"] if "record" in r] == written  # no alert labels on recorded series
        recorded += len(written)
    assert recorded >= 18


def test_alert_for_replaces_the_for_of_the_named_alerts_only() -> None:
    case = "06-extra-labels"
    (rule,) = rendered(case).find("PrometheusRule")
    rendered_for = {r["alert"]: r["for"] for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r}
    file_for = {r["alert"]: r["for"] for g in rules_file()["groups"] for r in g["rules"] if "alert" in r}
    wanted = values_for(case)["metrics"]["prometheusRule"]["alertFor"]
    assert wanted and set(wanted) < set(file_for)
    assert rendered_for == {**file_for, **wanted}


def test_alert_for_refuses_an_unknown_alert_and_a_bad_duration() -> None:
    from helm_python import HelmRenderError, HelmValuesError

    with pytest.raises(HelmRenderError, match="CreditScoringDatasetDrfit is not an alert"):
        render({"metrics": {"prometheusRule": {"alertFor": {"CreditScoringDatasetDrfit": "1m"}}}})
    with pytest.raises(HelmValuesError, match="alertFor"):
        render({"metrics": {"prometheusRule": {"alertFor": {"CreditScoringDatasetDrift": "soon"}}}})


def test_fairness_values_replace_the_minimum_count_and_the_level_in_the_fairness_rules_only() -> None:
    from helm_python import HelmValuesError

    values = {"fairness": {"minGroupDecisions": 250, "adverseImpactRatio": 0.75}}
    (rule,) = render({"metrics": {"prometheusRule": values}}).find("PrometheusRule")
    in_file = {g["name"]: g["rules"] for g in rules_file()["groups"]}
    changed = []
    for group in rule["spec"]["groups"]:
        for got, written in zip(group["rules"], in_file[group["name"]], strict=True):
            want = written["expr"]
            if group["name"].startswith("credit-scoring.fairness"):
                want = want.replace(">= 100)", ">= 250)").replace(") < 0.8", ") < 0.75")
            assert got["expr"] == want, (group["name"], got.get("record") or got.get("alert"))
            if want != written["expr"]:
                changed.append(got.get("record") or got["alert"])
    assert sorted(changed) == [
        "CreditScoringAdverseImpact",
        "fleet:credit_scoring_fairness_approval_rate:1d",
        "fleet:credit_scoring_fairness_approval_rate:1h",
        "fleet:credit_scoring_fairness_approval_rate:7d",
    ]
    for wrong in (
        {"minGroupDecisions": 0, "adverseImpactRatio": 0.8},
        {"minGroupDecisions": 5, "adverseImpactRatio": 1.5},
    ):
        with pytest.raises(HelmValuesError, match="fairness"):
            render({"metrics": {"prometheusRule": {"fairness": wrong}}})


def test_sidecar_off_keeps_a_single_container() -> None:
    assert set(_containers("07-sidecar-off-minimal")) == {"scoring"}
    (service,) = rendered("07-sidecar-off-minimal").find("Service")
    assert [p["name"] for p in service["spec"]["ports"]] == ["http"]


def test_helm_test_pod_posts_to_score() -> None:
    (pod,) = rendered("defaults").find("Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    env = {e["name"]: e["value"] for e in pod["spec"]["containers"][0]["env"]}
    assert env["SCORE_URL"].endswith(":3000/score")


def test_notes_explain_how_to_reach_the_service() -> None:
    notes = rendered("defaults").notes
    assert "/score" in notes and "deploy verify" in notes
    assert "/report" in notes and "port-forward deploy/" in notes
