"""NannyML's CBPE estimate of each month's ROC AUC: a script run by the Python of NannyML's own virtualenv
(``.venv/tools/nannyml``, see ``scripts/nannyml-venv.sh``), never imported by the project's.

Usage: ``python nannyml_cbpe_run.py MONTHS.npz``, where the archive holds ``reference_scores``,
``reference_defaulted`` and ``scores`` (months × applicants). Prints JSON: NannyML's version, whether it chose
to calibrate on the reference, and each month's estimate twice: as NannyML runs by default (isotonic
calibration fitted on the labelled reference when its test says the scores need it) and with calibration off
(``NoopCalibrator``), where CBPE reduces to the same expected AUC as ``monitoring.label_free``.
"""

from __future__ import annotations

import json
import os
import sys
import warnings

import numpy as np
import pandas as pd


def frame(scores: np.ndarray, defaulted: np.ndarray | None) -> pd.DataFrame:
    """The columns NannyML reads (``y_pred`` is required by its API, unused by ROC AUC)."""
    return pd.DataFrame(
        {
            "y_pred_proba": scores,
            "y_pred": (scores >= 0.5).astype(int),
            "y_true": defaulted.astype(int) if defaulted is not None else np.full(len(scores), np.nan),
        }
    )


def main() -> None:
    """Estimate every month of the archive named on the command line, both ways, and print JSON."""
    # NannyML sends usage events to an analytics service unless this variable exists: never from here
    os.environ["NML_DISABLE_USAGE_LOGGING"] = "1"
    warnings.filterwarnings("ignore", message="Not enough data to compute realized")
    import nannyml as nml
    from nannyml.calibration import NoopCalibrator

    data = np.load(sys.argv[1])
    size = data["scores"].shape[1]
    reference = frame(data["reference_scores"], data["reference_defaulted"])
    analysis = pd.concat([frame(month, None) for month in data["scores"]], ignore_index=True)
    result: dict[str, object] = {"nannyml": nml.__version__}
    for name, calibrator in (("calibrated", None), ("uncalibrated", NoopCalibrator())):
        estimator = nml.CBPE(
            metrics=["roc_auc"],
            y_pred_proba="y_pred_proba",
            y_pred="y_pred",
            y_true="y_true",
            problem_type="classification_binary",
            chunk_size=size,
            calibrator=calibrator,
        )
        estimator.fit(reference)
        if calibrator is None:
            result["calibrates"] = bool(estimator.needs_calibration)
        estimates = estimator.estimate(analysis).filter(period="analysis").to_df()
        result[name] = [float(v) for v in estimates[("roc_auc", "value")].to_numpy()]
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
