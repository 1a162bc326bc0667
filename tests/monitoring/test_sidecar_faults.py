"""A real sidecar process facing faults: unreadable spool segments, a corrupt checkpoint, idle connections.

Each test starts ``python -m monitoring serve`` and checks what an operator sees: the counters on
``/metrics``, the log lines, the process still running and its checkpoint.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import httpx
import psutil

from deploy.bento_server import free_port
from monitoring import checkpoint as ckpt
from monitoring.ingest import Ingestor
from monitoring.settings import MonitorSettings
from service.bundle import Bundle
from tests.monitoring.processes import (
    closed_by_server,
    scrape_value,
    start_sidecar,
    stop,
    wait_ready,
    wait_until,
)
from tests.monitoring.synthetic import SpoolWriter, generate_features, records_from_frame

INGESTED = "credit_scoring_drift_records_ingested_total"


def ingested_reaches(port: int, process: subprocess.Popen, expected: int) -> None:
    """Wait until the sidecar reports ``expected`` ingested records (fails at once if it exited)."""

    def reached() -> bool:
        assert process.poll() is None, f"sidecar exited with {process.returncode}"
        return scrape_value(port, INGESTED) == expected

    wait_until(reached, 90, f"{expected} records ingested")


def test_unreadable_segments_are_skipped_and_the_others_ingested(
    tmp_path: Path, bundle_dir: Path, bundle: Bundle
) -> None:
    records = records_from_frame(generate_features(600, len(bundle.features), seed=41), bundle)
    spool, log = tmp_path / "spool", tmp_path / "sidecar.log"
    first = SpoolWriter(spool, writer_id="a")
    first.append(records[:300])
    first.close_segment()
    (spool / "seg-b-00000001.arrows").mkdir()  # a directory under a segment's name
    os.mkfifo(spool / "seg-c-00000001.arrows.open")  # opening it would wait for ever for a writer
    last = SpoolWriter(spool, writer_id="z")
    last.append(records[300:500])
    port = free_port()
    process = start_sidecar(spool, bundle_dir, port, log)
    try:
        ingested_reaches(port, process, 500)
        assert scrape_value(port, 'credit_scoring_drift_segments_skipped_total{reason="not_a_file"}') == 2
        assert scrape_value(port, "credit_scoring_drift_ingest_skipped_segments") == 2
        last.append(records[500:600])
        ingested_reaches(port, process, 600)  # ingestion goes on
        time.sleep(0.5)  # many more polls of the spool
    finally:
        stop(process)
    assert process.returncode == 0
    text = log.read_text()
    assert text.count("skipping spool segment") == 2, text  # once per segment
    assert "seg-b-00000001.arrows (not_a_file: a directory)" in text
    assert "seg-c-00000001.arrows.open (not_a_file: a FIFO)" in text
    assert "ingest step failed" not in text
    assert (spool / "seg-b-00000001.arrows").is_dir()  # left for a person to look at
    assert not (spool / "seg-a-00000001.arrows").exists()  # consumed and deleted as usual


def test_a_corrupt_checkpoint_is_moved_aside_and_the_sidecar_resumes_from_the_spool(
    tmp_path: Path, settings: MonitorSettings, bundle: Bundle, bundle_dir: Path
) -> None:
    records = records_from_frame(generate_features(600, len(bundle.features), seed=42), bundle)
    writer = SpoolWriter(settings.spool_dir)
    writer.append(records[:300])
    writer.close_segment()
    writer.append(records[300:500])
    previous = Ingestor(settings, bundle.feature_names)  # the sidecar's previous life, in this process
    while previous.step():
        pass
    previous.checkpoint(force=True)
    previous.step()  # deletes the first segment: its records now exist only in the checkpoint
    previous.checkpoint(force=True)
    path = settings.checkpoint_path
    damaged = path.read_bytes()[: path.stat().st_size // 2]  # e.g. a disk that filled up mid-write
    path.write_bytes(damaged)
    writer.append(records[500:600])
    port, log = free_port(), tmp_path / "sidecar.log"
    process = start_sidecar(settings.spool_dir, bundle_dir, port, log)
    try:
        # the open segment is read again from its start: its 200 old records count again, plus 100 new
        ingested_reaches(port, process, 300)
        assert scrape_value(port, "credit_scoring_drift_checkpoints_corrupt_total") == 1
        time.sleep(1.0)  # a second count of anything would show by now
        assert scrape_value(port, INGESTED) == 300
    finally:
        stop(process)
    assert process.returncode == 0
    (moved,) = path.parent.glob("checkpoint.npz.corrupt-*")
    assert moved.read_bytes() == damaged
    text = log.read_text()
    assert text.count("is corrupt") == 1 and moved.name in text
    saved = ckpt.load(path)  # a new, readable checkpoint
    assert saved is not None and saved.ingested_total == 300
    assert saved.window["probabilities"].tolist() == [r["probability"] for r in records[300:600]]


def test_idle_connections_hold_no_thread_and_are_closed_after_the_request_timeout(
    tmp_path: Path, bundle_dir: Path
) -> None:
    """Default settings: 50 clients that connect and send nothing (5 s allowed for a request head)."""
    port = free_port()
    process = start_sidecar(tmp_path / "spool", bundle_dir, port, tmp_path / "sidecar.log")
    idle: list[socket.socket] = []
    try:
        wait_ready(port, process)
        threads = psutil.Process(process.pid).num_threads()
        idle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(50)]
        time.sleep(0.5)
        started = time.monotonic()
        assert httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).status_code == 200
        assert time.monotonic() - started < 2
        assert psutil.Process(process.pid).num_threads() <= threads + 1
        assert all(closed_by_server(sock, within=15) for sock in idle)
        timeouts = 'credit_scoring_drift_http_rejected_total{reason="timeout"}'
        assert scrape_value(port, timeouts) == 50
    finally:
        for sock in idle:
            sock.close()
        stop(process)
    assert process.returncode == 0
