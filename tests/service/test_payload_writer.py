"""The payload log from the worker's side: records reach the spool through a real writer process, drops are
counted, and the writer process survives signals, restarts after a crash and never outlives its worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psutil
import pytest

from service.payload_log import PayloadLogWriter
from tests.service.serving import wait_for
from tests.service.spool_records import read_spool

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


def _submit(writer: PayloadLogWriter, first: int, n: int) -> None:
    matrix = np.array([[1.5, np.nan]] * n)
    writer.submit(
        first,
        [f"c{i}" for i in range(n)],
        "m:1",
        ["applicant"] * n,
        matrix,
        np.full(n, 0.25),
        np.zeros(n, bool),
    )


def test_records_and_segment_rotation(tmp_path: Path) -> None:
    writer, counts = _writer(tmp_path, segment_max_bytes=300)
    writer.start()
    for i in range(10):
        _submit(writer, i, 1)
        _until(lambda: not writer.pending())  # each record on its own, so segments rotate
    writer.close()
    segments = sorted(tmp_path.iterdir())
    assert len(segments) > 1 and all(p.name.endswith(".jsonl") for p in segments)
    records = [json.loads(line) for p in segments for line in p.read_text().splitlines()]
    assert [r["request_id"] for r in records] == [writer.request_id(i) for i in range(10)]
    assert records[0]["features"] == {"a": 1.5, "b": None}
    assert records[0]["decision"] == "accept" and records[0]["probability"] == 0.25
    assert records[0]["input"] == "applicant"
    assert counts == {"written": 10}


def test_queue_full_drops_instead_of_blocking(tmp_path: Path) -> None:
    writer, counts = _writer(tmp_path, queue_size=5)  # thread not started: nothing is taken off the queue
    for i in range(4):
        _submit(writer, i * 2, 2)
    assert counts == {"queue_full": 4}
    assert writer.pending() == 4
    writer.start()
    writer.close()
    assert sum(len(p.read_text().splitlines()) for p in tmp_path.iterdir()) == 4


def test_requests_shipped_together_are_written_as_alone(tmp_path: Path) -> None:
    """Requests shipped in one drain give the same lines as the same requests shipped one by one."""
    rng = np.random.default_rng(3)
    writer, _ = _writer(tmp_path / "together")
    requests = []
    for seq, size in ((0, 1), (1, 3), (4, 1), (5, 2)):
        matrix = rng.random((size, 2)) * 1e5
        matrix[0, 1] = np.nan
        ids = [None if i % 2 else f"caller-{seq + i}" for i in range(size)]
        forms = ["features" if i % 2 else "applicant" for i in range(size)]
        requests.append((seq, ids, f"m:{seq % 2}", forms, matrix, rng.random(size), rng.random(size) > 0.5))
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


def test_writer_process_ignores_interrupts_and_closes_its_segment_at_the_end(tmp_path: Path) -> None:
    """Ctrl-C reaches the whole process group; the writer process keeps writing until its worker closes."""
    writer, counts = _writer(tmp_path)
    writer.start()
    _submit(writer, 0, 2)
    _until(lambda: not writer.pending())
    child = writer._process.process
    child.send_signal(signal.SIGINT)
    child.send_signal(signal.SIGTERM)
    _submit(writer, 2, 3)
    _until(lambda: not writer.pending())
    assert child.poll() is None
    writer.close()
    assert child.poll() == 0
    assert [r["request_id"] for r in read_spool(tmp_path, "seg-*.jsonl")] == [f"w1-{i:x}" for i in range(5)]
    assert not list(tmp_path.glob("*.open"))
    assert counts == {"written": 5}


def test_records_in_flight_to_a_killed_writer_process_are_counted_and_a_new_one_takes_over(
    tmp_path: Path,
) -> None:
    writer, counts = _writer(tmp_path)
    writer.start()
    _submit(writer, 0, 2)
    _until(lambda: not writer.pending())
    first = writer._process.process
    first.send_signal(signal.SIGSTOP)  # frames now wait in the pipe, unread
    _submit(writer, 2, 3)
    _until(lambda: writer._taken == 5)  # shipped to the stopped process
    first.kill()
    _until(lambda: not writer.pending())
    assert counts == {"written": 2, "write_error": 3}
    submitted = 5
    while not list(tmp_path.glob("seg-w1.r1-*")):  # a new process is started at most once a second
        _submit(writer, submitted, 1)
        submitted += 1
        _until(lambda: not writer.pending())
        assert submitted < 200
    writer.close()
    assert counts["written"] + counts["write_error"] == submitted
    written = read_spool(tmp_path)
    assert len(written) == counts["written"]
    assert {r["request_id"] for r in written} <= {f"w1-{i:x}" for i in range(submitted)}
    assert written[-1]["request_id"] == f"w1-{submitted - 1:x}"
    assert all(p.name.endswith(".jsonl") for p in tmp_path.glob("seg-w1.r1-*"))


_WORKER_SCRIPT = """
import sys, time
import numpy as np
from service.payload_log import PayloadLogWriter
writer = PayloadLogWriter(sys.argv[1], ["a"], max_bytes=10**9, segment_max_bytes=10**6,
                          segment_max_age_s=600.0, queue_size=100, writer_id="dying")
writer.start()
writer.submit(0, ["x", None, "z"], "m:1", ["features"] * 3, np.zeros((3, 1)), np.full(3, 0.5),
              np.zeros(3, bool))
while writer.pending():
    time.sleep(0.01)
print(writer._process.process.pid, flush=True)
time.sleep(600)
"""


def test_writer_process_closes_its_segment_and_exits_when_its_worker_is_killed(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    worker = subprocess.Popen(
        [sys.executable, "-c", _WORKER_SCRIPT, str(tmp_path)],
        stdout=subprocess.PIPE, text=True, cwd=root, env={**os.environ, "PYTHONPATH": str(root)},
    )  # fmt: skip
    try:
        child = psutil.Process(int(worker.stdout.readline()))
        assert list(tmp_path.glob("seg-dying-*.jsonl.open"))
        worker.kill()
        worker.wait(10)
        child.wait(10)
    finally:
        worker.kill()
    assert [p.name for p in tmp_path.iterdir()] == ["seg-dying-00000001.jsonl"]
    assert [r["caller_id"] for r in read_spool(tmp_path)] == ["x", None, "z"]


def test_a_frame_the_writer_process_cannot_read_is_counted_as_dropped(tmp_path: Path) -> None:
    writer, counts = _writer(tmp_path)
    writer.start()
    assert writer._process.send(b"not a pickled drain", 3)
    _submit(writer, 0, 2)
    _until(lambda: counts.get("written") == 2)
    assert counts == {"written": 2, "write_error": 3}
    writer.close()


def test_an_event_loop_that_submits_packs_its_own_records(tmp_path: Path, monkeypatch) -> None:
    """Records submitted from an event loop are packed on that loop's thread, never by the writer thread."""
    import asyncio

    import service.payload_log as payload_log

    packing_threads: set[int] = set()
    real_drain_of = payload_log.drain_of

    def recording_drain_of(batches):
        packing_threads.add(threading.get_ident())
        return real_drain_of(batches)

    monkeypatch.setattr(payload_log, "drain_of", recording_drain_of)
    writer, counts = _writer(tmp_path)
    writer.start()

    async def traffic() -> int:
        for i in range(40):
            _submit(writer, i, 1)
            await asyncio.sleep(0.005)
        while writer.pending():  # the loop must keep running for the writer thread's pack requests
            await asyncio.sleep(0.01)
        return threading.get_ident()

    loop_thread = asyncio.run(asyncio.wait_for(traffic(), 20))
    writer.close()
    assert packing_threads == {loop_thread}
    assert counts == {"written": 40}
    assert [r["request_id"] for r in read_spool(tmp_path)] == [f"w1-{i:x}" for i in range(40)]


def test_writer_process_runs_at_the_configured_niceness(tmp_path: Path) -> None:
    writer, _ = _writer(tmp_path, niceness=7)
    writer.start()
    _submit(writer, 0, 1)
    _until(lambda: not writer.pending())
    assert psutil.Process(writer._process.process.pid).nice() == psutil.Process().nice() + 7
    writer.close()


def test_records_that_cannot_be_packed_are_counted_not_lost(tmp_path: Path, monkeypatch) -> None:
    import service.payload_log as payload_log

    def broken_drain_of(batches):
        raise RuntimeError("a packing bug")

    writer, counts = _writer(tmp_path)
    monkeypatch.setattr(payload_log, "drain_of", broken_drain_of)
    _submit(writer, 0, 3)
    writer.start()
    _until(lambda: not writer.pending())
    monkeypatch.undo()
    _submit(writer, 3, 2)
    writer.close()
    assert counts == {"write_error": 3, "written": 2}
    assert [r["request_id"] for r in read_spool(tmp_path)] == ["w1-3", "w1-4"]
