"""The payload log from the worker's side: records reach the spool as the documented Arrow segments through
the real writer thread; rotation, the spool bound, write failures and a full queue are counted, not raised."""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pytest

from service.applicant.groups import MONITORED, NO_GROUPS, group_code
from service.payload_log import (
    CLOSED_SUFFIX,
    OPEN_SUFFIX,
    PAYLOAD_LOG_VERSION,
    PayloadLogWriter,
    QueuedRecords,
    payload_schema,
    record_batch,
)
from tests.service.serving import wait_for
from tests.service.spool_records import read_segment, read_spool

pytestmark = pytest.mark.timeout(60)


def _writer(spool: Path, **kwargs) -> tuple[PayloadLogWriter, dict[str, int]]:
    """A writer of two features ``a`` and ``b``, and the counts of its callbacks (``written`` and drops)."""
    counts: dict[str, int] = {}
    lock = threading.Lock()

    def on_dropped(reason: str, n: int) -> None:
        with lock:
            counts[reason] = counts.get(reason, 0) + n

    def on_written(n: int, nbytes: int) -> None:
        with lock:
            counts["written"] = counts.get("written", 0) + n

    options = {"max_bytes": 10**9, "segment_max_bytes": 10**6, "segment_max_age_s": 60.0, "queue_size": 1000}
    options.update(kwargs)
    writer = PayloadLogWriter(
        spool, ["a", "b"], on_dropped=on_dropped, on_written=on_written, writer_id="w1", **options
    )
    return writer, counts


def _until(condition: Callable[[], bool]) -> None:
    wait_for(condition, timeout_s=10.0, interval_s=0.01)


def _submit(writer: PayloadLogWriter, first: int, n: int, *, refused: bool = False) -> None:
    writer.submit(
        [f"w1-{i:x}" for i in range(first, first + n)],
        [f"c{i}" for i in range(first, first + n)],
        "m:1",
        ["applicant"] * n,
        np.array([[1.5, np.nan]] * n),
        np.full(n, 0.25),
        np.full(n, refused),
    )


def test_a_segment_is_an_arrow_stream_with_every_documented_column(tmp_path: Path) -> None:
    writer, counts = _writer(tmp_path)
    _submit(writer, 10, 2, refused=True)
    writer.close()
    (segment,) = tmp_path.iterdir()
    assert segment.name == f"seg-w1-00000001{CLOSED_SUFFIX}"
    table = pa.ipc.open_stream(segment.read_bytes()).read_all()  # a plain Arrow reader reads it whole
    assert table.schema.metadata == {b"payload_log_version": str(PAYLOAD_LOG_VERSION).encode()}
    assert table.schema.names == [
        "time", "request_id", "caller_id", "model_tag", "input", "probability", "decision", "features",
        "groups",
    ]  # fmt: skip
    first, second = table.to_pylist()
    assert abs(first["time"] - datetime.now(UTC)).total_seconds() < 30
    assert {k: v for k, v in first.items() if k not in ("time", "features")} == {
        "request_id": "w1-a",
        "caller_id": "c10",
        "model_tag": "m:1",
        "input": "applicant",
        "probability": 0.25,
        "decision": "refuse",
        "groups": None,  # submitted without groups
    }
    assert first["features"]["a"] == 1.5 and math.isnan(first["features"]["b"])
    assert second["request_id"] == "w1-b" and second["caller_id"] == "c11"
    assert counts == {"written": 2}


def test_requests_drained_together_are_written_as_alone() -> None:
    """Requests in one batch give the same records as the same requests encoded one by one."""
    rng = np.random.default_rng(3)
    schema = payload_schema(["a", "b"])
    alone_queues = []
    together_queue = QueuedRecords()
    for seq, size in ((0, 1), (1, 3), (4, 1), (5, 2)):
        matrix = rng.random((size, 2)) * 1e5
        matrix[0, 1] = np.nan
        ids = [f"w1-{seq + i:x}" for i in range(size)]
        callers = [None if i % 2 else f"caller-{seq + i}" for i in range(size)]
        forms = ["features" if i % 2 else "applicant" for i in range(size)]
        request = (ids, callers, f"m:{seq % 2}", forms, matrix, rng.random(size), rng.random(size) > 0.5)
        groups = [int(rng.integers(0, 4000)) if form == "applicant" else NO_GROUPS for form in forms]
        together_queue.add(*request, time_s=1_790_000_000 + seq / 7, groups=groups)
        alone_queue = QueuedRecords()
        alone_queue.add(*request, time_s=1_790_000_000 + seq / 7, groups=groups)
        alone_queues.append(alone_queue)
    together = pa.Table.from_batches([record_batch(schema, together_queue)])
    alone = pa.Table.from_batches([record_batch(schema, queue) for queue in alone_queues])
    assert together.num_rows == 7
    assert together.drop_columns("features").equals(alone.drop_columns("features"))
    for name in ("a", "b"):  # NaN (missing) compares equal here, not in Table.equals
        np.testing.assert_array_equal(
            together.column("features").combine_chunks().field(name).to_numpy(),
            alone.column("features").combine_chunks().field(name).to_numpy(),
        )
    assert together.column("request_id").to_pylist() == [f"w1-{i:x}" for i in range(7)]
    labelled = [row is not None for row in together.column("groups").to_pylist()]
    assert labelled == [form == "applicant" for form in together.column("input").to_pylist()]
    assert together.column("time").to_pylist()[1] == datetime.fromtimestamp(1_790_000_000 + 1 / 7, UTC)


def test_records_reach_the_spool_through_the_thread_and_segments_rotate(tmp_path: Path) -> None:
    writer, counts = _writer(tmp_path, segment_max_bytes=1200)
    writer.start()
    for i in range(10):
        _submit(writer, i, 1)
        _until(lambda n=i + 1: counts.get("written") == n)  # each record in its own batch: segments rotate
    writer.close()
    segments = sorted(tmp_path.iterdir())
    assert len(segments) > 1 and all(p.name.endswith(CLOSED_SUFFIX) for p in segments)
    assert [r["request_id"] for r in read_spool(tmp_path)] == [f"w1-{i:x}" for i in range(10)]
    assert counts == {"written": 10}


def test_an_old_segment_is_closed_and_an_open_one_is_readable_up_to_its_last_batch(tmp_path: Path) -> None:
    writer, _ = _writer(tmp_path)
    _submit(writer, 0, 3)
    writer.flush()
    (open_segment,) = tmp_path.iterdir()
    assert open_segment.name.endswith(OPEN_SUFFIX)
    with open_segment.open("ab") as segment:  # what a reader may see while a batch is being written
        segment.write(b"\xff\xff\xff\xff\x10\x00")
    assert read_segment(open_segment).num_rows == 3
    os.truncate(open_segment, open_segment.stat().st_size - 6)
    writer._segments.segment_max_age_s = 0.0
    writer.flush()
    assert [p.name.endswith(CLOSED_SUFFIX) for p in tmp_path.iterdir()] == [True]
    writer.close()


def test_queue_full_drops_instead_of_blocking(tmp_path: Path) -> None:
    writer, counts = _writer(tmp_path, queue_size=5)  # thread not started: nothing is taken off the queue
    for i in range(4):
        _submit(writer, i * 2, 2)
    assert counts == {"queue_full": 4}  # 4 of 8 queued, nothing taken off the queue
    writer.close()
    assert len(read_spool(tmp_path)) == 4 and counts["written"] == 4


def test_full_spool_drops_whole_batches_and_counts_them(tmp_path: Path) -> None:
    writer, counts = _writer(tmp_path, max_bytes=2500)
    for i in range(8):
        _submit(writer, i * 2, 2)
        writer.flush()
    writer.close()
    assert counts["written"] + counts["spool_full"] == 16 and counts["spool_full"] > 0
    assert sum(p.stat().st_size for p in tmp_path.iterdir()) <= 2500  # schemas and end markers included
    assert len(read_spool(tmp_path)) == counts["written"]


def test_unwritable_directory_counts_write_errors(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    writer, counts = _writer(blocker / "spool")
    _submit(writer, 0, 3)
    writer.flush()
    _submit(writer, 3, 1)
    writer.close()
    assert counts == {"write_error": 4}


def test_a_failed_write_is_cut_back_and_the_segment_stays_readable(tmp_path: Path, monkeypatch) -> None:
    writer, counts = _writer(tmp_path)
    _submit(writer, 0, 2)
    writer.flush()
    real_write = os.write

    def half_then_fail(fd: int, data) -> int:  # a disk that fills up in the middle of a batch
        real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", half_then_fail)
    _submit(writer, 2, 3)
    writer.flush()
    monkeypatch.setattr(os, "write", real_write)
    _submit(writer, 5, 1)
    writer.close()
    assert counts == {"written": 3, "write_error": 3}
    assert [r["request_id"] for r in read_spool(tmp_path)] == ["w1-0", "w1-1", "w1-5"]


def test_records_that_cannot_be_encoded_are_counted_not_lost_silently(tmp_path: Path) -> None:
    writer, counts = _writer(tmp_path)
    writer.submit(["w1-0"], [None], "m:1", ["features"], np.zeros((1, 3)), np.array([0.5]), np.array([False]))
    _submit(writer, 1, 1)
    writer.close()
    assert counts == {"write_error": 2}  # both were in the one batch the bad matrix spoiled


def test_submitting_from_many_threads_loses_nothing(tmp_path: Path) -> None:
    writer, counts = _writer(tmp_path, queue_size=100_000)
    writer.start()

    def submit_many(thread: int) -> None:
        for i in range(200):
            _submit(writer, thread * 1000 + i, 1)

    threads = [threading.Thread(target=submit_many, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.close()
    ids = [r["request_id"] for r in read_spool(tmp_path)]
    assert len(ids) == len(set(ids)) == 800 and counts == {"written": 800}


def test_an_event_loop_that_submits_encodes_its_own_records(tmp_path: Path, monkeypatch) -> None:
    """Encoding is Python work: the writer thread asks the submitting loop to do it between requests."""
    import asyncio

    from service import payload_log

    encoded_on: list[int] = []
    real_record_batch = payload_log.record_batch

    def recording_record_batch(schema, queued):
        encoded_on.append(threading.get_ident())
        return real_record_batch(schema, queued)

    monkeypatch.setattr(payload_log, "record_batch", recording_record_batch)
    writer, counts = _writer(tmp_path, flush_interval_s=0.01)
    writer.start()

    async def serve() -> int:
        for i in range(40):
            _submit(writer, i, 1)
            await asyncio.sleep(0.002)
        while counts.get("written", 0) < 40:
            await asyncio.sleep(0.01)
        return threading.get_ident()

    loop_thread = asyncio.run(asyncio.wait_for(serve(), timeout=10))
    writer.close()
    assert encoded_on and set(encoded_on) == {loop_thread}
    assert [r["request_id"] for r in read_spool(tmp_path)] == [f"w1-{i:x}" for i in range(40)]


def test_submitting_leaves_no_object_for_the_garbage_collector(tmp_path: Path) -> None:
    """A queued request keeps only floats, strings and arrays, which the collector does not track: objects
    held for a flush interval are promoted to the oldest generation and set off full collections (60 ms
    pauses of the worker, BENCHMARKS.md)."""
    import gc

    writer, _ = _writer(tmp_path, queue_size=10_000)
    _submit(writer, 0, 1)  # the columns' lists exist from here on
    gc.collect()
    tracked = len(gc.get_objects())
    for i in range(1, 2001):
        _submit(writer, i, 1 + i % 3)
    assert len(gc.get_objects()) - tracked < 50
    writer.close()
    assert len(read_spool(tmp_path)) == 1 + sum(1 + i % 3 for i in range(1, 2001))


def _document(**columns: object) -> SimpleNamespace:
    """An application with the monitored columns (the rest of a document plays no part in its groups)."""
    values = {"CODE_GENDER": None, "NAME_FAMILY_STATUS": None, "CNT_CHILDREN": None, "CNT_FAM_MEMBERS": None}
    values["DAYS_BIRTH"] = None
    values.update(columns)
    return SimpleNamespace(**values)


def test_groups_reach_the_spool_as_labels_and_feature_vectors_have_none(tmp_path: Path) -> None:
    """The ``groups`` column round trip: each documented label, the missing and unknown ones, and null for a
    feature vector, through the writer thread and the segment on disk."""
    documents = [
        _document(CODE_GENDER="F", NAME_FAMILY_STATUS="Married", CNT_CHILDREN=0, CNT_FAM_MEMBERS=2.0,
                  DAYS_BIRTH=-int(24.9 * 365.25)),
        _document(CODE_GENDER="M", NAME_FAMILY_STATUS="Widow", CNT_CHILDREN=2, CNT_FAM_MEMBERS=1.0,
                  DAYS_BIRTH=-int(25.01 * 365.25)),
        _document(CODE_GENDER="XNA", NAME_FAMILY_STATUS="Polygamous", CNT_CHILDREN=7, CNT_FAM_MEMBERS=9.0,
                  DAYS_BIRTH=-int(61.99 * 365.25)),
        _document(DAYS_BIRTH=-int(62.01 * 365.25)),
    ]  # fmt: skip
    writer, counts = _writer(tmp_path)
    writer.start()
    writer.submit(
        ["w1-0", "w1-1", "w1-2", "w1-3", "w1-4"],
        [None] * 5,
        "m:1",
        ["applicant"] * 4 + ["features"],
        np.zeros((5, 2)),
        np.full(5, 0.25),
        np.zeros(5, dtype=bool),
        groups=[*map(group_code, documents), NO_GROUPS],
    )
    writer.close()
    assert counts == {"written": 5}
    (segment,) = tmp_path.iterdir()
    table = read_segment(segment)
    assert table.schema.field("groups").type == pa.struct([(a.name, pa.string()) for a in MONITORED])
    assert table.column("groups").to_pylist() == [
        {"CODE_GENDER": "F", "NAME_FAMILY_STATUS": "Married", "CNT_CHILDREN": "0", "CNT_FAM_MEMBERS": "2",
         "AGE_BAND": "under_25"},
        {"CODE_GENDER": "M", "NAME_FAMILY_STATUS": "Widow", "CNT_CHILDREN": "2", "CNT_FAM_MEMBERS": "1",
         "AGE_BAND": "25_to_61"},
        {"CODE_GENDER": "XNA", "NAME_FAMILY_STATUS": "other", "CNT_CHILDREN": "3+", "CNT_FAM_MEMBERS": "4+",
         "AGE_BAND": "25_to_61"},
        {"CODE_GENDER": "XNA", "NAME_FAMILY_STATUS": "XNA", "CNT_CHILDREN": "XNA", "CNT_FAM_MEMBERS": "XNA",
         "AGE_BAND": "62_and_over"},
        None,
    ]  # fmt: skip


def test_groups_of_the_wrong_length_or_out_of_range_cost_no_record() -> None:
    """A bug in the groups never makes the drain unencodable: those records are logged without groups."""
    queue = QueuedRecords()
    queue.add(["w-0", "w-1"], [None, None], "m:1", ["applicant"] * 2, np.zeros((2, 2)), np.full(2, 0.1),
              np.zeros(2, dtype=bool), groups=[0])  # fmt: skip
    queue.add(["w-2", "w-3"], [None, None], "m:1", ["applicant"] * 2, np.zeros((2, 2)), np.full(2, 0.1),
              np.zeros(2, dtype=bool), groups=[10**9, 1])  # fmt: skip
    batch = record_batch(payload_schema(["a", "b"]), queue)
    groups = batch.column("groups").to_pylist()
    assert groups[:3] == [None, None, None] and groups[3]["CODE_GENDER"] == "M"
