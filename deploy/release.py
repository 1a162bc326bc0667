"""``release``: gate, package, ``upgrade --install``, verify, and roll back when verification fails."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from deploy.helm_release import Releaser
from deploy.verify import VerifyOptions, VerifyReport


@dataclass
class ReleasePlan:
    """Everything ``release`` does, decided before it starts."""

    release: str
    """Helm release name."""
    namespace: str
    """Target namespace."""
    values: dict[str, Any]
    """User values for the chart (image reference included)."""
    verify: VerifyOptions
    """What verification checks."""
    helm_timeout_s: int = 300
    """Longest time Helm may take to apply the manifests."""
    gate_argv: list[str] | None = None
    """The load-test gate's command line (``deploy/gate.py``), which must exit 0 before anything is packaged
    or deployed; ``None`` releases without it (``--no-gate``)."""


@dataclass
class ReleaseOutcome:
    """What happened."""

    ok: bool
    """Whether the new revision is live and verified."""
    revision: int | None = None
    """Revision that ``upgrade --install`` created."""
    rolled_back_to: int | None = None
    """Revision restored after a failed verification (``None``: no rollback)."""
    messages: list[str] = field(default_factory=list)
    """Human-readable log of the steps."""


def release(
    plan: ReleasePlan,
    releaser: Releaser,
    run_verify: Callable[[VerifyOptions], VerifyReport],
    run_gate: Callable[[list[str]], int] | None = None,
    package: Callable[[], None] | None = None,
    log: Callable[[str], None] = print,
) -> ReleaseOutcome:
    """Gate, package, install or upgrade, verify; when verification fails, roll back to the previous revision.

    ``package`` (``bentoml containerize`` of the gated Bento) runs only once the gate has passed.
    """
    outcome = ReleaseOutcome(ok=False)

    def say(message: str) -> None:
        outcome.messages.append(message)
        log(message)

    if plan.gate_argv:
        code = run_gate(plan.gate_argv) if run_gate is not None else 1
        if code != 0:
            say(f"release gate failed (exit {code}): nothing packaged or deployed")
            return outcome
        say("release gate passed")
    if package is not None:
        try:
            package()
        except Exception as exc:
            say(f"packaging failed: {exc}; nothing deployed")
            return outcome
    previous: int | None
    try:
        previous = int(releaser.status(plan.release, plan.namespace).get("version") or 0) or None
    except Exception:  # no such release yet: a first install
        previous = None
    say(f"previous revision: {previous if previous is not None else 'none (first install)'}")
    try:
        outcome.revision = releaser.upgrade_install(
            plan.release, plan.namespace, plan.values, plan.helm_timeout_s
        )
    except Exception as exc:
        say(f"upgrade --install failed: {exc}")
        return _roll_back(plan, releaser, previous, outcome, say)
    say(f"applied revision {outcome.revision}")
    report = run_verify(plan.verify)
    if report.ok:
        outcome.ok = True
        say("verified: " + "; ".join(f"{name} ok" for name, _, _ in report.checks))
        return outcome
    say("verification failed: " + "; ".join(report.failures()))
    return _roll_back(plan, releaser, previous, outcome, say)


def _roll_back(
    plan: ReleasePlan,
    releaser: Releaser,
    previous: int | None,
    outcome: ReleaseOutcome,
    say: Callable[[str], None],
) -> ReleaseOutcome:
    if previous is None:
        say("no previous revision to roll back to; the failed first install is left for inspection")
        return outcome
    releaser.rollback(plan.release, plan.namespace, previous)
    outcome.rolled_back_to = previous
    say(f"rolled back to revision {previous}")
    return outcome
