"""Benchmark of the realism section that training on real CSVs adds to the data report (issue 18).

Times :func:`training.realism.card_section.realism_section` on tables already in memory, as training calls
it, step by step. Stand-in for a Kaggle download: the generator's tables at Kaggle scale (307,511 labelled
and 48,744 test applicants by default; every child table linked, so every rows-per-applicant count is
taken), with another seed than the section's generator. Baseline measured in the same run: generating and
cleaning those tables (the synthetic training run's data step). With ``--real DIR``, the section is also
timed on real CSVs read with the loader (baseline: that read).

    .venv/bin/python benchmarks/bench_realism_section.py --applicants 307511 --rows 20000,100000
    .venv/bin/python benchmarks/bench_realism_section.py --applicants 0 --real DIR --rows 20000
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path


def _peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _time_section(tables: dict, source: Path, rows: int | None, baseline: float, label: str) -> None:
    from training.realism.card_section import realism_section

    started = time.perf_counter()
    section = realism_section(tables, source, rows=rows, seed=0)
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "data": label,
                "rows_compared": section.report.real_rows["application_train"],
                "seconds": round(seconds, 2),
                "ratio_to_baseline": round(seconds / baseline, 3),
                "baseline_seconds": round(baseline, 2),
                "steps": section.report.timings,
                "peak_rss_gib": round(_peak_gib(), 2),
            }
        ),
        flush=True,
    )


def main() -> int:
    """Time the section on the stand-in (and optionally on real CSVs), one JSON line per run."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--applicants", type=int, default=307_511, help="labelled applicants of the stand-in (0: none)"
    )
    parser.add_argument("--real", type=Path, default=None, help="also time it on the Kaggle CSVs of DIR")
    parser.add_argument(
        "--rows", default="20000", help="comma-separated caps on the real rows compared ('all': no cap)"
    )
    args = parser.parse_args()
    caps = [None if text == "all" else int(text) for text in args.rows.split(",")]

    from training.loader import clean_table, load_tables
    from training.synthetic import generate

    if args.real is not None:
        started = time.perf_counter()
        tables = load_tables(args.real, progress=False)
        baseline = time.perf_counter() - started
        for cap in caps:
            _time_section(tables, args.real, cap, baseline, f"real CSVs in {args.real}")
    if args.applicants:
        started = time.perf_counter()
        raw = generate(args.applicants, seed=99).tables
        tables = {name: clean_table(name, raw.pop(name)) for name in list(raw)}
        baseline = time.perf_counter() - started
        label = f"generated stand-in, {args.applicants:,} applicants, seed 99"
        for cap in caps:
            _time_section(tables, Path("stand-in"), cap, baseline, label)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
