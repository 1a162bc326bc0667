"""Helpers of the gate tests: SLO file variants and running the gate as a command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from deploy.bento_server import REPO_ROOT
from loadtests.slo import DEFAULT_SLO_PATH

CI_LATENCY_SLACK = 3.0
"""Factor applied to the SLO's latency limits in the pass-path tests.

The suite shares two cores with the rest of CI, where a p99 of a few hundred milliseconds is scheduler noise,
not the service; the error and throughput limits are kept as they are. The release gate itself always uses
``loadtests/slo.yaml`` unchanged.
"""


def write_slo(path: Path, *, latency_factor: float = CI_LATENCY_SLACK, overrides: dict | None = None) -> Path:
    """A copy of ``loadtests/slo.yaml`` with latency limits scaled and some limits replaced; returns ``path``.

    ``overrides`` maps a scenario name to the limits to replace, e.g. ``{"/score single": {"p99_ms": 0.01}}``.
    """
    raw = yaml.safe_load(DEFAULT_SLO_PATH.read_text())
    for limits in raw["scenarios"].values():
        for key in ("p95_ms", "p99_ms"):
            if limits.get(key) is not None:
                limits[key] = limits[key] * latency_factor
    for name, limits in (overrides or {}).items():
        raw["scenarios"][name].update(limits)
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def run_gate(
    args: list[str], env: dict[str, str], timeout_s: float = 150
) -> subprocess.CompletedProcess[str]:
    """``python -m loadtests.gate ARGS`` as a separate process (as SREs and ``deploy release`` run it)."""
    return subprocess.run(
        [sys.executable, "-m", "loadtests.gate", *args],
        cwd=REPO_ROOT,
        env={**os.environ, **env, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
