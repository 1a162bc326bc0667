"""False-alarm and detection rates of the sidecar's drift decision, on generated data.

False alarms: ``--windows`` independent windows of ``--window`` records drawn from the training distribution
(the generator of ``tests/monitoring/synthetic.py``), each scored against one fixed reference sample; counts
how often dataset drift and each single feature are flagged. Detection: for constructed shifts of one key
feature (mean shift, scale change, blanked column, flag rate change), how often the shifted feature (or
dataset drift) is flagged within 2 windows after the shift.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_drift.py --windows 200
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitoring.drift import DriftDetector
from monitoring.settings import MonitorSettings
from monitoring.window import WindowView
from tests.monitoring.synthetic import generate_features, make_bundle

SCENARIOS = {
    "mean_shift_0.2sd": ("normal_0", lambda df: df.assign(normal_0=df.normal_0 + 0.2 * df.normal_0.std())),
    "amount_scale_x1.3": ("amount_1", lambda df: df.assign(amount_1=df.amount_1 * 1.3)),
    "blank_column": ("count_3", lambda df: df.assign(count_3=np.nan)),
    "flag_rate_0.12_to_0.18": (
        "flag_2",
        lambda df: df.assign(flag_2=(np.random.default_rng(len(df)).random(len(df)) < 0.18).astype(float)),
    ),
}
"""Constructed shifts: name -> (key feature, transformation of a window)."""


def main() -> int:
    """Run the measurement and print a JSON summary."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--windows", type=int, default=200, help="null windows for the false-alarm rate")
    parser.add_argument("--trials", type=int, default=40, help="trials per drift scenario")
    parser.add_argument("--window", type=int, default=5_000, help="records per window")
    parser.add_argument("--features", type=int, default=40, help="number of features")
    parser.add_argument("--reference", type=int, default=5_000, help="rows of the reference sample")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    import lightgbm as lgb

    bundle = make_bundle(n_reference=args.reference, n_features=args.features)
    booster = lgb.Booster(model_str=bundle.booster_text)
    settings = MonitorSettings(window_records=args.window)
    detector = DriftDetector(bundle.reference, bundle.features, bundle.threshold, settings)
    started = time.perf_counter()
    detector.calibrate()
    calibration_seconds = time.perf_counter() - started

    def view(frame):
        p = booster.predict(frame[bundle.feature_names], num_threads=1)
        return WindowView(
            np.zeros(len(frame)), frame[bundle.feature_names].to_numpy(float), p, p >= bundle.threshold
        )

    dataset_flags = 0
    feature_flags = np.zeros(args.features)
    durations = []
    for i in range(args.windows):
        result = detector.compute(view(generate_features(args.window, args.features, seed=10_000 + i)))
        durations.append(result.duration_seconds)
        dataset_flags += result.dataset_drifted
        feature_flags += [f.drifted for f in result.features]
    worst = int(np.argmax(feature_flags))
    detection = {}
    for name, (key, shift) in SCENARIOS.items():
        hits = 0
        for t in range(args.trials):
            flagged = False
            for w in range(2):
                frame = shift(generate_features(args.window, args.features, seed=50_000 + 10 * t + w))
                result = detector.compute(view(frame))
                by_name = {f.name: f for f in result.features}
                if result.dataset_drifted or by_name[key].drifted:
                    flagged = True
                    break
            hits += flagged
        detection[name] = hits / args.trials
    print(
        json.dumps(
            {
                "windows": args.windows,
                "window_records": args.window,
                "features": args.features,
                "reference_rows": args.reference,
                "calibration_seconds": round(calibration_seconds, 2),
                "dataset_drift_false_alarm_rate": dataset_flags / args.windows,
                "worst_feature": bundle.feature_names[worst],
                "worst_feature_false_alarm_rate": float(feature_flags[worst] / args.windows),
                "features_with_any_false_alarm": int((feature_flags > 0).sum()),
                "mean_computation_seconds": round(float(np.mean(durations)), 4),
                "detection_within_2_windows": detection,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
