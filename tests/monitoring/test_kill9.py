"""A real sidecar process killed with SIGKILL mid-stream, twice, then restarted: every record once, in the
window, the counters and the decision store (SQLite, and a real PostgreSQL)."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from deploy.bento_server import free_port
from monitoring import checkpoint as ckpt
from monitoring import store_schema
from service.bundle import Bundle
from tests.monitoring.processes import scrape_value, start_sidecar, stop, wait_until
from tests.monitoring.synthetic import SpoolWriter, generate_features, records_from_frame

TOTAL = 6_000


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_kill_9_mid_stream_then_restart_counts_every_record_exactly_once(
    tmp_path: Path, bundle_dir: Path, bundle: Bundle, store: str, request: pytest.FixtureRequest
) -> None:
    records = records_from_frame(generate_features(TOTAL, len(bundle.features), seed=3), bundle)
    spool, log = tmp_path / "spool", tmp_path / "sidecar.log"
    checkpoint_path = spool / ".drift-sidecar" / "checkpoint.npz"
    writer = SpoolWriter(spool)
    done, stop_writing = threading.Event(), threading.Event()

    def ingested() -> int:
        saved = ckpt.load(checkpoint_path)
        return saved.ingested_total if saved is not None else 0

    def write() -> None:
        for start in range(0, TOTAL, 100):
            # stay at most 1,000 records ahead of the sidecar, so the kills land while records still arrive
            while start - ingested() > 1_000 and not stop_writing.is_set():
                time.sleep(0.05)
            writer.append(records[start : start + 100])
            if start % 700 == 600:
                writer.close_segment()
            time.sleep(0.02)
        writer.close_segment()
        done.set()

    # the default store (a SQLite file next to the checkpoint), or a database on a real PostgreSQL
    store_url = f"sqlite:///{checkpoint_path.parent / 'decisions.sqlite'}"
    if store == "postgresql":
        store_url = request.getfixturevalue("postgres_server").new_database()
    extra = ("--decision-store-url", store_url)
    port = free_port()
    process = start_sidecar(spool, bundle_dir, port, log, *extra)
    thread = threading.Thread(target=write)
    try:
        thread.start()
        for kill_at in (1_000, 3_000):  # SIGKILL while records are still arriving
            wait_until(lambda at=kill_at: ingested() >= at, 90, f"{kill_at} records checkpointed")
            assert not done.is_set()  # really mid-stream
            process.send_signal(signal.SIGKILL)
            process.wait()
            process = start_sidecar(spool, bundle_dir, port, log, *extra)
        thread.join(timeout=120)
        assert done.is_set()
        seen: list[float | None] = []

        def all_ingested() -> bool:
            seen.append(scrape_value(port, "credit_scoring_drift_records_ingested_total"))
            return seen[-1] == TOTAL

        try:
            wait_until(all_ingested, 90, "all records ingested")
        except AssertionError as error:
            last = seen[-3:]
            raise AssertionError(f"{error}; last scraped {last}, checkpointed {ingested()}") from None
        time.sleep(1.0)  # anything counted twice would show up by now
        assert scrape_value(port, "credit_scoring_drift_records_ingested_total") == TOTAL
    finally:
        stop_writing.set()
        stop(process)
        thread.join(timeout=5)
    saved = ckpt.load(checkpoint_path)
    assert saved is not None
    assert saved.ingested_total == TOTAL
    assert sum(saved.malformed_total.values()) == 0
    expected = [r["probability"] for r in records][-2_000:]  # window_records: all that is kept
    assert saved.window["probabilities"].tolist() == expected
    assert not list(spool.glob("seg-*.arrows"))  # every closed, consumed segment was deleted
    with store_schema.open_engine(store_url).connect() as connection:
        stored = connection.scalars(select(store_schema.decisions.c.request_id)).all()
    assert len(stored) == TOTAL  # every decision once: none lost, none twice
    assert set(stored) == {r["request_id"] for r in records}
