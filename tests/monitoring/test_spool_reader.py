"""Tailing the spool: partial messages, rotation, restarts, truncated tails, stale and vanished segments,
deletion, names of segments that cannot be read."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from monitoring.spool_reader import ReadResult, SpoolReader
from service.payload_log import payload_schema
from tests.monitoring.synthetic import SpoolWriter

SCHEMA = payload_schema(["a"])


def rec(request_id: str) -> dict:
    """A minimal valid payload record."""
    return {
        "time": datetime.now(UTC),
        "request_id": request_id,
        "caller_id": None,
        "model_tag": "m:1",
        "input": "features",
        "probability": 0.5,
        "decision": "accept",
        "features": {"a": 1.0},
    }


def message(*ids: str) -> bytes:
    """The record-batch message of records with these ids, as the writer appends it."""
    return pa.RecordBatch.from_pylist([rec(i) for i in ids], schema=SCHEMA).serialize().to_pybytes()


def writer_for(spool: Path, writer_id: str = "test1") -> SpoolWriter:
    return SpoolWriter(spool, writer_id=writer_id, feature_names=["a"])


def ids_of(reader: SpoolReader) -> list[str]:
    return ids_in(reader.read_available())


def ids_in(result: ReadResult) -> list[str]:
    return [
        i for read in result.reads for batch in read.batches for i in batch.column("request_id").to_pylist()
    ]


def test_partial_last_message_waits_for_its_end(tmp_path: Path) -> None:
    writer = writer_for(tmp_path)
    writer.append([rec("a"), rec("b")])
    half = message("c")
    writer.append_bytes(half[:40])
    reader = SpoolReader(tmp_path)
    assert ids_of(reader) == ["a", "b"]
    assert ids_of(reader) == []
    writer.append_bytes(half[40:])
    assert ids_of(reader) == ["c"]
    assert reader.offsets["seg-test1-00000001"] == writer.open_path.stat().st_size


def test_rotation_keeps_the_offset_and_reads_each_record_once(tmp_path: Path) -> None:
    writer = writer_for(tmp_path)
    writer.append([rec("1"), rec("2")])
    reader = SpoolReader(tmp_path)
    assert ids_of(reader) == ["1", "2"]
    writer.append([rec("3")])
    closed = writer.close_segment()
    writer.append([rec("4")])
    assert ids_of(reader) == ["3", "4"]
    assert set(reader.offsets) == {"seg-test1-00000001", "seg-test1-00000002"}
    assert reader.offsets["seg-test1-00000001"] == closed.stat().st_size  # the end-of-stream marker too
    assert reader.consumed == {"seg-test1-00000001"}


def test_a_restarted_reader_reads_the_schema_again_and_goes_on_from_its_offset(tmp_path: Path) -> None:
    writer = writer_for(tmp_path)
    writer.append([rec("1")])
    reader = SpoolReader(tmp_path)
    assert ids_of(reader) == ["1"]
    writer.append([rec("2")])
    assert ids_of(SpoolReader(tmp_path, dict(reader.offsets))) == ["2"]


def test_a_message_larger_than_a_chunk_is_read_whole(tmp_path: Path) -> None:
    writer = writer_for(tmp_path)
    writer.append([rec(str(i)) for i in range(200)])
    reader = SpoolReader(tmp_path, chunk_bytes=256)
    assert ids_of(reader) == [str(i) for i in range(200)]


def test_a_listing_that_misses_a_renamed_segment_does_not_forget_its_offset(tmp_path: Path) -> None:
    """A directory listing racing the writer's rename may show neither name: no record may be read twice."""
    writer = writer_for(tmp_path)
    writer.append([rec("1"), rec("2")])
    reader = SpoolReader(tmp_path)
    assert ids_of(reader) == ["1", "2"]
    writer.append([rec("3")])
    writer.close_segment()
    real_scan = reader.scan
    reader.scan = lambda: {}  # type: ignore[method-assign]  # the listing saw neither name this time
    result = reader.read_available()
    assert result.vanished == [] and result.reads == []
    reader.scan = real_scan  # type: ignore[method-assign]
    assert ids_of(reader) == ["3"]


def test_unreadable_tail_of_a_closed_segment_is_reported_truncated(tmp_path: Path) -> None:
    writer = writer_for(tmp_path)
    writer.append([rec("1")])
    writer.append_bytes(message("2")[:50])
    closed = writer.close_segment()
    result = SpoolReader(tmp_path).read_available()
    assert [b.num_rows for b in result.reads[0].batches] == [1]
    assert result.reads[0].truncated_tail
    reader = SpoolReader(tmp_path, {"seg-test1-00000001": closed.stat().st_size})
    assert reader.read_available().reads == []


def test_a_closed_segment_without_a_schema_is_skipped_as_truncated(tmp_path: Path) -> None:
    (tmp_path / "seg-x-00000001.arrows").write_bytes(b"not an arrow stream")
    reader = SpoolReader(tmp_path)
    (read,) = reader.read_available().reads
    assert read.batches == [] and read.truncated_tail
    assert reader.consumed == {"seg-x-00000001"}


def test_stale_open_segment_counts_as_closed(tmp_path: Path) -> None:
    writer = writer_for(tmp_path)
    writer.append([rec("1")])
    writer.append_bytes(b"never-finished")
    old = time.time() - 3600
    os.utime(writer.open_path, (old, old))
    reader = SpoolReader(tmp_path, stale_open_seconds=60)
    read = reader.read_available().reads[0]
    assert [b.num_rows for b in read.batches] == [1] and read.truncated_tail
    deleted = reader.delete_consumed(dict(reader.offsets), reader.consumed)
    assert deleted == ["seg-test1-00000001"]
    assert not any(tmp_path.iterdir())


def test_segment_deleted_by_someone_else_is_forgotten(tmp_path: Path) -> None:
    writer = writer_for(tmp_path)
    writer.append([rec("1")])
    path = writer.open_path
    reader = SpoolReader(tmp_path)
    ids_of(reader)
    path.unlink()
    assert reader.read_available().vanished == ["seg-test1-00000001"]
    assert reader.offsets == {}


def test_consumed_segment_gone_at_restart_is_not_reported_vanished(tmp_path: Path) -> None:
    """Deleted by a previous process after the checkpoint that marked it consumed, before the next one."""
    writer = writer_for(tmp_path)
    writer.append([rec("1"), rec("2")])
    closed = writer.close_segment()
    reader = SpoolReader(tmp_path)
    ids_of(reader)
    saved_offsets, saved_consumed = dict(reader.offsets), set(reader.consumed)
    assert saved_consumed == {"seg-test1-00000001"}
    reader.delete_consumed(saved_offsets, saved_consumed)
    assert not closed.exists()
    restarted = SpoolReader(tmp_path, saved_offsets, consumed=saved_consumed)
    result = restarted.read_available()
    assert result.vanished == [] and result.gone_consumed == ["seg-test1-00000001"]
    assert restarted.offsets == {} and restarted.consumed == set()


def test_segment_gone_at_restart_with_unread_bytes_is_reported_vanished(tmp_path: Path) -> None:
    writer = writer_for(tmp_path)
    writer.append([rec("1"), rec("2")])
    reader = SpoolReader(tmp_path)
    ids_of(reader)
    saved_offsets, saved_consumed = dict(reader.offsets), set(reader.consumed)
    assert saved_consumed == set()  # still open: more records may come
    writer.append([rec("3")])
    writer.close_segment().unlink()  # "3" was never read
    result = SpoolReader(tmp_path, saved_offsets, consumed=saved_consumed).read_available()
    assert result.vanished == ["seg-test1-00000001"] and result.gone_consumed == []


def test_only_closed_segments_consumed_up_to_the_committed_offset_are_deleted(tmp_path: Path) -> None:
    writer = writer_for(tmp_path)
    writer.append([rec("1"), rec("2")])
    closed = writer.close_segment()
    writer.append([rec("3")])
    reader = SpoolReader(tmp_path)
    ids_of(reader)
    assert reader.consumed == {"seg-test1-00000001"}  # the open one is never consumed
    assert reader.delete_consumed({}, set()) == []  # nothing committed yet: keep everything
    assert reader.delete_consumed(dict(reader.offsets), set()) == []  # offsets saved, not marked consumed
    assert closed.exists()
    assert reader.delete_consumed(dict(reader.offsets), reader.consumed) == ["seg-test1-00000001"]
    assert not closed.exists()
    assert writer.open_path.exists()  # open segments are never deleted


def test_files_that_are_not_segments_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello\n")
    (tmp_path / "seg-x-1.tmp").write_text("x\n")
    (tmp_path / "seg-x-2.jsonl").write_text("{}\n")  # format 1: not this reader's
    assert SpoolReader(tmp_path).read_available().reads == []


def skipped_in(result: ReadResult) -> dict[str, str]:
    return {skipped.stem: skipped.reason for skipped in result.skipped}


@pytest.mark.timeout(60)  # before the fix, opening the FIFO blocked for ever
def test_names_of_segments_that_cannot_be_read_are_skipped_once_and_the_others_are_read(
    tmp_path: Path,
) -> None:
    """A directory, a FIFO and a symbolic-link loop under segment names (each fails for root too)."""
    first = writer_for(tmp_path, "a")
    first.append([rec("a1")])
    first.close_segment()
    (tmp_path / "seg-b-00000001.arrows").mkdir()
    os.mkfifo(tmp_path / "seg-c-00000001.arrows.open")  # opening it would wait for a writer
    (tmp_path / "seg-d-00000001.arrows").symlink_to("seg-d-00000001.arrows")  # stat fails: ELOOP
    last = writer_for(tmp_path, "z")
    last.append([rec("z1"), rec("z2")])
    reader = SpoolReader(tmp_path)
    result = reader.read_available()
    assert ids_in(result) == ["a1", "z1", "z2"]
    assert skipped_in(result) == {
        "seg-b-00000001": "not_a_file",
        "seg-c-00000001": "not_a_file",
        "seg-d-00000001": "unreadable",
    }
    details = {skipped.stem: skipped.detail for skipped in result.skipped}
    assert details["seg-b-00000001"] == "a directory" and details["seg-c-00000001"] == "a FIFO"
    assert "symbolic links" in details["seg-d-00000001"]
    again = reader.read_available()
    assert again.skipped == [] and again.reads == []  # reported once
    assert set(reader.skipped) == {"seg-b-00000001", "seg-c-00000001", "seg-d-00000001"}
    assert reader.lag_bytes() == 0 and reader.pending_segments() == 0
    assert set(reader.offsets) == {"seg-a-00000001", "seg-z-00000001"}
    assert reader.delete_consumed(dict(reader.offsets), reader.consumed) == ["seg-a-00000001"]
    assert (tmp_path / "seg-b-00000001.arrows").is_dir()  # never deleted
    last.append([rec("z3")])
    assert ids_of(reader) == ["z3"]  # ingestion goes on


def test_a_skipped_name_that_disappears_is_forgotten_and_a_segment_under_it_is_read(tmp_path: Path) -> None:
    (tmp_path / "seg-b-00000001.arrows").mkdir()
    reader = SpoolReader(tmp_path)
    assert skipped_in(reader.read_available()) == {"seg-b-00000001": "not_a_file"}
    (tmp_path / "seg-b-00000001.arrows").rmdir()
    result = reader.read_available()
    assert result.vanished == [] and reader.skipped == {}
    writer = writer_for(tmp_path, "b")
    writer.append([rec("b1")])
    assert writer.open_path.name == "seg-b-00000001.arrows.open"
    assert ids_of(reader) == ["b1"]


WITHOUT_DAC = "CREDIT_SCORING_TEST_WITHOUT_DAC"
"""Set in the child process that runs a permission test without the capabilities that bypass modes."""


def _reads_mode_000(directory: Path) -> bool:
    """Whether this process reads a file of mode 000 (root with CAP_DAC_OVERRIDE does)."""
    probe = directory / "mode-000-probe"
    probe.write_text("x")
    probe.chmod(0)
    try:
        probe.read_text()
        return True
    except PermissionError:
        return False
    finally:
        probe.chmod(0o600)
        probe.unlink()


def _rerun_without_dac(test: str) -> None:
    """Run ``test`` of this file in a child pytest whose capability bounding set lacks the two that let
    root read any file (util-linux's ``setpriv``), and require it to pass."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("this process reads any file and setpriv (util-linux) is not installed")
    command = [setpriv, "--bounding-set=-dac_override,-dac_read_search", sys.executable, "-m", "pytest"]
    command += ["-q", "-p", "no:cacheprovider", f"{__file__}::{test}"]
    child = subprocess.run(
        command, env={**os.environ, WITHOUT_DAC: "1"}, capture_output=True, text=True, timeout=240
    )
    assert child.returncode == 0, child.stdout + child.stderr
    assert re.search(r"^1 passed", child.stdout, re.M), child.stdout


def test_a_segment_that_cannot_be_opened_is_skipped_and_keeps_its_offset(tmp_path: Path) -> None:
    if _reads_mode_000(tmp_path):
        if os.environ.get(WITHOUT_DAC):
            pytest.fail("the capabilities that bypass file modes were not dropped")
        _rerun_without_dac("test_a_segment_that_cannot_be_opened_is_skipped_and_keeps_its_offset")
        return
    writer = writer_for(tmp_path, "a")
    writer.append([rec("a1")])
    other = writer_for(tmp_path, "z")
    other.append([rec("z1")])
    reader = SpoolReader(tmp_path)
    assert ids_of(reader) == ["a1", "z1"]
    offset = reader.offsets["seg-a-00000001"]
    writer.append([rec("a2")])
    other.append([rec("z2")])
    writer.open_path.chmod(0)
    result = reader.read_available()
    assert ids_in(result) == ["z2"]
    assert skipped_in(result) == {"seg-a-00000001": "unreadable"}
    assert "Permission denied" in result.skipped[0].detail
    assert reader.offsets["seg-a-00000001"] == offset  # a restart reads on from there once it is readable
    assert reader.read_available().vanished == []


def test_an_unexpected_error_on_one_segment_loses_nothing_read_in_the_same_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure nobody foresaw (a bug, an odd file) while reading segment b: the records of a, read earlier
    in the same step, and of c are returned, b is skipped as unreadable, and the next steps go on."""
    for writer_id, ids in (("a", ["a1"]), ("b", ["b1"]), ("c", ["c1", "c2"])):
        segment = writer_for(tmp_path, writer_id)
        segment.append([rec(i) for i in ids])
        segment.close_segment()
    reader = SpoolReader(tmp_path)
    real_read = SpoolReader._read_segment

    def failing_on_b(self: SpoolReader, segment):  # the fault injected: no real file raises this on demand
        if segment.stem == "seg-b-00000001":
            raise RuntimeError("unforeseen")
        return real_read(self, segment)

    monkeypatch.setattr(SpoolReader, "_read_segment", failing_on_b)
    result = reader.read_available()
    assert ids_in(result) == ["a1", "c1", "c2"]
    assert skipped_in(result) == {"seg-b-00000001": "unreadable"}
    assert "unforeseen" in result.skipped[0].detail
    assert reader.read_available().reads == []
