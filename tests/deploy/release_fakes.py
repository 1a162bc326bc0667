"""Fakes for ``deploy release`` tests: Helm, a clock, a healthy cluster, and a release run against them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from deploy.kube import api_client_for_host
from deploy.release import ReleaseOutcome, ReleasePlan, release
from deploy.verify import VerifyOptions, verify
from tests.deploy.fake_apiserver import FakeCluster, deployment, fake_apiserver, hpa

NAME, NS = "prod-credit-scoring", "risk"
"""The Deployment (the chart's fullname of release ``prod``) and namespace the fakes serve."""


class FakeClock:
    """Monotonic time that only moves when the code under test sleeps (no real waiting)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def healthy_cluster(**status: Any) -> FakeCluster:
    """A cluster whose Deployment is rolled out and has its HPA."""
    return FakeCluster(
        deployment_states=[deployment(NAME, NS, generation=3, observed=3, **status)],
        hpas={NAME: hpa(NAME, NS, NAME)},
    )


@dataclass
class FakeHelm:
    """Records Helm calls; ``installed`` is the current revision (0: no release)."""

    installed: int = 4
    fail_upgrade: bool = False
    calls: list[tuple[str, Any]] = field(default_factory=list)

    def status(self, release_name: str, namespace: str) -> dict[str, Any]:
        self.calls.append(("status", release_name))
        if not self.installed:
            raise LookupError("release: not found")
        return {"version": self.installed}

    def upgrade_install(self, release_name: str, namespace: str, values: dict, timeout_s: int) -> int:
        self.calls.append(("upgrade_install", values))
        if self.fail_upgrade:
            raise RuntimeError("an object was rejected")
        self.installed += 1
        return self.installed

    def rollback(self, release_name: str, namespace: str, revision: int | None) -> None:
        self.calls.append(("rollback", revision))


def run_release(
    cluster: FakeCluster,
    helm: FakeHelm,
    gate_argv: list[str] | None = None,
    run_gate: Callable[[list[str]], int] | None = None,
    package: Callable[[], None] | None = None,
) -> ReleaseOutcome:
    """``release`` of image ``r:2`` as ``prod`` in ``risk``, verified against ``cluster`` served by the fake
    API server, with the given gate command and runner and packaging step."""
    clock = FakeClock()
    plan = ReleasePlan(
        release="prod",
        namespace=NS,
        values={"image": {"repository": "r", "tag": "2"}},
        verify=VerifyOptions(name=NAME, namespace=NS, timeout_s=30, poll_s=2),
        gate_argv=gate_argv,
    )
    with fake_apiserver(cluster) as url:
        client = api_client_for_host(url)
        return release(
            plan,
            helm,
            run_verify=lambda o: verify(client, o, sleep=clock.sleep, clock=clock.time, log=lambda _: None),
            run_gate=run_gate,
            package=package,
            log=lambda _: None,
        )
