"""Tail the payload spool: new whole record-batch messages of each segment since its recorded offset.

Follows the reader side of ``docs/payload-log.md``: each segment is an Arrow IPC stream. Offsets are keyed by
segment stem (``seg-<writer_id>-<seq>``), so the rename ``X.arrows.open`` -> ``X.arrows`` (same inode) keeps
them valid; an offset is the byte just after the last whole message handed out, and the stream's schema is
read from the segment's start (once per segment and process). A partial last message of an open segment is
left for the next read; at the end of a closed segment it can never be completed and is reported as
truncated. The reader does not persist anything: the caller checkpoints
:attr:`SpoolReader.offsets` and :attr:`SpoolReader.consumed` together with what it did with the lines, then
calls :meth:`delete_consumed`, which only deletes segments that checkpoint recorded as consumed. A segment
that disappears is therefore either known to be consumed (deleted by this reader, possibly in a previous
process that crashed before its next checkpoint) or reported as vanished: it may have held unread lines.

A name that looks like a segment but cannot be read (a directory or another non-file under that name, a
symbolic-link loop, a permission or I/O error) is skipped, not retried while it stays there: it is reported
once in :attr:`ReadResult.skipped`, left out of reading, lag and deletion, and the other segments are read as
usual. It becomes a candidate again once it has disappeared (or in a new process).
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from service.payload_log import CLOSED_SUFFIX, OPEN_SUFFIX, SEGMENT_PREFIX

log = logging.getLogger(__name__)

_SCHEMA_READ_BYTES = 1 << 20
"""Bytes read from a segment's start to find its schema (a few kB per hundred features)."""

SKIP_REASONS = ("not_a_file", "unreadable")
"""Why a segment is skipped: its name is taken by a directory, FIFO, socket or device (``not_a_file``), or
checking, opening or reading it fails (``unreadable``: permissions, a symbolic-link loop, an I/O error)."""


@dataclass(frozen=True)
class Segment:
    """One segment file as seen by the last scan."""

    stem: str
    """``seg-<writer_id>-<seq>``: the checkpoint key, identical before and after the rename."""
    path: Path
    """Current path of the file."""
    closed: bool
    """Closed by its writer, or stale (an ``.open`` segment whose writer stopped writing long ago)."""
    size: int
    """Size in bytes when scanned."""


@dataclass(frozen=True)
class SkippedSegment:
    """A segment name that cannot be read, skipped while it stays in the spool."""

    stem: str
    """``seg-<writer_id>-<seq>`` of the skipped name."""
    path: Path
    """The name as listed."""
    reason: str
    """One of :data:`SKIP_REASONS`."""
    detail: str
    """What failed (the error, or the kind of file found), for the log."""


@dataclass
class SegmentRead:
    """Record batches read from one segment in one step."""

    stem: str
    """Segment the batches come from."""
    batches: list[pa.RecordBatch]
    """Whole record batches, in order."""
    truncated_tail: bool = False
    """The segment is closed and its end could not be read (a partial or unreadable message), skipped."""
    n_bytes: int = 0
    """Bytes consumed from the segment by this read."""


@dataclass
class ReadResult:
    """Everything one :meth:`SpoolReader.read_available` step found."""

    reads: list[SegmentRead] = field(default_factory=list)
    """New record batches per segment, in segment name order."""
    vanished: list[str] = field(default_factory=list)
    """Stems that had an offset, were not known to be consumed, and whose file no longer exists (deleted by
    someone else, possibly with unread records)."""
    gone_consumed: list[str] = field(default_factory=list)
    """Stems known to be consumed whose file no longer exists (deleted once consumed): nothing was lost."""
    skipped: list[SkippedSegment] = field(default_factory=list)
    """Segments found unreadable in this step (each reported once while it stays in the spool)."""

    @property
    def n_records(self) -> int:
        """Records in the batches read."""
        return sum(batch.num_rows for r in self.reads for batch in r.batches)


class SpoolReader:
    """Reads new whole record batches from the segments of one spool directory."""

    def __init__(
        self,
        spool_dir: Path,
        offsets: dict[str, int] | None = None,
        *,
        consumed: Iterable[str] = (),
        chunk_bytes: int = 4 * 1024 * 1024,
        stale_open_seconds: float = 600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.spool_dir = Path(spool_dir)
        self.offsets: dict[str, int] = dict(offsets or {})
        """Read position per stem: bytes of the segment already handed to the caller."""
        self.consumed: set[str] = {stem for stem in consumed if stem in self.offsets}
        """Stems of closed segments read to their end (a subset of :attr:`offsets`' keys)."""
        self.chunk_bytes = chunk_bytes
        self.stale_open_seconds = stale_open_seconds
        self._clock = clock
        self._last_scan: dict[str, Segment] = {}
        self._schemas: dict[str, pa.Schema] = {}
        """The stream schema of each segment read so far, by stem."""
        self.skipped: dict[str, SkippedSegment] = {}
        """Segments now in the spool that cannot be read, by stem: not read, not deleted, not in the lag."""
        self._newly_skipped: list[SkippedSegment] = []

    def scan(self) -> dict[str, Segment]:
        """List the readable segments now in the spool, by stem (unreadable ones go to :attr:`skipped`)."""
        found: dict[str, Segment] = {}
        listed_skipped: set[str] = set()
        now = self._clock()
        try:
            entries = list(os.scandir(self.spool_dir))
        except FileNotFoundError:
            entries = []
        for entry in entries:
            name = entry.name
            if not name.startswith(SEGMENT_PREFIX):
                continue
            if name.endswith(OPEN_SUFFIX):
                stem, closed_name = name[: -len(OPEN_SUFFIX)], False
            elif name.endswith(CLOSED_SUFFIX):
                stem, closed_name = name[: -len(CLOSED_SUFFIX)], True
            else:
                continue
            try:
                st = entry.stat()
            except FileNotFoundError:  # renamed or deleted between listing and stat
                continue
            except OSError as exc:  # e.g. a symbolic-link loop
                self._skip(stem, Path(entry.path), "unreadable", exc)
                st = None
            if st is not None and not stat.S_ISREG(st.st_mode):  # opening a FIFO would block the loop
                self._skip(stem, Path(entry.path), "not_a_file", _file_kind(st.st_mode))
            if st is None or stem in self.skipped:
                listed_skipped.add(stem)
                continue
            closed = closed_name or (now - st.st_mtime) > self.stale_open_seconds
            previous = found.get(stem)
            if previous is not None and previous.path.name.endswith(CLOSED_SUFFIX):
                continue  # both names seen during a rename: the closed one is authoritative
            found[stem] = Segment(stem=stem, path=Path(entry.path), closed=closed, size=st.st_size)
        for stem in [s for s in self.skipped if s not in listed_skipped]:
            del self.skipped[stem]  # gone: a segment written under that name later is read again
        for stem in listed_skipped:
            found.pop(stem, None)  # the other name of a skipped stem
        self._last_scan = found
        return found

    def _skip(self, stem: str, path: Path, reason: str, error: object) -> None:
        """Set aside an unreadable segment (once: later failures of the same stem add nothing)."""
        if stem in self.skipped:
            return
        skipped = SkippedSegment(stem=stem, path=path, reason=reason, detail=str(error))
        self.skipped[stem] = skipped
        self._newly_skipped.append(skipped)
        self._last_scan.pop(stem, None)
        if self.offsets.get(stem) == 0:
            del self.offsets[stem]  # nothing read from it: its removal later loses nothing more
        log.warning(
            "skipping spool segment %s (%s: %s): its records are not ingested and it is not deleted; "
            "the other segments are read as usual. Remove or repair it.",
            path,
            reason,
            skipped.detail,
        )

    def read_available(self) -> ReadResult:
        """Read new data in segment name order until ~``chunk_bytes`` were read; advance :attr:`offsets`."""
        segments = self.scan()
        result = ReadResult()
        self._forget_missing(segments, result)
        budget = self.chunk_bytes
        for stem in sorted(segments):
            if budget <= 0:
                break
            try:
                read = self._read_segment(segments[stem])
            except Exception as exc:  # a bug or an unforeseen file: keep this step's other reads
                log.exception("unexpected error reading spool segment %s", segments[stem].path)
                self._skip(stem, segments[stem].path, "unreadable", exc)
                continue
            if read is not None:
                result.reads.append(read)
                budget -= read.n_bytes
        self._mark_consumed(segments)  # without the segments skipped while reading (_skip removed them)
        result.skipped, self._newly_skipped = self._newly_skipped, []
        return result

    def _forget_missing(self, segments: dict[str, Segment], result: ReadResult) -> None:
        """Drop the offsets of segments that are gone, sorting them into vanished and consumed ones."""
        for stem in [s for s in self.offsets if s not in segments]:
            if stem in self.skipped or self._still_exists(stem):
                continue  # skipped, or missed by a listing that raced the writer's rename: keep its offset
            if stem in self.consumed:
                result.gone_consumed.append(stem)
            else:
                result.vanished.append(stem)
            del self.offsets[stem]
            self.consumed.discard(stem)
            self._schemas.pop(stem, None)

    def _mark_consumed(self, segments: dict[str, Segment]) -> None:
        """Bring :attr:`consumed` up to date: the listed segments that are closed and read to their end."""
        for stem, seg in segments.items():
            if seg.closed and self.offsets.get(stem, -1) >= seg.size:
                self.consumed.add(stem)
            else:
                self.consumed.discard(stem)  # e.g. a stale .open segment whose writer appended again

    def _still_exists(self, stem: str) -> bool:
        """Whether a segment absent from the last listing is in fact still there under either name.

        A directory listing that runs while the writer renames ``X.arrows.open`` to ``X.arrows`` may show
        neither name. Forgetting the offset then would re-read the segment from 0 (double counting). The
        open name is checked first: the rename can only go from it to the closed name, so one of the two
        checks sees the file.
        """
        directory = self.spool_dir
        return (directory / (stem + OPEN_SUFFIX)).exists() or (directory / (stem + CLOSED_SUFFIX)).exists()

    def _read_segment(self, segment: Segment) -> SegmentRead | None:
        stem = segment.stem
        offset = self.offsets.setdefault(stem, 0)
        schema = self._schemas.get(stem)
        if schema is None:
            head = self._read_bytes(segment, 0, max(self.chunk_bytes, _SCHEMA_READ_BYTES))
            if stem in self.skipped:
                return None
            schema, schema_end = _read_schema(head or b"")
            if schema is None:
                return self._unreadable(segment, offset) if segment.closed else None
            self._schemas[stem] = schema
            offset = max(offset, schema_end)
        data = self._read_bytes(segment, offset, self.chunk_bytes)
        if data is None:
            return None
        batches, used, ended = _read_batches(data, schema)
        if not batches and not ended and offset + len(data) < segment.size:
            # a message larger than a chunk: read the rest of the segment (at most the writer's segment size)
            data = self._read_bytes(segment, offset, segment.size - offset)
            if data is None:
                return None
            batches, used, ended = _read_batches(data, schema)
        at_eof_of_closed = segment.closed and offset + len(data) >= segment.size
        truncated = at_eof_of_closed and not ended and used < len(data)
        if truncated:
            used = len(data)  # a tail that can never be completed
        self.offsets[stem] = offset + used
        if not batches and not truncated and not used:
            return None
        return SegmentRead(stem=stem, batches=batches, truncated_tail=truncated, n_bytes=used)

    def _unreadable(self, segment: Segment, offset: int) -> SegmentRead:
        """A closed segment without a readable schema: skipped to its end, reported truncated."""
        self.offsets[segment.stem] = segment.size
        return SegmentRead(stem=segment.stem, batches=[], truncated_tail=True, n_bytes=segment.size - offset)

    def _read_bytes(self, segment: Segment, offset: int, most: int) -> bytes | None:
        candidates = [segment.path]
        if not segment.path.name.endswith(CLOSED_SUFFIX):
            candidates.append(segment.path.with_name(segment.stem + CLOSED_SUFFIX))  # renamed since the scan
        for path in candidates:
            try:
                with open(path, "rb") as fh:
                    size = os.fstat(fh.fileno()).st_size
                    if size < offset:
                        log.warning(
                            "segment %s shrank below its offset (%d < %d); skipping", path, size, offset
                        )
                        self.offsets[segment.stem] = size
                        return None
                    fh.seek(offset)
                    return fh.read(min(most, size - offset))
            except FileNotFoundError:
                continue
            except OSError as exc:  # permissions, an I/O error, a directory put there since the scan
                self._skip(segment.stem, path, "unreadable", exc)
                return None
        return None

    def consumed_closed_segments(self, committed: dict[str, int], consumed: Collection[str]) -> list[Segment]:
        """Closed segments of the last scan that the caller's last checkpoint recorded as read to their end.

        ``committed`` and ``consumed`` are that checkpoint's offsets and :attr:`consumed` stems.
        """
        return [
            seg
            for stem, seg in self._last_scan.items()
            if seg.closed
            and stem in consumed
            and committed.get(stem, -1) >= seg.size
            and self.offsets.get(stem, -1) >= seg.size
        ]

    def delete_consumed(self, committed: dict[str, int], consumed: Collection[str]) -> list[str]:
        """Delete closed segments fully consumed according to the *committed* (checkpointed) state.

        A segment is deleted only once a checkpoint recorded it as consumed (see
        :meth:`consumed_closed_segments`), so a restart from that checkpoint knows its absence lost nothing.
        """
        deleted: list[str] = []
        for seg in self.consumed_closed_segments(committed, consumed):
            with contextlib.suppress(FileNotFoundError):
                seg.path.unlink()
            self.offsets.pop(seg.stem, None)
            self.consumed.discard(seg.stem)
            self._last_scan.pop(seg.stem, None)
            self._schemas.pop(seg.stem, None)
            deleted.append(seg.stem)
        return deleted

    def lag_bytes(self) -> int:
        """Bytes present in the spool (as of the last scan) that were not read yet."""
        return sum(max(0, seg.size - self.offsets.get(stem, 0)) for stem, seg in self._last_scan.items())

    def pending_segments(self) -> int:
        """Segments of the last scan not yet read to their end."""
        return sum(1 for stem, seg in self._last_scan.items() if seg.size > self.offsets.get(stem, 0))


def _file_kind(mode: int) -> str:
    """What a non-regular file is, in words, for the log."""
    for test, kind in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return "not a regular file"


def _read_schema(data: bytes) -> tuple[pa.Schema | None, int]:
    """The stream schema at the start of a segment and the byte after it (``None`` while incomplete)."""
    reader = pa.BufferReader(pa.py_buffer(data))
    try:
        return pa.ipc.read_schema(pa.ipc.read_message(reader)), reader.tell()
    except (OSError, EOFError, pa.ArrowInvalid):
        return None, 0


def _read_batches(data: bytes, schema: pa.Schema) -> tuple[list[pa.RecordBatch], int, bool]:
    """The whole record batches at the start of ``data``, the bytes they (and an end-of-stream marker) take,
    and whether the stream's end was reached. Reading stops before a partial or unreadable message."""
    reader = pa.BufferReader(pa.py_buffer(data))
    batches: list[pa.RecordBatch] = []
    used = 0
    while used < len(data):
        try:
            message = pa.ipc.read_message(reader)
            batch = pa.ipc.read_record_batch(message, schema)
        except EOFError:  # the end-of-stream marker
            return batches, reader.tell(), True
        except (OSError, pa.ArrowInvalid):
            break
        batches.append(batch)
        used = reader.tell()
    return batches, used, False


def read_segment_file(path: Path) -> tuple[list[pa.RecordBatch], bool]:
    """Every whole record batch of one segment file, and whether its end could not be read."""
    data = Path(path).read_bytes()
    schema, start = _read_schema(data)
    if schema is None:
        return [], True
    batches, used, ended = _read_batches(data[start:], schema)
    return batches, not ended and start + used < len(data)
