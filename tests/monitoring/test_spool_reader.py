"""Tailing the spool: partial lines, rotation, truncated tails, stale and vanished segments, deletion."""

from __future__ import annotations

import os
import time
from pathlib import Path

from monitoring.spool_reader import SpoolReader
from tests.monitoring.synthetic import SpoolWriter


def lines_of(reader: SpoolReader) -> list[bytes]:
    return [line for read in reader.read_available().reads for line in read.lines]


def test_partial_last_line_waits_for_its_end(tmp_path: Path) -> None:
    writer = SpoolWriter(tmp_path)
    writer.append_lines(["a", "b"])
    writer.append_bytes(b'{"half":')
    reader = SpoolReader(tmp_path)
    assert lines_of(reader) == [b"a", b"b"]
    assert lines_of(reader) == []
    writer.append_bytes(b" 1}\nc\n")
    assert lines_of(reader) == [b'{"half": 1}', b"c"]


def test_rotation_keeps_the_offset_and_reads_each_line_once(tmp_path: Path) -> None:
    writer = SpoolWriter(tmp_path)
    writer.append_lines(["1", "2"])
    reader = SpoolReader(tmp_path)
    assert lines_of(reader) == [b"1", b"2"]
    writer.append_lines(["3"])
    writer.close_segment()
    writer.append_lines(["4"])
    assert lines_of(reader) == [b"3", b"4"]
    assert set(reader.offsets) == {"seg-test-1-000000", "seg-test-1-000001"}


def test_a_listing_that_misses_a_renamed_segment_does_not_forget_its_offset(tmp_path: Path) -> None:
    """A directory listing racing the writer's rename may show neither name: no line may be read twice."""
    writer = SpoolWriter(tmp_path)
    writer.append_lines(["1", "2"])
    reader = SpoolReader(tmp_path)
    assert lines_of(reader) == [b"1", b"2"]
    writer.append_lines(["3"])
    writer.close_segment()
    real_scan = reader.scan
    reader.scan = lambda: {}  # type: ignore[method-assign]  # the listing saw neither name this time
    result = reader.read_available()
    assert result.vanished == [] and result.reads == []
    reader.scan = real_scan  # type: ignore[method-assign]
    assert lines_of(reader) == [b"3"]


def test_unterminated_tail_of_a_closed_segment_is_reported_truncated(tmp_path: Path) -> None:
    writer = SpoolWriter(tmp_path)
    writer.append_lines(["1"])
    writer.append_bytes(b"broken")
    closed = writer.close_segment()
    result = SpoolReader(tmp_path).read_available()
    assert [r.lines for r in result.reads] == [[b"1"]]
    assert result.reads[0].truncated_tail
    reader = SpoolReader(tmp_path, {"seg-test-1-000000": closed.stat().st_size})
    assert reader.read_available().reads == []


def test_stale_open_segment_counts_as_closed(tmp_path: Path) -> None:
    writer = SpoolWriter(tmp_path)
    writer.append_lines(["1"])
    writer.append_bytes(b"never-finished")
    old = time.time() - 3600
    os.utime(writer.open_path, (old, old))
    reader = SpoolReader(tmp_path, stale_open_seconds=60)
    read = reader.read_available().reads[0]
    assert read.lines == [b"1"] and read.truncated_tail
    deleted = reader.delete_consumed(dict(reader.offsets), reader.consumed)
    assert deleted == ["seg-test-1-000000"]
    assert not any(tmp_path.iterdir())


def test_segment_deleted_by_someone_else_is_forgotten(tmp_path: Path) -> None:
    writer = SpoolWriter(tmp_path)
    writer.append_lines(["1"])
    path = writer.open_path
    reader = SpoolReader(tmp_path)
    lines_of(reader)
    path.unlink()
    assert reader.read_available().vanished == ["seg-test-1-000000"]
    assert reader.offsets == {}


def test_consumed_segment_gone_at_restart_is_not_reported_vanished(tmp_path: Path) -> None:
    """Deleted by a previous process after the checkpoint that marked it consumed, before the next one."""
    writer = SpoolWriter(tmp_path)
    writer.append_lines(["1", "2"])
    closed = writer.close_segment()
    reader = SpoolReader(tmp_path)
    lines_of(reader)
    saved_offsets, saved_consumed = dict(reader.offsets), set(reader.consumed)
    assert saved_consumed == {"seg-test-1-000000"}
    reader.delete_consumed(saved_offsets, saved_consumed)
    assert not closed.exists()
    restarted = SpoolReader(tmp_path, saved_offsets, consumed=saved_consumed)
    result = restarted.read_available()
    assert result.vanished == [] and result.gone_consumed == ["seg-test-1-000000"]
    assert restarted.offsets == {} and restarted.consumed == set()


def test_segment_gone_at_restart_with_unread_bytes_is_reported_vanished(tmp_path: Path) -> None:
    writer = SpoolWriter(tmp_path)
    writer.append_lines(["1", "2"])
    reader = SpoolReader(tmp_path)
    lines_of(reader)
    saved_offsets, saved_consumed = dict(reader.offsets), set(reader.consumed)
    assert saved_consumed == set()  # still open: more lines may come
    writer.append_lines(["3"])
    writer.close_segment().unlink()  # "3" was never read
    result = SpoolReader(tmp_path, saved_offsets, consumed=saved_consumed).read_available()
    assert result.vanished == ["seg-test-1-000000"] and result.gone_consumed == []


def test_only_closed_segments_consumed_up_to_the_committed_offset_are_deleted(tmp_path: Path) -> None:
    writer = SpoolWriter(tmp_path)
    writer.append_lines(["1", "2"])
    closed = writer.close_segment()
    writer.append_lines(["3"])
    reader = SpoolReader(tmp_path)
    lines_of(reader)
    assert reader.consumed == {"seg-test-1-000000"}  # the open one is never consumed
    assert reader.delete_consumed({}, set()) == []  # nothing committed yet: keep everything
    assert reader.delete_consumed(dict(reader.offsets), set()) == []  # offsets saved, not marked consumed
    assert closed.exists()
    assert reader.delete_consumed(dict(reader.offsets), reader.consumed) == ["seg-test-1-000000"]
    assert not closed.exists()
    assert writer.open_path.exists()  # open segments are never deleted


def test_files_that_are_not_segments_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello\n")
    (tmp_path / "seg-x-1.tmp").write_text("x\n")
    assert SpoolReader(tmp_path).read_available().reads == []
