"""Payload-log writer: one JSON line per scored applicant, appended to a bounded spool of segment files.

The request path only calls :meth:`PayloadLogWriter.submit`, which appends one tuple per request to an
in-memory deque and returns; a daemon thread wakes every ``flush_interval_s`` (50 ms), formats what has
accumulated and appends it to the current segment. The request thread never wakes the writer: waking a
thread blocked on a queue for every request made each one pay a thread switch and a GIL hand-over (measured:
+15 % CPU per request, see BENCHMARKS.md).
Submitting never blocks and never raises. Records are dropped, and counted, when:

* ``queue_full``: more than ``queue_size`` records wait for the thread (the disk is slower than traffic);
* ``spool_full``: the spool directory already holds ``max_bytes`` (the sidecar is down or behind);
* ``write_error``: the directory cannot be created or written (read-only volume, disk full, ...).

The file layout (segment names, ``.open`` -> ``.jsonl`` rename, whole lines only) is specified in
``docs/payload-log.md``; the drift sidecar is the reader.
"""

from __future__ import annotations

import logging
import math
import os
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import orjson

RECORD_VERSION = 1
"""Value of the ``v`` key of every record this writer produces."""

logger = logging.getLogger(__name__)

_SPOOL_RESCAN_S = 1.0
_ERROR_LOG_INTERVAL_S = 30.0


class _Batch(NamedTuple):
    """The records of one request, as queued (a tuple: cheap to build on the request path)."""

    time_s: float
    first_seq: int
    caller_ids: Sequence[str | None]
    model_tag: str
    matrix: np.ndarray
    probabilities: np.ndarray
    refused: np.ndarray


class _SecondStamps:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (UTC) for epoch seconds, with the part before the fraction computed
    once per second (``datetime`` formatting costs microseconds per call)."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def __call__(self, time_s: float) -> str:
        # split and round like ``datetime.fromtimestamp`` (fraction rounded half-even to the microsecond)
        fraction, whole = math.modf(time_s)
        micros = round(fraction * 1_000_000)
        second = int(whole)
        if micros >= 1_000_000:
            second, micros = second + 1, micros - 1_000_000
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._prefix}.{micros:06d}Z"


def new_writer_id() -> str:
    """An id unique per process start: host, pid and start time in ms, without ``-`` (the stem separator)."""
    host = re.sub(r"[^A-Za-z0-9.]", ".", socket.gethostname())[:40] or "host"
    return f"{host}_{os.getpid()}_{int(time.time() * 1000)}"


class PayloadLogWriter:
    """Appends payload records to spool segments from a background thread; see the module docstring."""

    def __init__(
        self,
        spool_dir: str | Path,
        feature_names: Sequence[str],
        *,
        max_bytes: int,
        segment_max_bytes: int,
        segment_max_age_s: float,
        queue_size: int,
        flush_interval_s: float = 0.05,
        on_written: Callable[[int, int], None] | None = None,
        on_dropped: Callable[[str, int], None] | None = None,
        on_spool_bytes: Callable[[int], None] | None = None,
        writer_id: str | None = None,
    ) -> None:
        self.spool_dir = Path(spool_dir)
        self.writer_id = writer_id or new_writer_id()
        self.max_bytes = max_bytes
        self.segment_max_bytes = segment_max_bytes
        self.segment_max_age_s = segment_max_age_s
        self.queue_size = queue_size
        self.flush_interval_s = flush_interval_s
        self._on_written = on_written or (lambda records, nbytes: None)
        self._on_dropped = on_dropped or (lambda reason, records: None)
        self._on_spool_bytes = on_spool_bytes or (lambda nbytes: None)
        self._feature_names = list(feature_names)
        self._queue: deque[_Batch] = deque()  # append/popleft are atomic: no lock on the request path
        self._stop = threading.Event()
        # single-writer counters: _submitted grows only in the request thread, _taken only in the writer
        self._submitted = 0
        self._taken = 0
        self._thread = threading.Thread(target=self._run, name="payload-log-writer", daemon=True)
        self._closed = False
        # writer-thread state
        self._fd: int | None = None
        self._segment_seq = 0
        self._segment_stem = ""
        self._segment_size = 0
        self._segment_opened_at = 0.0
        self._spool_bytes = 0
        self._spool_scanned_at = -1e9
        self._last_error_log = -1e9
        self._retry_open_at = 0.0
        self._stamps = _SecondStamps()

    # -- request side -------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the writer thread."""
        self._thread.start()

    def submit(
        self,
        first_seq: int,
        caller_ids: Sequence[str | None],
        model_tag: str,
        matrix: np.ndarray,
        probabilities: np.ndarray,
        refused: np.ndarray,
    ) -> None:
        """Queue the records of one request; never blocks, never raises (drops are counted instead)."""
        n = len(probabilities)
        try:
            if self._closed or self._submitted - self._taken + n > self.queue_size:
                self._on_dropped("queue_full", n)
                return
            self._submitted += n
            self._queue.append(
                _Batch(time.time(), first_seq, caller_ids, model_tag, matrix, probabilities, refused)
            )
        except Exception:  # a bug here must not fail scoring
            logger.exception("payload log: could not queue %d records", n)

    def close(self, timeout_s: float = 5.0) -> None:
        """Write what is queued, close the open segment (rename to ``.jsonl``) and stop the thread."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        else:
            self._drain()
            self._close_segment()

    def pending(self) -> int:
        """Records queued but not yet taken by the writer thread."""
        return self._submitted - self._taken

    def request_id(self, seq: int) -> str:
        """The ``request_id`` of the record numbered ``seq`` by this writer (unique per process start)."""
        return f"{self.writer_id}-{seq:x}"

    # -- writer thread ------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.wait(self.flush_interval_s):
            try:
                self._drain()
                self._close_if_old()
            except Exception:  # keep the thread alive whatever happens; drops were counted in _write
                logger.exception("payload log: writer iteration failed")
        self._drain()
        self._close_segment()

    def _drain(self) -> None:
        batches: list[_Batch] = []
        while self._queue:
            batches.append(self._queue.popleft())
            if len(batches) >= 256:
                self._write(batches)
                batches = []
        if batches:
            self._write(batches)

    def _write(self, batches: list[_Batch]) -> None:
        n_records = sum(len(b.probabilities) for b in batches)
        self._taken += n_records
        try:
            data = self._format(batches)
        except Exception:
            logger.exception("payload log: could not format %d records", n_records)
            self._on_dropped("write_error", n_records)
            return
        if not self._has_room(len(data)):
            self._on_dropped("spool_full", n_records)
            return
        try:
            self._append(data)
        except OSError as exc:
            self._log_error("payload log: cannot write to spool %s: %s", self.spool_dir, exc)
            self._on_dropped("write_error", n_records)
            return
        self._spool_bytes += len(data)
        self._on_written(n_records, len(data))
        if self._segment_size >= self.segment_max_bytes:
            self._close_segment()

    def _format(self, batches: list[_Batch]) -> bytes:
        """JSON lines of every record of ``batches``, in order.

        The whole drain is formatted in one loop (one ``tolist`` per array kind, not per request): with
        one-applicant requests, per-request set-up used to cost more than the records themselves.
        orjson writes NaN (a missing feature) as null and floats in their shortest round-trip form.
        """
        keys = self._feature_names
        stamp = self._stamps
        request_id = f"{self.writer_id}-{{:x}}".format
        dumps = orjson.dumps
        if len(batches) == 1:
            (batch,) = batches
            rows, probabilities, refused = batch.matrix, batch.probabilities, batch.refused
        else:
            rows = np.concatenate([b.matrix for b in batches])
            probabilities = np.concatenate([b.probabilities for b in batches])
            refused = np.concatenate([b.refused for b in batches])
        per_record = [
            (stamp(b.time_s), b.first_seq + offset, caller_id, b.model_tag)
            for b in batches
            for offset, caller_id in enumerate(b.caller_ids)
        ]
        lines = [
            dumps(
                {
                    "v": RECORD_VERSION,
                    "time": time_text,
                    "request_id": request_id(seq),
                    "caller_id": caller_id,
                    "model_tag": tag,
                    "features": dict(zip(keys, row, strict=True)),
                    "probability": probability,
                    "decision": "refuse" if refuse else "accept",
                }
            )
            for (time_text, seq, caller_id, tag), row, probability, refuse in zip(
                per_record, rows.tolist(), probabilities.tolist(), refused.tolist(), strict=True
            )
        ]
        lines.append(b"")
        return b"\n".join(lines)

    def _has_room(self, nbytes: int) -> bool:
        now = time.monotonic()
        since_scan = now - self._spool_scanned_at
        # rescan every second, or sooner (at most every 0.1 s) when the estimate says the spool is full
        if since_scan >= _SPOOL_RESCAN_S or (
            self._spool_bytes + nbytes > self.max_bytes and since_scan >= 0.1
        ):
            self._spool_bytes = self._measure_spool()
            self._spool_scanned_at = now
            self._on_spool_bytes(self._spool_bytes)
        return self._spool_bytes + nbytes <= self.max_bytes

    def _measure_spool(self) -> int:
        total = 0
        try:
            with os.scandir(self.spool_dir) as entries:
                for entry in entries:
                    try:
                        # only our segments: the sidecar keeps its checkpoint in the same volume
                        if entry.name.startswith("seg-") and entry.is_file(follow_symlinks=False):
                            total += entry.stat(follow_symlinks=False).st_size
                    except OSError:
                        continue
        except OSError:
            return 0
        return total

    def _append(self, data: bytes) -> None:
        if self._fd is None:
            if time.monotonic() < self._retry_open_at:
                raise OSError("spool unavailable; waiting before the next attempt")
            try:
                self._open_segment()
            except OSError:
                self._retry_open_at = time.monotonic() + 1.0
                raise
        assert self._fd is not None
        view = memoryview(data)
        written = 0
        try:
            while written < len(data):
                written += os.write(self._fd, view[written:])
        except OSError:
            # never leave a partial line behind: cut the segment back to its last whole record
            try:
                os.ftruncate(self._fd, self._segment_size)
            except OSError:
                self._close_segment()
            raise
        self._segment_size += len(data)

    def _open_segment(self) -> None:
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        self._segment_seq += 1
        self._segment_stem = f"seg-{self.writer_id}-{self._segment_seq:08d}"
        path = self.spool_dir / f"{self._segment_stem}.jsonl.open"
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_EXCL, 0o644)
        self._segment_size = 0
        self._segment_opened_at = time.monotonic()

    def _close_if_old(self) -> None:
        if self._fd is not None and time.monotonic() - self._segment_opened_at >= self.segment_max_age_s:
            self._close_segment()

    def _close_segment(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.close(fd)
            if self._segment_size:
                src = self.spool_dir / f"{self._segment_stem}.jsonl.open"
                os.replace(src, self.spool_dir / f"{self._segment_stem}.jsonl")
            else:
                (self.spool_dir / f"{self._segment_stem}.jsonl.open").unlink(missing_ok=True)
        except OSError as exc:
            self._log_error("payload log: cannot close segment %s: %s", self._segment_stem, exc)

    def _log_error(self, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last_error_log >= _ERROR_LOG_INTERVAL_S:
            self._last_error_log = now
            logger.error(message, *args)
