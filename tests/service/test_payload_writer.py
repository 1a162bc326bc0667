"""The spool writer in process: record format, rotation, and the drop policy when the queue is full."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np

from service.payload_log import PayloadLogWriter


def _writer(spool: Path, **kwargs) -> tuple[PayloadLogWriter, dict[str, int]]:
    drops: dict[str, int] = {}
    lock = threading.Lock()

    def on_dropped(reason: str, n: int) -> None:
        with lock:
            drops[reason] = drops.get(reason, 0) + n

    options = {"max_bytes": 10**9, "segment_max_bytes": 10**6, "segment_max_age_s": 60.0, "queue_size": 1000}
    options.update(kwargs)
    return PayloadLogWriter(spool, ["a", "b"], on_dropped=on_dropped, writer_id="w1", **options), drops


def _submit(writer: PayloadLogWriter, first: int, n: int) -> None:
    matrix = np.array([[1.5, np.nan]] * n)
    writer.submit(first, [f"c{i}" for i in range(n)], "m:1", matrix, np.full(n, 0.25), np.zeros(n, bool))


def test_records_and_segment_rotation(tmp_path: Path) -> None:
    writer, drops = _writer(tmp_path, segment_max_bytes=300)
    writer.start()
    for i in range(10):
        _submit(writer, i, 1)
        while writer.pending():  # let the writer take each record separately, so segments rotate
            time.sleep(0.005)
    writer.close()
    segments = sorted(tmp_path.iterdir())
    assert len(segments) > 1 and all(p.name.endswith(".jsonl") for p in segments)
    records = [json.loads(line) for p in segments for line in p.read_text().splitlines()]
    assert [r["request_id"] for r in records] == [writer.request_id(i) for i in range(10)]
    assert records[0]["features"] == {"a": 1.5, "b": None}
    assert records[0]["decision"] == "accept" and records[0]["probability"] == 0.25
    assert drops == {}


def test_queue_full_drops_instead_of_blocking(tmp_path: Path) -> None:
    writer, drops = _writer(tmp_path, queue_size=5)  # thread not started: nothing is taken off the queue
    for i in range(4):
        _submit(writer, i * 2, 2)
    assert drops == {"queue_full": 4}
    assert writer.pending() == 4
    writer.start()
    writer.close()
    assert sum(len(p.read_text().splitlines()) for p in tmp_path.iterdir()) == 4
