"""Cost of the decision store per ingested record: the same ingest with and without it, alternating.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_decision_store.py [--records 100000] [--repeats 3]
        [--store-url postgresql://...]   # default: a fresh SQLite file per run, as the sidecar's default

A spool of generated payload records (40 features, record batches of 250, 10,000 records per segment) is read
by one :class:`Ingestor` in one thread with a checkpoint every second, parse + window + stability counters
included, once without a decision store and once with one (every decision inserted and committed before each
checkpoint). Runs alternate in one process; the best of ``--repeats`` per variant is kept. Reported per wall
second and per CPU second of the ingesting thread; the difference per record is the store's cost. With a
PostgreSQL URL the server's own CPU is not in the thread's CPU time (only in the wall time).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prometheus_client import CollectorRegistry
from sqlalchemy import func, select

from monitoring import store_schema as schema
from monitoring.decision_store import DecisionRecorder
from monitoring.ingest import Ingestor
from monitoring.settings import MonitorSettings
from monitoring.stability import StabilityCounter
from service.bundle import Bundle
from tests.monitoring.synthetic import SpoolWriter, generate_features, make_bundle, records_from_frame

DRAIN_RECORDS = 250
"""Records per record batch, as one 50 ms drain of the service's writer."""


def ingest_once(
    bundle: Bundle, records: list[dict], n_records: int, store_url: str | None
) -> tuple[float, float]:
    """Wall and ingest-thread CPU seconds of one ingest of ``n_records``; ``store_url`` None: no store."""
    with tempfile.TemporaryDirectory() as tmp:
        writer = SpoolWriter(Path(tmp) / "spool")
        for start in range(0, n_records, 10_000):
            segment = records[: min(10_000, n_records - start)]
            for i, record in enumerate(segment):
                record["request_id"] = f"bench-{start + i}"
            for drain in range(0, len(segment), DRAIN_RECORDS):
                writer.append(segment[drain : drain + DRAIN_RECORDS])
            writer.close_segment()
        settings = MonitorSettings(spool_dir=Path(tmp) / "spool", checkpoint_interval_seconds=1.0)
        stability = StabilityCounter(bundle.stability, bundle.feature_names)
        url = store_url if store_url is not None else None
        if url == "sqlite":
            url = f"sqlite:///{Path(tmp) / 'decisions.sqlite'}"
        decisions = (
            DecisionRecorder(schema.open_engine(url), bundle, CollectorRegistry())
            if url is not None
            else None
        )
        ingestor = Ingestor(settings, bundle.feature_names, None, stability, decisions)
        started, started_cpu = time.perf_counter(), time.thread_time()
        while ingestor.step():
            ingestor.checkpoint()
        assert ingestor.checkpoint(force=True)
        cpu, wall = time.thread_time() - started_cpu, time.perf_counter() - started
        assert ingestor.ingested_total == n_records
        if url is not None:
            engine = schema.open_engine(url)
            with engine.begin() as connection:
                assert connection.scalar(select(func.count()).select_from(schema.decisions)) == n_records
                connection.execute(schema.decisions.delete())  # the next PostgreSQL run starts empty
            engine.dispose()
    return wall, cpu


def main() -> None:
    """Run the alternating pairs and print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--store-url", default="sqlite", help="SQLAlchemy URL, or 'sqlite' for a temp file")
    args = parser.parse_args()
    bundle = make_bundle(n_reference=2_000, n_features=40)
    records = records_from_frame(generate_features(10_000, 40, seed=1), bundle)
    best = {"without": [float("inf")] * 2, "with": [float("inf")] * 2}
    for _ in range(args.repeats):
        for key, url in (("without", None), ("with", args.store_url)):
            wall, cpu = ingest_once(bundle, records, args.records, url)
            best[key] = [min(best[key][0], wall), min(best[key][1], cpu)]
    out: dict = {"records": args.records, "repeats": args.repeats, "store": args.store_url.split("@")[-1]}
    for key, (wall, cpu) in best.items():
        out[f"{key}_store"] = {
            "seconds": round(wall, 2),
            "records_per_second": round(args.records / wall),
            "cpu_seconds": round(cpu, 2),
            "records_per_cpu_second": round(args.records / cpu),
        }
    out["store_wall_us_per_record"] = round(1e6 * (best["with"][0] - best["without"][0]) / args.records, 2)
    out["store_cpu_us_per_record"] = round(1e6 * (best["with"][1] - best["without"][1]) / args.records, 2)
    out["cpu_ratio_with_to_without"] = round(best["with"][1] / best["without"][1], 2)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
