"""Benchmark of the training side: generator, features and the whole main job.

Prints wall time and peak RSS of each stage at a given scale, and, as a baseline measured in the same
run, the time of one bare ``groupby(...).size()`` pass over the same child tables: the feature builder's
cost is reported as a multiple of that floor.

    .venv/bin/python benchmarks/bench_training.py --applicants 307511 --stages generate,features
    .venv/bin/python benchmarks/bench_training.py --applicants 50000 --stages main
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path


def _peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    """Run the chosen stages and print one JSON line per stage plus a summary."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--applicants", type=int, default=50_000, help="labelled applicants (default 50000)")
    parser.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    parser.add_argument(
        "--stages",
        default="generate,features",
        help="comma-separated: generate, features (needs generate), main (the whole training job, "
        "not registered) (default: generate,features)",
    )
    args = parser.parse_args()
    stages = set(args.stages.split(","))
    results: dict[str, dict[str, float]] = {}

    if stages & {"generate", "features"}:
        from service.applicant.schema import CHILD_TABLES
        from training.loader import clean_table
        from training.pipeline import build_training_matrix
        from training.synthetic import generate

        started = time.perf_counter()
        raw = generate(args.applicants, seed=args.seed).tables
        # clean table by table, releasing each raw table, as the training pipeline's memory allows
        tables = {name: clean_table(name, raw.pop(name)) for name in list(raw)}
        rows = {name: len(t) for name, t in tables.items()}
        results["generate"] = {"seconds": time.perf_counter() - started, "peak_rss_mib": _peak_rss_mib()}
        print(json.dumps({"stage": "generate", **results["generate"], "rows": rows}), flush=True)

        if "features" in stages:
            started = time.perf_counter()
            for name in CHILD_TABLES:
                tables[name].groupby("SK_ID_CURR" if "SK_ID_CURR" in tables[name] else "SK_ID_BUREAU").size()
            baseline = time.perf_counter() - started
            started = time.perf_counter()
            features, _ = build_training_matrix(tables)
            seconds = time.perf_counter() - started
            results["features"] = {
                "seconds": seconds,
                "baseline_groupby_seconds": baseline,
                "ratio_to_baseline": seconds / baseline,
                "peak_rss_mib": _peak_rss_mib(),
                "columns": features.shape[1],
            }
            print(json.dumps({"stage": "features", **results["features"]}), flush=True)
        del tables

    if "main" in stages:
        from training.pipeline import TrainingConfig, train

        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            result = train(
                TrainingConfig(
                    applicants=args.applicants,
                    seed=args.seed,
                    artifacts_dir=Path(tmp),
                    register=False,
                    progress=False,
                ),
                log=lambda line: print(line, file=sys.stderr),
            )
            results["main"] = {
                "seconds": time.perf_counter() - started,
                "peak_rss_mib": _peak_rss_mib(),
                **{f"step_{k}_seconds": v for k, v in result.timings.items()},
                "holdout_auc": result.bundle.metrics.get("holdout_auc"),
                "auc_ratio_vs_true": result.bundle.metrics.get("auc_ratio_vs_true"),
                "cost_ratio_vs_true": result.bundle.metrics.get("cost_ratio_vs_true"),
            }
            print(json.dumps({"stage": "main", **results["main"]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
