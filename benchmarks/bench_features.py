"""Benchmark of training.features.build_features at a chosen fraction of the full Kaggle scale.

Input comes from one of two sources:

* ``resampled`` (default): the real Home Credit samples in ../shared/reference/homecredit-sample,
  resampled with replacement to Kaggle's row counts times ``--scale``, with fresh keys (SK_ID_CURR,
  SK_ID_BUREAU, SK_ID_PREV) so that every child row links to an applicant;
* ``synthetic``: ``training.synthetic.generate`` (the project's generator), cleaned like the loader does.

Prints the time of each build step (one per source table), the total, the input size, and peak RSS
(whole process, and since the build started where the kernel allows resetting the peak).

    .venv/bin/python benchmarks/bench_features.py --scale 0.1
    .venv/bin/python benchmarks/bench_features.py --scale 1.0 --source synthetic
"""

from __future__ import annotations

import argparse
import importlib
import logging
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE = REPO_ROOT.parent / "shared" / "reference" / "homecredit-sample"

FULL_ROWS = {
    "application": 307_511,
    "bureau": 1_716_428,
    "bureau_balance": 27_299_924,
    "previous_application": 1_670_213,
    "POS_CASH_balance": 10_001_357,
    "installments_payments": 13_605_400,
    "credit_card_balance": 3_840_311,
}
"""Row counts of the full Kaggle tables (application_train for the applicants)."""

PREVIOUS_LOANS_PER_APPLICANT = 5.4
"""Distinct previous credits per applicant used to draw SK_ID_PREV for the monthly tables."""


def _peak_rss_mib() -> float:
    """Peak resident set size of this process (or since the last reset), in MiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS counter of this process (Linux >= 4.0); False when not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _resampled_tables(scale: float, seed: int) -> dict[str, pd.DataFrame]:
    """Real sample rows drawn with replacement to ``scale`` x Kaggle's row counts, with fresh keys."""
    from training.loader import load_tables

    if not SAMPLE.is_dir():
        sys.exit(f"real samples not found at {SAMPLE}; use --source synthetic")
    rng = np.random.default_rng(seed)
    children = (
        "bureau",
        "bureau_balance",
        "POS_CASH_balance",
        "installments_payments",
        "credit_card_balance",
    )
    pool = load_tables(SAMPLE / "child_tables_random20000", children)
    pool["previous_application"] = load_tables(SAMPLE, ["previous_application"])["previous_application"]
    pool["application"] = load_tables(SAMPLE / "application_train_random5000", ["application_train"])[
        "application_train"
    ]

    def draw(name: str) -> pd.DataFrame:
        rows = max(1, round(FULL_ROWS[name] * scale))
        picked = rng.integers(0, len(pool[name]), size=rows)
        return pool[name].iloc[picked].reset_index(drop=True)

    n = max(1, round(FULL_ROWS["application"] * scale))
    applicants = np.arange(100_000, 100_000 + n, dtype=np.int64)
    loans = np.arange(1_000_000, 1_000_000 + round(n * PREVIOUS_LOANS_PER_APPLICANT), dtype=np.int64)
    loan_owner = rng.choice(applicants, size=len(loans))
    tables: dict[str, pd.DataFrame] = {}
    tables["application"] = draw("application").assign(SK_ID_CURR=applicants)
    bureau = draw("bureau")
    bureau["SK_ID_CURR"] = rng.choice(applicants, size=len(bureau))
    bureau["SK_ID_BUREAU"] = np.arange(5_000_000, 5_000_000 + len(bureau), dtype=np.int64)
    tables["bureau"] = bureau
    balance = draw("bureau_balance")
    balance["SK_ID_BUREAU"] = rng.choice(bureau["SK_ID_BUREAU"].to_numpy(), size=len(balance))
    tables["bureau_balance"] = balance
    previous = draw("previous_application")
    previous["SK_ID_PREV"] = np.arange(3_000_000, 3_000_000 + len(previous), dtype=np.int64)
    previous["SK_ID_CURR"] = rng.choice(applicants, size=len(previous))
    tables["previous_application"] = previous
    for name in ("POS_CASH_balance", "installments_payments", "credit_card_balance"):
        table = draw(name)
        which = rng.integers(0, len(loans), size=len(table))
        table["SK_ID_PREV"] = loans[which]
        table["SK_ID_CURR"] = loan_owner[which]
        tables[name] = table
    return tables


def _synthetic_tables(scale: float, seed: int) -> dict[str, pd.DataFrame]:
    """The project's generator at ``scale`` x 307,511 applicants, cleaned as the loader cleans files."""
    from training.loader import clean_table

    generate = importlib.import_module("training.synthetic").generate  # written by another module owner
    dataset = generate(max(1, round(FULL_ROWS["application"] * scale)), seed=seed)
    tables = {name: clean_table(name, table) for name, table in dataset.tables.items()}
    tables.pop("application_test", None)
    tables["application"] = tables.pop("application_train")
    return tables


class _StepTimes(logging.Handler):
    """Collects the per-step timing lines that build_features logs at DEBUG level."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def main() -> int:
    """Build the input, time build_features, print the numbers."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scale", type=float, default=0.1, help="fraction of Kaggle's row counts (default 0.1)"
    )
    parser.add_argument(
        "--source",
        choices=("resampled", "synthetic"),
        default="resampled",
        help="resampled real samples (default) or the synthetic generator",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed of the input (default 0)")
    parser.add_argument("--progress", action="store_true", help="show the build's progress bar")
    args = parser.parse_args()

    from training.features import build_features

    started = time.perf_counter()
    make = _resampled_tables if args.source == "resampled" else _synthetic_tables
    tables = make(args.scale, args.seed)
    input_seconds = time.perf_counter() - started
    input_mib = sum(t.memory_usage(deep=True).sum() for t in tables.values()) / 2**20
    print(f"input ({args.source}, scale {args.scale:g}) built in {input_seconds:.1f} s, {input_mib:,.0f} MiB")
    for name, table in tables.items():
        print(f"  {name:<24}{len(table):>12,} rows")
    print(f"peak RSS after input: {_peak_rss_mib():,.0f} MiB")

    times = _StepTimes()
    logger = logging.getLogger("training.features.build")
    logger.addHandler(times)
    logger.setLevel(logging.DEBUG)
    peak_reset = _reset_peak_rss()
    started = time.perf_counter()
    features = build_features(tables, progress=args.progress)
    seconds = time.perf_counter() - started
    for line in times.lines:
        print(f"  {line}")
    print(f"build_features: {seconds:.1f} s -> {features.shape[0]:,} rows x {features.shape[1]} columns")
    peak = _peak_rss_mib()
    print(f"peak RSS {'during the build' if peak_reset else 'of the process'}: {peak:,.0f} MiB")
    if args.scale < 1:
        print(
            f"linear extrapolation to full scale: {seconds / args.scale / 60:.1f} min; "
            f"memory scales with the input ({input_mib / args.scale / 1024:.1f} GiB) plus the output "
            f"({features.memory_usage().sum() / args.scale / 2**30:.1f} GiB)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
