"""Benchmark of the generator's realism for modelling: does the default pipeline need its gradient boosting?

For each size and seed: generate that many applicants, build the training features, and run the default
pipeline's candidate comparison (``training.realism.ranking.rank_models``: selection, cross-validated
baselines, time-boxed LightGBM tuning, refits, untouched holdout; no interpretation step). Prints, per run,
the holdout AUC of the true default probability, of LightGBM and of the logistic regression, the LightGBM
minus logistic gap (with the 5th-95th percentiles of a paired bootstrap over the holdout rows) and LightGBM's
share of the true AUC; then the mean per size. Targets (issue #18): gap >= 0.015 at 8,000 and at 50,000
applicants, true AUC between 0.76 and 0.82, LightGBM >= 0.97 of the true AUC at 50,000.

    .venv/bin/python benchmarks/bench_generator_realism.py --sizes 8000 --seeds 0,1,2,3,4 --tuning-seconds 10
    .venv/bin/python benchmarks/bench_generator_realism.py --sizes 50000 --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time


def main() -> int:
    """Run the comparisons and print one JSON line per run plus a summary per size."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="8000,50000", help="comma-separated applicant counts")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated generator seeds")
    parser.add_argument(
        "--tuning-seconds",
        type=float,
        default=None,
        help="LightGBM tuning budget (default: the pipeline's own, 120 s)",
    )
    parser.add_argument("--threads", type=int, default=2, help="LightGBM threads (default 2)")
    args = parser.parse_args()

    from training.loader import clean_table
    from training.modeling import ModelingConfig
    from training.pipeline import build_training_matrix
    from training.realism.ranking import rank_models
    from training.synthetic import generate

    modeling = ModelingConfig(n_jobs=args.threads)
    if args.tuning_seconds is not None:
        modeling.tuning_budget_seconds = args.tuning_seconds
    sizes = [int(size) for size in args.sizes.split(",")]
    seeds = [int(seed) for seed in args.seeds.split(",")]
    for size in sizes:
        runs = []
        for seed in seeds:
            started = time.perf_counter()
            dataset = generate(size, seed=seed)
            raw = dataset.tables
            tables = {name: clean_table(name, raw.pop(name)) for name in list(raw)}
            features, target = build_training_matrix(tables)
            truth = dataset.true_probability.set_index("SK_ID_CURR")["TRUE_PROBABILITY"]
            run = rank_models(
                features,
                target,
                label=f"generated {size} seed {seed}",
                tables=sorted(tables),
                modeling=modeling,
                true_probability=truth.reindex(features.index),
            )
            line = {
                "applicants": size,
                "seed": seed,
                "base_rate": round(run.base_rate, 4),
                "true_auc": round(run.true_probability_auc or float("nan"), 4),
                "lightgbm_auc": round(run.holdout_auc["lightgbm"], 4),
                "logistic_auc": round(run.holdout_auc["logistic_regression"], 4),
                "tree_auc": round(run.holdout_auc["decision_tree"], 4),
                "gap": round(run.gap, 4),
                "gap_interval": [round(run.gap_low, 4), round(run.gap_high, 4)],
                "lightgbm_share_of_true": round(run.lightgbm_share_of_true or float("nan"), 4),
                "seconds": round(time.perf_counter() - started, 1),
            }
            runs.append(line)
            print(json.dumps(line), flush=True)
        summary = {
            "applicants": size,
            "seeds": seeds,
            "mean_gap": round(statistics.mean(r["gap"] for r in runs), 4),
            "min_gap": min(r["gap"] for r in runs),
            "mean_true_auc": round(statistics.mean(r["true_auc"] for r in runs), 4),
            "mean_lightgbm_share_of_true": round(
                statistics.mean(r["lightgbm_share_of_true"] for r in runs), 4
            ),
        }
        print(json.dumps({"summary": summary}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
