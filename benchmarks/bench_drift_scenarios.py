"""False alarms and detection of the drift sidecar on the project's generator (its real features and model).

    PYTHONPATH=. .venv/bin/python benchmarks/bench_drift_scenarios.py [--windows 200] [--trials 20]

1. Trains a bundle with the training pipeline on the generator's baseline population (fast modelling
   settings; ``--quick-bundle`` builds a LightGBM in seconds instead).
2. False alarms: ``--windows`` disjoint windows of ``--window-records`` freshly generated baseline applicants
   (features built as in training, probabilities from the bundle's booster, decisions from its threshold),
   each scored against the bundle's reference sample with the sidecar's default drift settings.
3. Detection: per scenario of ``training.synthetic.SCENARIOS``, ``--trials`` shifts from baseline to drifted
   traffic at a random point of a window; a trial counts when dataset drift or one of the scenario's key
   features is flagged on the straddling window or the next.

Targets (issue 4): dataset drift in <= 1 % and any single feature in <= 2 % of undrifted windows; each
scenario detected within 2 windows in >= 95 % of trials. Prints JSON; exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.monitoring.scenario_data import (
    BundleScorer,
    detection,
    ext_source_bug_version,
    false_alarms,
    make_detector,
    quick_bundle,
    trained_bundle,
)
from training.synthetic import SCENARIOS

MAX_DATASET_ALARM_RATE = 0.01
"""At most this share of undrifted windows may be flagged as dataset drift."""
MAX_FEATURE_ALARM_RATE = 0.02
"""No single feature may drift in more than this share of undrifted windows."""
MIN_DETECTION_RATE = 0.95
"""Each scenario must be flagged within two windows in at least this share of trials."""


def run(
    *,
    windows: int,
    trials: int,
    window_records: int,
    train_applicants: int,
    quick: bool,
    seed: int,
    chunk: int = 25_000,
) -> dict:
    """Run the whole benchmark and return its measurements (rates, timings, which targets are met)."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    if quick:
        bundle = quick_bundle(train_applicants, 5_000, seed=seed)
    else:
        bundle = trained_bundle(train_applicants, seed=seed)
    timings["bundle"] = time.perf_counter() - started
    progress(f"bundle: {len(bundle.features)} features, {timings['bundle']:.0f} s")
    started = time.perf_counter()
    scorer = BundleScorer(bundle)
    detector = make_detector(bundle, window_records)
    timings["calibration"] = time.perf_counter() - started

    started = time.perf_counter()
    alarms, baseline = false_alarms(
        detector,
        scorer,
        windows=windows,
        window_records=window_records,
        seed=seed + 1_000,
        chunk=chunk,
        keep=trials,
    )
    timings["false_alarms"] = time.perf_counter() - started
    progress(f"false alarms: {alarms.windows} windows, {timings['false_alarms']:.0f} s")
    timings["false_alarms_data"] = alarms.seconds_data
    timings["false_alarms_drift"] = alarms.seconds_drift
    worst, worst_count = alarms.worst_feature

    detections = {}
    for i, scenario in enumerate(SCENARIOS):
        started = time.perf_counter()
        detections[scenario] = detection(
            detector,
            scorer,
            scenario,
            baseline=baseline,
            trials=trials,
            window_records=window_records,
            seed=seed + 10_000 * (i + 1),
        )
        timings[f"detection_{scenario}"] = time.perf_counter() - started
        progress(f"detection of {scenario}: {timings[f'detection_{scenario}']:.0f} s")

    dataset_rate = alarms.dataset_drifted / alarms.windows
    feature_rate = worst_count / alarms.windows
    met = {
        "dataset_false_alarms": dataset_rate <= MAX_DATASET_ALARM_RATE,
        "feature_false_alarms": feature_rate <= MAX_FEATURE_ALARM_RATE,
        **{f"detection_{name}": d.rate >= MIN_DETECTION_RATE for name, d in detections.items()},
    }
    return {
        "bundle": {
            "source": "quick LightGBM" if quick else "training.pipeline.train",
            "train_applicants": train_applicants,
            "features": len(bundle.features),
            "reference_rows": len(bundle.reference) if bundle.reference is not None else 0,
            "threshold": round(bundle.threshold, 4),
        },
        "ext_source_bug": ext_source_bug_version(),
        "window_records": window_records,
        "false_alarms": {
            "windows": alarms.windows,
            "dataset_drifted": alarms.dataset_drifted,
            "dataset_rate": round(dataset_rate, 4),
            "worst_feature": worst,
            "worst_feature_windows": worst_count,
            "worst_feature_rate": round(feature_rate, 4),
            "prediction_drifted": alarms.prediction_drifted,
            "features_that_drifted": dict(sorted(alarms.feature_drifted.items(), key=lambda kv: -kv[1])),
        },
        "detection": {
            name: {
                "trials": d.trials,
                "first_window": d.first_window,
                "within_two_windows": d.within_two,
                "rate": round(d.rate, 3),
                "key_features": d.key_features,
            }
            for name, d in detections.items()
        },
        "seconds": {k: round(v, 1) for k, v in timings.items()} | {"total": round(sum_total(timings), 1)},
        "targets_met": met,
    }


def progress(message: str) -> None:
    """One progress line on stderr (stdout carries the JSON result)."""
    print(f"[bench_drift_scenarios] {message}", file=sys.stderr, flush=True)


def sum_total(timings: dict[str, float]) -> float:
    """Wall-clock total of the top-level steps (the ``*_data`` / ``*_drift`` entries are parts of others)."""
    return sum(v for k, v in timings.items() if not k.endswith(("_data", "_drift")))


def main() -> int:
    """Parse options, run, print JSON; exit status 1 when a target is missed."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--windows", type=int, default=200, help="undrifted windows (false alarms)")
    parser.add_argument("--trials", type=int, default=20, help="shifts per scenario (detection)")
    parser.add_argument("--window-records", type=int, default=5_000, help="records per window")
    parser.add_argument(
        "--train-applicants", type=int, default=20_000, help="applicants the bundle learns from"
    )
    parser.add_argument("--quick-bundle", action="store_true", help="build a LightGBM instead of training")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bundle; windows use derived seeds")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    result = run(
        windows=args.windows,
        trials=args.trials,
        window_records=args.window_records,
        train_applicants=args.train_applicants,
        quick=args.quick_bundle,
        seed=args.seed,
    )
    print(json.dumps(result, indent=2))
    return 0 if all(result["targets_met"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
