"""Tail the payload spool: new complete lines of each segment since its recorded offset.

Follows the reader side of ``docs/payload-log.md``. Offsets are keyed by segment stem
(``seg-<writer_id>-<seq>``), so the rename ``X.jsonl.open`` -> ``X.jsonl`` (same inode) keeps them valid. A
partial last line of an open segment is left for the next read; at the end of a closed segment it can never
be completed and is reported as truncated. The reader does not persist anything: the caller checkpoints
:attr:`SpoolReader.offsets` and :attr:`SpoolReader.consumed` together with what it did with the lines, then
calls :meth:`delete_consumed`, which only deletes segments that checkpoint recorded as consumed. A segment
that disappears is therefore either known to be consumed (deleted by this reader, possibly in a previous
process that crashed before its next checkpoint) or reported as vanished: it may have held unread lines.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

SEGMENT_PREFIX = "seg-"
"""Every segment file name starts with this."""
CLOSED_SUFFIX = ".jsonl"
"""Suffix of a closed segment (the writer renamed it)."""
OPEN_SUFFIX = ".jsonl.open"
"""Suffix of a segment a writer is still appending to."""


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


@dataclass
class SegmentRead:
    """Lines read from one segment in one step."""

    stem: str
    """Segment the lines come from."""
    lines: list[bytes]
    """Complete lines, without their newline."""
    truncated_tail: bool = False
    """The segment is closed and ended with a partial line, which was skipped."""
    n_bytes: int = 0
    """Bytes consumed from the segment by this read."""


@dataclass
class ReadResult:
    """Everything one :meth:`SpoolReader.read_available` step found."""

    reads: list[SegmentRead] = field(default_factory=list)
    """New lines per segment, in segment name order."""
    vanished: list[str] = field(default_factory=list)
    """Stems that had an offset, were not known to be consumed, and whose file no longer exists (deleted by
    someone else, possibly with unread lines)."""
    gone_consumed: list[str] = field(default_factory=list)
    """Stems known to be consumed whose file no longer exists (deleted once consumed): nothing was lost."""

    @property
    def n_lines(self) -> int:
        """Number of complete lines read."""
        return sum(len(r.lines) for r in self.reads)


class SpoolReader:
    """Reads new complete lines from the segments of one spool directory."""

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

    def scan(self) -> dict[str, Segment]:
        """List the segments now in the spool, by stem."""
        found: dict[str, Segment] = {}
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
            closed = closed_name or (now - st.st_mtime) > self.stale_open_seconds
            previous = found.get(stem)
            if previous is not None and previous.path.name.endswith(CLOSED_SUFFIX):
                continue  # both names seen during a rename: the closed one is authoritative
            found[stem] = Segment(stem=stem, path=Path(entry.path), closed=closed, size=st.st_size)
        self._last_scan = found
        return found

    def read_available(self) -> ReadResult:
        """Read new data in segment name order until ~``chunk_bytes`` were read; advance :attr:`offsets`."""
        segments = self.scan()
        result = ReadResult()
        self._forget_missing(segments, result)
        budget = self.chunk_bytes
        for stem in sorted(segments):
            if budget <= 0:
                break
            read = self._read_segment(segments[stem])
            if read is not None:
                result.reads.append(read)
                budget -= read.n_bytes
        self._mark_consumed(segments)
        return result

    def _forget_missing(self, segments: dict[str, Segment], result: ReadResult) -> None:
        """Drop the offsets of segments that are gone, sorting them into vanished and consumed ones."""
        for stem in [s for s in self.offsets if s not in segments]:
            if self._still_exists(stem):
                continue  # missed by a listing that raced the writer's rename: keep its offset
            if stem in self.consumed:
                result.gone_consumed.append(stem)
            else:
                result.vanished.append(stem)
            del self.offsets[stem]
            self.consumed.discard(stem)

    def _mark_consumed(self, segments: dict[str, Segment]) -> None:
        """Bring :attr:`consumed` up to date: the listed segments that are closed and read to their end."""
        for stem, seg in segments.items():
            if seg.closed and self.offsets.get(stem, -1) >= seg.size:
                self.consumed.add(stem)
            else:
                self.consumed.discard(stem)  # e.g. a stale .open segment whose writer appended again

    def _still_exists(self, stem: str) -> bool:
        """Whether a segment absent from the last listing is in fact still there under either name.

        A directory listing that runs while the writer renames ``X.jsonl.open`` to ``X.jsonl`` may show
        neither name. Forgetting the offset then would re-read the segment from 0 (double counting). The
        open name is checked first: the rename can only go from it to the closed name, so one of the two
        checks sees the file.
        """
        directory = self.spool_dir
        return (directory / (stem + OPEN_SUFFIX)).exists() or (directory / (stem + CLOSED_SUFFIX)).exists()

    def _read_segment(self, segment: Segment) -> SegmentRead | None:
        offset = self.offsets.get(segment.stem, 0)
        self.offsets.setdefault(segment.stem, offset)
        data = self._read_bytes(segment, offset)
        if data is None or not data:
            return None
        end = data.rfind(b"\n")
        at_eof_of_closed = segment.closed and offset + len(data) >= segment.size
        if end < 0 and not at_eof_of_closed and len(data) < self.chunk_bytes:
            return None  # a partial line of an open segment: wait for its end
        if end < 0:
            # a line longer than a chunk, or an unterminated tail that can never be completed
            self.offsets[segment.stem] = offset + len(data)
            return SegmentRead(stem=segment.stem, lines=[], truncated_tail=True, n_bytes=len(data))
        complete, tail = data[:end], data[end + 1 :]
        consumed = end + 1
        truncated = False
        if tail and at_eof_of_closed:
            consumed += len(tail)
            truncated = True
        self.offsets[segment.stem] = offset + consumed
        return SegmentRead(
            stem=segment.stem, lines=complete.split(b"\n"), truncated_tail=truncated, n_bytes=consumed
        )

    def _read_bytes(self, segment: Segment, offset: int) -> bytes | None:
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
                    return fh.read(min(self.chunk_bytes, size - offset))
            except FileNotFoundError:
                continue
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
            deleted.append(seg.stem)
        return deleted

    def lag_bytes(self) -> int:
        """Bytes present in the spool (as of the last scan) that were not read yet."""
        return sum(max(0, seg.size - self.offsets.get(stem, 0)) for stem, seg in self._last_scan.items())

    def pending_segments(self) -> int:
        """Segments of the last scan not yet read to their end."""
        return sum(1 for stem, seg in self._last_scan.items() if seg.size > self.offsets.get(stem, 0))
