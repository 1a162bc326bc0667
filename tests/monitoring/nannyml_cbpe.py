"""NannyML's CBPE on simulated months, run in NannyML's own virtualenv as a subprocess (its pins conflict with
the project's): where that venv is, why it may be missing, and the estimates it gives."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.monitoring.label_free_months import SimulatedMonths
from tests.monitoring.processes import REPO

NANNYML_VENV = REPO / ".venv" / "tools" / "nannyml"
"""NannyML's virtualenv, built by ``scripts/nannyml-venv.sh`` (called by ``scripts/test.sh``)."""

UNAVAILABLE = REPO / ".venv" / "tools" / "nannyml.unavailable"
"""Where ``scripts/nannyml-venv.sh`` leaves its reason when it could not build the venv."""

RUNNER = Path(__file__).with_name("nannyml_cbpe_run.py")
"""The script that NannyML's Python runs."""


@dataclass(frozen=True)
class CbpeEstimates:
    """NannyML's estimates of each month's ROC AUC."""

    version: str
    """NannyML's version, as it reports it."""
    calibrates: bool
    """Whether NannyML chose to calibrate the scores on the reference (its default isotonic calibration)."""
    calibrated: np.ndarray
    """Each month's estimate as NannyML runs by default."""
    uncalibrated: np.ndarray
    """Each month's estimate with NannyML's calibration off."""


def nannyml_unavailable() -> str | None:
    """Why NannyML's venv cannot be used here, or None when it was built completely."""
    if (NANNYML_VENV / ".installed").is_file():
        return None
    if UNAVAILABLE.is_file():
        return UNAVAILABLE.read_text().strip()
    return f"NannyML's venv {NANNYML_VENV} is not built: run bash scripts/nannyml-venv.sh"


def cbpe_estimates(months: SimulatedMonths, timeout_s: float = 300.0) -> CbpeEstimates:
    """NannyML's CBPE fitted on the months' labelled reference, then run on each month's scores alone."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    # NannyML sends usage events to an analytics service unless this variable exists (the runner sets it too)
    env["NML_DISABLE_USAGE_LOGGING"] = "1"
    with tempfile.TemporaryDirectory(prefix="nannyml-cbpe-") as tmp:
        archive = Path(tmp) / "months.npz"
        np.savez(
            archive,
            reference_scores=months.reference_scores,
            reference_defaulted=months.reference_defaulted,
            scores=months.scores,
        )
        run = subprocess.run(
            [str(NANNYML_VENV / "bin" / "python"), str(RUNNER), str(archive)],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout_s,
            check=False,
        )
    if run.returncode != 0:
        raise RuntimeError(f"NannyML's CBPE failed (exit {run.returncode}):\n{run.stderr[-3000:]}")
    result = json.loads(run.stdout)
    estimates = CbpeEstimates(
        version=result["nannyml"],
        calibrates=result["calibrates"],
        calibrated=np.array(result["calibrated"]),
        uncalibrated=np.array(result["uncalibrated"]),
    )
    count = len(months.scores)
    if not len(estimates.calibrated) == len(estimates.uncalibrated) == count:
        raise RuntimeError(f"NannyML gave {len(estimates.calibrated)} estimates for {count} months")
    return estimates
