"""The deploy tooling against an in-process fake of the Kubernetes API (``fake_apiserver``) and fake Helm."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from deploy.__main__ import build_parser, fullname, main
from deploy.gate import NothingToGateError, gate_argv
from deploy.kube import api_client_for_host
from deploy.verify import VerifyOptions, verify
from tests.deploy.fake_apiserver import FakeCluster, deployment, fake_apiserver, hpa
from tests.deploy.release_fakes import NAME, NS, FakeClock, FakeHelm, healthy_cluster, run_release

pytest.importorskip("kubernetes", reason="the kubernetes client is not installed")


def _verify(cluster: FakeCluster, clock: FakeClock, **options: Any):
    with fake_apiserver(cluster) as url:
        client = api_client_for_host(url)
        opts = VerifyOptions(name=NAME, namespace=NS, timeout_s=30, poll_s=2, **options)
        return verify(client, opts, sleep=clock.sleep, clock=clock.time, log=lambda _: None)


def test_rollout_success_checks_hpa_and_smoke_posts_to_score_via_service_proxy() -> None:
    cluster = FakeCluster(
        deployment_states=[
            deployment(NAME, NS, generation=3, observed=3, updated=1, ready=1, available=1, total=3),
            deployment(NAME, NS, generation=3, observed=3, updated=2, ready=2, available=2, total=3),
            deployment(NAME, NS, generation=3, observed=3),
        ],
        hpas={NAME: hpa(NAME, NS, NAME)},
    )
    report = _verify(cluster, FakeClock())
    assert report.ok, report.failures()
    assert [name for name, _, _ in report.checks] == ["rollout", "hpa", "smoke /score"]
    assert cluster.deployment_reads == 3
    posts = [(path, body) for method, path, body in cluster.requests if method == "POST"]
    assert posts == [
        (
            f"/api/v1/namespaces/{NS}/services/{NAME}:3000/proxy/score",
            {"id": "deploy-smoke-test", "features": {}},
        )
    ]


def test_rollout_times_out_within_its_bound() -> None:
    cluster = FakeCluster(
        deployment_states=[
            deployment(NAME, NS, generation=2, observed=2, updated=1, ready=0, available=0, total=3)
        ]
    )
    clock = FakeClock()
    report = _verify(cluster, clock)
    assert not report.ok
    assert "timeout: pods not updated and ready" in report.failures()[0]
    assert clock.now <= 30 + 2
    assert not any(method == "POST" for method, _, _ in cluster.requests)


def test_counts_are_not_trusted_before_observed_generation_catches_up() -> None:
    # The status shows every pod ready, but for the previous generation: not done yet.
    stale = deployment(NAME, NS, generation=5, observed=4)
    cluster = FakeCluster(deployment_states=[stale, stale, deployment(NAME, NS, generation=5, observed=5)])
    cluster.hpas = {NAME: hpa(NAME, NS, NAME)}
    report = _verify(cluster, FakeClock())
    assert report.ok
    assert cluster.deployment_reads == 3


def test_observed_generation_that_never_catches_up_is_reported() -> None:
    cluster = FakeCluster(deployment_states=[deployment(NAME, NS, generation=5, observed=4)])
    report = _verify(cluster, FakeClock())
    assert not report.ok
    assert "has not observed the new generation" in report.failures()[0]


def test_missing_hpa_fails_unless_autoscaling_is_off() -> None:
    cluster = healthy_cluster()
    cluster.hpas = {}
    report = _verify(cluster, FakeClock())
    assert [name for name, passed, _ in report.checks if not passed] == ["hpa"]
    assert _verify(cluster, FakeClock(), expect_hpa=False).ok


@pytest.mark.parametrize(
    ("status", "answer"),
    [
        (503, {"error": "not ready"}),
        (200, {"probability": 1.7, "decision": "accept"}),
        (200, {"probability": 0.1}),
    ],
    ids=["http-503", "probability-out-of-range", "no-decision"],
)
def test_bad_smoke_answers_fail_verification(status: int, answer: dict) -> None:
    cluster = healthy_cluster()
    cluster.score_status, cluster.score_answer = status, answer
    report = _verify(cluster, FakeClock())
    assert [name for name, passed, _ in report.checks if not passed] == ["smoke /score"]


def test_release_success_does_not_roll_back() -> None:
    helm = FakeHelm()
    outcome = run_release(healthy_cluster(), helm)
    assert outcome.ok and outcome.revision == 5 and outcome.rolled_back_to is None
    assert "rollback" not in [name for name, _ in helm.calls]


def test_failed_smoke_test_rolls_back_to_the_previous_revision() -> None:
    cluster = healthy_cluster()
    cluster.score_status, cluster.score_answer = 500, {"error": "boom"}
    helm = FakeHelm(installed=4)
    outcome = run_release(cluster, helm)
    assert not outcome.ok
    assert ("rollback", 4) in helm.calls
    assert outcome.rolled_back_to == 4


def test_failed_rollout_rolls_back() -> None:
    cluster = FakeCluster(
        deployment_states=[deployment(NAME, NS, generation=2, observed=2, ready=0, available=0)]
    )
    helm = FakeHelm(installed=7)
    outcome = run_release(cluster, helm)
    assert not outcome.ok and outcome.rolled_back_to == 7


def test_failed_first_install_has_nothing_to_roll_back_to() -> None:
    cluster = healthy_cluster()
    cluster.score_status = 500
    helm = FakeHelm(installed=0)
    outcome = run_release(cluster, helm)
    assert not outcome.ok and outcome.rolled_back_to is None
    assert "rollback" not in [name for name, _ in helm.calls]


def test_failed_gate_packages_and_deploys_nothing() -> None:
    helm, gated, packaged = FakeHelm(), [], []
    outcome = run_release(
        healthy_cluster(),
        helm,
        gate_argv=["gate", "--bento", "credit_scoring:new"],
        run_gate=lambda argv: gated.append(argv) or 3,
        package=lambda: packaged.append(True),
    )
    assert not outcome.ok
    assert gated == [["gate", "--bento", "credit_scoring:new"]]
    assert packaged == [] and helm.calls == []
    assert "release gate failed (exit 3): nothing packaged or deployed" in outcome.messages


def test_passed_gate_is_followed_by_packaging_then_the_upgrade() -> None:
    helm, steps = FakeHelm(), []
    outcome = run_release(
        healthy_cluster(),
        helm,
        gate_argv=["gate"],
        run_gate=lambda argv: steps.append("gate") or 0,
        package=lambda: steps.append(f"package, {len(helm.calls)} helm calls before"),
    )
    assert outcome.ok, outcome.messages
    assert steps == ["gate", "package, 0 helm calls before"]
    assert [name for name, _ in helm.calls] == ["status", "upgrade_install"]


def test_failed_packaging_deploys_nothing() -> None:
    helm = FakeHelm()

    def package() -> None:
        raise RuntimeError("docker build failed")

    outcome = run_release(healthy_cluster(), helm, gate_argv=None, package=package)
    assert not outcome.ok and helm.calls == []
    assert "packaging failed: docker build failed; nothing deployed" in outcome.messages


def test_gate_command_targets_the_new_release() -> None:
    bento = gate_argv("credit_scoring:abc", extra=["--run-time", "60"], results=None)
    assert bento[:3] == [sys.executable, "-m", "loadtests.gate"]
    assert bento[3:] == ["--bento", "credit_scoring:abc", "--run-time", "60"]
    url = gate_argv("credit_scoring:abc", url="https://staging.example", results=None)
    assert url[3:] == ["--url", "https://staging.example", "--allow-remote"]
    with pytest.raises(NothingToGateError, match="--bento TAG"):
        gate_argv(None, url=None)


def test_release_of_a_prebuilt_image_without_bento_or_gate_url_stops_before_the_cluster(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["release", "--skip-build", "--image", "r:2", "--kubeconfig", "/nonexistent/kubeconfig"])
    assert code == 2
    assert "nothing to load-test: pass --bento TAG" in capsys.readouterr().err


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ([], ["render"], ["release"], ["verify"], ["status"]):
        with pytest.raises(SystemExit) as exit_info:
            build_parser().parse_args([*command, "--help"])
        assert exit_info.value.code == 0
    assert "--gate-url" in capsys.readouterr().out


def test_render_command_writes_the_manifests(tmp_path) -> None:
    pytest.importorskip("helm_python", reason="helm-python-sdk is not installed")
    out = tmp_path / "rendered.yaml"
    assert (
        main(["render", "--release", "prod", "-n", NS, "--set", "autoscaling.enabled=false", "-o", str(out)])
        == 0
    )
    text = out.read_text()
    assert f"name: {NAME}" in text and "HorizontalPodAutoscaler" not in text


def test_render_command_refuses_bad_values_with_the_reason(
    tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("helm_python", reason="helm-python-sdk is not installed")
    out = tmp_path / "rendered.yaml"
    assert main(["render", "--set", "decisionStore.enabled=true", "-o", str(out)]) == 2
    assert "missing property 'existingSecret'" in capsys.readouterr().err
    assert not out.exists()
    store = ["--set", "decisionStore.enabled=true", "--set", "decisionStore.existingSecret=db"]
    assert main(["render", *store, "-o", str(out)]) == 2
    assert "needs decisionStore.database.cidrs" in capsys.readouterr().err


def test_fullname_matches_the_chart_helper() -> None:
    assert fullname("prod") == NAME
    assert fullname("credit-scoring") == "credit-scoring"
