"""Bounded wait for a Deployment rollout: observedGeneration first, then updated, ready and available pods."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RolloutStatus:
    """One observation of the Deployment."""

    generation: int
    """metadata.generation: the spec version the controller must reach."""
    observed_generation: int
    """status.observedGeneration: the spec version the controller has acted on."""
    desired: int
    """spec.replicas."""
    updated: int
    """status.updatedReplicas: pods of the newest ReplicaSet."""
    ready: int
    """status.readyReplicas."""
    available: int
    """status.availableReplicas."""
    total: int
    """status.replicas, old pods included (above ``desired`` while old pods terminate)."""

    @property
    def complete(self) -> bool:
        """Whether the rollout is done; counts are only trusted once the controller saw the new generation."""
        if self.observed_generation < self.generation:
            return False
        return (
            self.updated >= self.desired
            and self.ready >= self.desired
            and self.available >= self.desired
            and (self.total <= self.updated)
        )

    def describe(self) -> str:
        """One line for logs."""
        return (
            f"generation {self.observed_generation}/{self.generation}, "
            f"updated {self.updated}/{self.desired}, ready {self.ready}/{self.desired}, "
            f"available {self.available}/{self.desired}, total {self.total}"
        )


@dataclass
class RolloutResult:
    """The outcome of :func:`wait_for_rollout`."""

    ok: bool
    """Whether the rollout completed before the deadline."""
    reason: str
    """Why it stopped (complete, timeout, deployment missing...)."""
    last: RolloutStatus | None = None
    """The last observation."""
    observations: int = 0
    """How many times the Deployment was read."""
    history: list[str] = field(default_factory=list)
    """Every distinct status line seen, in order."""


def read_status(apps: Any, name: str, namespace: str) -> RolloutStatus:
    """Read the Deployment's status once (``AppsV1Api``)."""
    deployment = apps.read_namespaced_deployment_status(name, namespace)
    status = deployment.status
    return RolloutStatus(
        generation=deployment.metadata.generation or 0,
        observed_generation=status.observed_generation or 0,
        desired=deployment.spec.replicas if deployment.spec.replicas is not None else 1,
        updated=status.updated_replicas or 0,
        ready=status.ready_replicas or 0,
        available=status.available_replicas or 0,
        total=status.replicas or 0,
    )


def wait_for_rollout(
    apps: Any,
    name: str,
    namespace: str,
    *,
    timeout_s: float = 300.0,
    poll_s: float = 2.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    log: Callable[[str], None] = print,
) -> RolloutResult:
    """Poll the Deployment until it is completely rolled out or ``timeout_s`` passes (never longer)."""
    from kubernetes.client.exceptions import ApiException

    deadline = clock() + timeout_s
    result = RolloutResult(ok=False, reason="timeout")
    while True:
        try:
            status = read_status(apps, name, namespace)
        except ApiException as exc:
            if exc.status != 404:
                raise
            result.reason = f"deployment {namespace}/{name} not found"
            status = None
        result.observations += 1
        if status is not None:
            result.last = status
            line = status.describe()
            if not result.history or result.history[-1] != line:
                result.history.append(line)
                log(f"rollout: {line}")
            if status.complete:
                result.ok, result.reason = True, "complete"
                return result
            result.reason = (
                "timeout: the controller has not observed the new generation"
                if status.observed_generation < status.generation
                else "timeout: pods not updated and ready"
            )
        if clock() >= deadline:
            return result
        sleep(min(poll_s, max(0.0, deadline - clock())))


def hpa_present(autoscaling: Any, name: str, namespace: str) -> tuple[bool, str]:
    """Whether the HPA exists and targets the Deployment (``AutoscalingV2Api``); with a reason."""
    from kubernetes.client.exceptions import ApiException

    try:
        hpa = autoscaling.read_namespaced_horizontal_pod_autoscaler(name, namespace)
    except ApiException as exc:
        if exc.status == 404:
            return False, f"horizontalpodautoscaler {namespace}/{name} not found"
        raise
    target = hpa.spec.scale_target_ref
    if target.kind != "Deployment" or target.name != name:
        return False, f"HPA targets {target.kind}/{target.name}, not Deployment/{name}"
    return True, f"HPA {hpa.spec.min_replicas}-{hpa.spec.max_replicas} replicas"
