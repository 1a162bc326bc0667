"""Throughput and cost of the drift sidecar: ingest records/s, drift time per window, peak RSS.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_monitoring.py [--records 100000] [--skip-evidently]
    PYTHONPATH=. .venv/bin/python benchmarks/bench_monitoring.py --ingest-only --repeats 3

Ingest: a spool of generated payload records (40 features, record batches of 250 records, about one 50 ms
drain of the service's writer at its measured single-worker rate, 10,000 records per segment) read
by one :class:`Ingestor` in one thread, parse + window + checkpoint included. Reported per wall-clock second
and per CPU second of the ingesting thread: on a shared machine the second is what one core sustains. Runs
with the stability counters (per-bin counting of every record, ``monitoring/stability.py``) and without
them alternate, so their difference is the counters' cost per record in the same conditions.

Drift: one calibrated :class:`DriftDetector` per feature count, timed on windows of several sizes; for
comparison, Evidently's ``Report([DataDriftPreset()])`` and its legacy ``DataDriftTable`` on 5,000 x 40.
Peak RSS is the process high-water mark (``ru_maxrss``).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitoring.drift import DriftDetector
from monitoring.ingest import Ingestor
from monitoring.metrics import MonitorMetrics
from monitoring.settings import MonitorSettings
from monitoring.stability import StabilityCounter
from monitoring.window import WindowView
from service.bundle import Bundle
from tests.monitoring.synthetic import SpoolWriter, generate_features, make_bundle, records_from_frame

DRAIN_RECORDS = 250
"""Records per record batch written, as one 50 ms drain of the service's writer at ~5,000 req/s."""


def bench_ingest(
    n_records: int, n_features: int, repeats: int = 1, drain_records: int = DRAIN_RECORDS
) -> dict:
    """Records/s of the ingest path on a pre-filled spool (best of ``repeats`` runs, wall and CPU), with the
    stability counters (what the sidecar does with a bundle that has bins) and without them (a bundle without
    bins: the path before they existed), alternating in the same process on equal spools."""
    bundle = make_bundle(n_reference=2_000, n_features=n_features)
    records = records_from_frame(generate_features(10_000, n_features, seed=1), bundle)
    best: dict[bool, list[float]] = {True: [float("inf")] * 2, False: [float("inf")] * 2}
    for _ in range(repeats):
        for with_bins in (False, True):
            wall, cpu = _ingest_once(bundle, records, n_records, drain_records, with_bins)
            best[with_bins] = [min(best[with_bins][0], wall), min(best[with_bins][1], cpu)]
    out = {}
    for with_bins, key in ((True, "with_stability"), (False, "without_stability")):
        wall, cpu = best[with_bins]
        out[key] = {
            "seconds": round(wall, 2),
            "records_per_second": round(n_records / wall),
            "cpu_seconds": round(cpu, 2),
            "records_per_cpu_second": round(n_records / cpu),
        }
    return {
        "records": n_records,
        "features": n_features,
        "repeats": repeats,
        "records_per_batch": drain_records,
        **out,
        "stability_cpu_us_per_record": round(1e6 * (best[True][1] - best[False][1]) / n_records, 2),
    }


def _ingest_once(
    bundle: Bundle, records: list[dict], n_records: int, drain_records: int, with_bins: bool
) -> tuple[float, float]:
    """Wall and ingest-thread CPU seconds of one ingest of ``n_records`` (metrics registry included)."""
    with tempfile.TemporaryDirectory() as tmp:
        writer = SpoolWriter(Path(tmp) / "spool")
        for start in range(0, n_records, 10_000):
            segment = records[: min(10_000, n_records - start)]
            for drain in range(0, len(segment), drain_records):
                writer.append(segment[drain : drain + drain_records])
            writer.close_segment()
        settings = MonitorSettings(spool_dir=Path(tmp) / "spool", checkpoint_interval_seconds=1.0)
        metrics = MonitorMetrics()
        stability = StabilityCounter(bundle.stability, bundle.feature_names) if with_bins else None
        if stability is not None:
            metrics.registry.register(stability)
        ingestor = Ingestor(settings, bundle.feature_names, metrics, stability)
        started, started_cpu = time.perf_counter(), time.thread_time()
        while ingestor.step():
            ingestor.checkpoint()
        ingestor.checkpoint(force=True)
        cpu, wall = time.thread_time() - started_cpu, time.perf_counter() - started
    assert ingestor.ingested_total == n_records
    if stability is not None:
        assert int(stability.published()[1].sum()) == n_records
    return wall, cpu


def bench_drift(feature_counts: list[int], window_sizes: list[int], with_evidently: bool) -> dict:
    """Seconds per drift computation by feature count and window size (median of 3)."""
    import lightgbm as lgb

    out: dict = {"per_window": [], "calibration_seconds": {}}
    for n_features in feature_counts:
        bundle = make_bundle(n_reference=5_000, n_features=n_features)
        booster = lgb.Booster(model_str=bundle.booster_text)
        detector = DriftDetector(bundle.reference, bundle.features, bundle.threshold, MonitorSettings())
        started = time.perf_counter()
        detector.calibrate()
        out["calibration_seconds"][n_features] = round(time.perf_counter() - started, 2)
        for size in window_sizes:
            frame = generate_features(size, n_features, seed=7)
            p = booster.predict(frame, num_threads=1)
            view = WindowView(np.zeros(size), frame.to_numpy(float), p, p >= bundle.threshold)
            times = [detector.compute(view).duration_seconds for _ in range(3)]
            out["per_window"].append(
                {"features": n_features, "window": size, "seconds": round(float(np.median(times)), 3)}
            )
        if with_evidently and n_features == max(feature_counts):
            out["evidently_5000"] = bench_evidently(bundle, booster)
    return out


def bench_evidently(bundle, booster) -> dict:
    """Evidently's own paths on 5,000 x n_features, for the method choice."""
    from evidently import Report
    from evidently.legacy.metrics import DataDriftTable
    from evidently.legacy.report import Report as LegacyReport
    from evidently.presets import DataDriftPreset

    current = generate_features(5_000, len(bundle.features), seed=8)
    current["probability"] = booster.predict(current[bundle.feature_names], num_threads=1)
    reference = bundle.reference
    started = time.perf_counter()
    Report([DataDriftPreset()]).run(current, reference)
    preset = time.perf_counter() - started
    started = time.perf_counter()
    legacy = LegacyReport(metrics=[DataDriftTable()])
    legacy.run(reference_data=reference, current_data=current)
    legacy.as_dict()
    table = time.perf_counter() - started
    return {
        "report_datadriftpreset_seconds": round(preset, 2),
        "legacy_datadrifttable_seconds": round(table, 2),
    }


def main() -> int:
    """Run the benchmarks and print JSON."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=100_000, help="records to ingest")
    parser.add_argument("--repeats", type=int, default=1, help="ingest runs (the best one is reported)")
    parser.add_argument("--skip-evidently", action="store_true", help="do not time Evidently's own reports")
    parser.add_argument("--ingest-only", action="store_true", help="only the ingest benchmark")
    parser.add_argument(
        "--batch-records", type=int, default=DRAIN_RECORDS, help="records per record batch in the spool"
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    result: dict = {"ingest": bench_ingest(args.records, 40, args.repeats, args.batch_records)}
    if not args.ingest_only:
        result["drift"] = bench_drift([10, 40], [1_000, 5_000, 20_000], not args.skip_evidently)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
