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


def test_one_drain_of_many_requests_writes_each_record_as_alone(tmp_path: Path) -> None:
    """Requests queued together (one drain) give the same lines as the same requests written one by one."""
    rng = np.random.default_rng(3)
    writer, _ = _writer(tmp_path / "together")
    requests = []
    for seq, size in ((0, 1), (1, 3), (4, 1), (5, 2)):
        matrix = rng.random((size, 2)) * 1e5
        matrix[0, 1] = np.nan
        ids = [None if i % 2 else f"caller-{seq + i}" for i in range(size)]
        requests.append((seq, ids, f"m:{seq % 2}", matrix, rng.random(size), rng.random(size) > 0.5))
    for request in requests:
        writer.submit(*request)
    writer.close()  # one drain: the thread never started
    separate = b""
    for index, request in enumerate(requests):  # each request drained on its own, by a writer of its own
        alone, _ = _writer(tmp_path / f"alone-{index}")
        alone.submit(*request)
        alone.close()
        separate += b"".join(
            p.read_bytes() for p in sorted((tmp_path / f"alone-{index}").glob("seg-*.jsonl"))
        )
    joined = b"".join(p.read_bytes() for p in sorted((tmp_path / "together").glob("seg-*.jsonl")))
    assert joined.count(b"\n") == 7
    assert [json.loads(line)["request_id"] for line in joined.splitlines()] == [f"w1-{i:x}" for i in range(7)]
    assert [_without_time(line) for line in joined.splitlines()] == [
        _without_time(line) for line in separate.splitlines()
    ]
    first = json.loads(joined.splitlines()[0])
    assert first["features"]["b"] is None and first["caller_id"] == "caller-0" and first["model_tag"] == "m:0"


def _without_time(line: bytes) -> dict:
    record = json.loads(line)
    del record["time"]
    return record


def test_time_stamps_match_datetime_formatting_to_the_microsecond() -> None:
    from datetime import UTC, datetime

    from service.payload_log import _SecondStamps

    stamps = _SecondStamps()
    rng = np.random.default_rng(4)
    seconds = 1_790_000_000 + rng.integers(0, 10**6, 300)
    fractions = np.concatenate([rng.random(290), [0.0, 0.9999994, 0.9999996, 0.5e-6, 0.4e-6] * 2])
    for t in np.sort(seconds + fractions).tolist():
        wanted = datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        assert stamps(t) == wanted, t
