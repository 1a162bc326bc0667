"""``verify``: the rollout completed, the HPA exists, and ``/score`` answers through the service proxy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from deploy.rollout import hpa_present, wait_for_rollout
from deploy.smoke import DEFAULT_BODY, smoke_score


@dataclass(frozen=True)
class VerifyOptions:
    """What ``verify`` checks and how long it may take."""

    name: str
    """Name of the Deployment, Service and HPA (the chart's fullname)."""
    namespace: str
    """Namespace of the release."""
    port: int = 3000
    """Service port of the API."""
    timeout_s: float = 300.0
    """Longest wait for the rollout."""
    poll_s: float = 2.0
    """Pause between two reads of the Deployment."""
    expect_hpa: bool = True
    """Whether an HPA must exist (false when the chart runs with autoscaling off)."""
    smoke_body: str = DEFAULT_BODY
    """JSON posted to ``/score``."""


@dataclass
class VerifyReport:
    """Outcome of every check, in order."""

    ok: bool = True
    """Whether every check passed."""
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    """(check name, passed, detail)."""

    def add(self, check: str, passed: bool, detail: str) -> None:
        """Record one check."""
        self.checks.append((check, passed, detail))
        self.ok = self.ok and passed

    def failures(self) -> list[str]:
        """The failed checks as ``name: detail`` lines."""
        return [f"{name}: {detail}" for name, passed, detail in self.checks if not passed]


def verify(
    api_client: Any,
    options: VerifyOptions,
    *,
    log: Callable[[str], None] = print,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] | None = None,
) -> VerifyReport:
    """Run the checks; stops after a failed rollout (the other checks would only add noise)."""
    from kubernetes import client

    report = VerifyReport()
    extra: dict[str, Any] = {}
    if sleep is not None:
        extra["sleep"] = sleep
    if clock is not None:
        extra["clock"] = clock
    rollout = wait_for_rollout(
        client.AppsV1Api(api_client),
        options.name,
        options.namespace,
        timeout_s=options.timeout_s,
        poll_s=options.poll_s,
        log=log,
        **extra,
    )
    report.add("rollout", rollout.ok, rollout.reason if rollout.last is None else rollout.last.describe())
    if not rollout.ok:
        report.checks[-1] = ("rollout", False, f"{rollout.reason} ({report.checks[-1][2]})")
        return report
    if options.expect_hpa:
        present, detail = hpa_present(client.AutoscalingV2Api(api_client), options.name, options.namespace)
        report.add("hpa", present, detail)
    smoke = smoke_score(api_client, options.name, options.namespace, options.port, options.smoke_body)
    report.add("smoke /score", smoke.ok, f"HTTP {smoke.status}: {smoke.detail}")
    for name, passed, detail in report.checks:
        log(f"verify: {name}: {'ok' if passed else 'FAILED'} - {detail}")
    return report
