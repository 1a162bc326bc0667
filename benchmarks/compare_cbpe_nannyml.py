"""The label-free AUC estimate (``monitoring/label_free.py``) beside NannyML's CBPE, on simulated months.

NannyML pins versions the project does not use (lightgbm < 4.6, plotly < 6, FLAML, cloud file systems), so it
runs in a virtualenv of its own, with this repository on the path for ``monitoring.label_free`` (numpy only):

    python3.11 -m venv /tmp/nml && /tmp/nml/bin/pip install nannyml==0.13.1 statsmodels scikit-learn
    PYTHONPATH=. /tmp/nml/bin/python benchmarks/compare_cbpe_nannyml.py [--months 50] [--size 2000]

NannyML 0.13.1 imports statsmodels without declaring it, and sends usage events to an analytics service
unless ``NML_DISABLE_USAGE_LOGGING`` is set, which this script sets before importing it.

Simulation as in ``tests/monitoring/test_label_free.py``: accepted applicants' scores drawn from
Beta(1.5, 12) below a 0.3 threshold, outcomes drawn from the scores (calibrated); NannyML is fitted on a
labelled reference of 20,000 such applicants (it calibrates on it when it finds the scores need it) and
estimates each month as one chunk. Prints JSON: per method, the error against the realized AUC, and the
difference between the two estimates.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitoring.label_free import expected_auc

THRESHOLD = 0.3


def scores(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` accepted applicants' scores."""
    p = rng.beta(1.5, 12.0, size=3 * n)
    return p[p < THRESHOLD][:n]


def frame(p: np.ndarray, y: np.ndarray | None) -> pd.DataFrame:
    """The columns NannyML reads (``y_pred`` is required by its API, unused by ROC AUC)."""
    data = {"y_pred_proba": p, "y_pred": (p >= 0.5).astype(int)}
    data["y_true"] = y.astype(int) if y is not None else np.full(len(p), np.nan)
    return pd.DataFrame(data)


def main() -> None:
    """Run the comparison and print JSON."""
    # NannyML sends usage events to an analytics service unless this variable exists: never from here
    os.environ["NML_DISABLE_USAGE_LOGGING"] = "1"
    warnings.filterwarnings("ignore", message="Not enough data to compute realized")
    import nannyml as nml
    from sklearn.metrics import roc_auc_score

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--months", type=int, default=50)
    parser.add_argument("--size", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    reference_p = scores(rng, 20_000)
    reference = frame(reference_p, rng.random(len(reference_p)) < reference_p)
    months = [scores(rng, args.size) for _ in range(args.months)]
    outcomes = [rng.random(len(p)) < p for p in months]
    estimator = nml.CBPE(
        metrics=["roc_auc"],
        y_pred_proba="y_pred_proba",
        y_pred="y_pred",
        y_true="y_true",
        problem_type="classification_binary",
        chunk_size=args.size,
    )
    estimator.fit(reference)
    analysis = pd.concat([frame(p, None) for p in months], ignore_index=True)
    result = estimator.estimate(analysis).filter(period="analysis").to_df()
    theirs = result[("roc_auc", "value")].to_numpy()[: args.months]
    ours = np.array([expected_auc(p) for p in months])
    realized = np.array([roc_auc_score(y, p) for p, y in zip(months, outcomes, strict=True)])

    def summary(errors: np.ndarray) -> dict:
        return {
            "mean": round(float(errors.mean()), 4),
            "rms": round(float(np.sqrt(np.mean(errors**2))), 4),
            "max_abs": round(float(np.abs(errors).max()), 4),
        }

    print(
        json.dumps(
            {
                "nannyml": nml.__version__,
                "months": args.months,
                "size": args.size,
                "ours_minus_realized": summary(ours - realized),
                "nannyml_minus_realized": summary(theirs - realized),
                "ours_minus_nannyml": summary(ours - theirs),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
