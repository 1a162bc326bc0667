"""The label-free AUC estimate (``monitoring/label_free.py``) beside NannyML's CBPE, on simulated months.

NannyML pins versions the project does not use (lightgbm < 4.6, plotly < 6, FLAML, cloud file systems), so it
runs in a virtualenv of its own, built by ``scripts/nannyml-venv.sh`` (``scripts/test.sh`` calls it), as a
subprocess with usage reporting off (``tests/monitoring/nannyml_cbpe.py``):

    bash scripts/nannyml-venv.sh
    .venv/bin/python benchmarks/compare_cbpe_nannyml.py [--months 50] [--size 2000] [--seed 12]

Simulation (``tests/monitoring/label_free_months.py``, shared with the tests): accepted applicants' scores
drawn from Beta(1.5, 12) below a 0.3 threshold, outcomes drawn from the scores (calibrated); NannyML is fitted
on a labelled reference of 20,000 such applicants (it calibrates on it when its test says the scores need it)
and estimates each month as one chunk. Prints JSON: per method, the error against the realized AUC, and the
difference between the two estimates, with NannyML calibrating as it chose and with its calibration off.
``tests/monitoring/test_label_free_nannyml.py`` asserts on the default run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitoring.label_free import expected_auc
from tests.monitoring.label_free_months import simulate_months
from tests.monitoring.nannyml_cbpe import cbpe_estimates, nannyml_unavailable


def summary(errors: np.ndarray) -> dict[str, float]:
    """Mean, root mean square and largest absolute value of ``errors``."""
    return {
        "mean": round(float(errors.mean()), 4),
        "rms": round(float(np.sqrt(np.mean(errors**2))), 4),
        "max_abs": round(float(np.abs(errors).max()), 4),
    }


def main() -> None:
    """Run the comparison and print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--months", type=int, default=50)
    parser.add_argument("--size", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    reason = nannyml_unavailable()
    if reason:
        sys.exit(reason)
    months = simulate_months(args.months, args.size, args.seed)
    theirs = cbpe_estimates(months)
    ours = np.array([expected_auc(p) for p in months.scores])
    realized = np.array([roc_auc_score(y, p) for p, y in zip(months.scores, months.defaulted, strict=True)])
    print(
        json.dumps(
            {
                "nannyml": theirs.version,
                "months": args.months,
                "size": args.size,
                "seed": args.seed,
                "nannyml_calibrates": theirs.calibrates,
                "ours_minus_realized": summary(ours - realized),
                "nannyml_minus_realized": summary(theirs.calibrated - realized),
                "ours_minus_nannyml": summary(ours - theirs.calibrated),
                "ours_minus_nannyml_uncalibrated": {
                    "max_abs": float(np.abs(ours - theirs.uncalibrated).max())
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
