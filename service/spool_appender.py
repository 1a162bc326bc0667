"""Formats payload records as JSON lines and appends them to the spool's segment files.

This is the synchronous half of the payload log: the writer process (``service/payload_log_process.py``) runs
one :class:`SpoolAppender` and hands it each :class:`Drain` the scoring worker sends. The file layout (segment
names, ``.open`` -> ``.jsonl`` rename, whole lines only, the byte bound) is specified in
``docs/payload-log.md``; the drift sidecar is the reader.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import orjson

RECORD_VERSION = 1
"""Value of the ``v`` key of every record this writer produces."""

logger = logging.getLogger(__name__)

_NUMPY = orjson.OPT_SERIALIZE_NUMPY
_SPOOL_RESCAN_S = 1.0
_ERROR_LOG_INTERVAL_S = 30.0


class Drain(NamedTuple):
    """The records of one or more requests, concatenated in order: the unit the writer process formats."""

    requests: list[tuple[float, int, int, str]]
    """Per request: scoring time (epoch seconds), sequence number of its first record, records, model tag."""
    caller_ids: list[str | None]
    """Per record: the caller's id of the applicant, or None."""
    forms: list[str]
    """Per record: the input form the applicant was sent in (``features`` or ``applicant``)."""
    matrix: np.ndarray
    """Per record: the feature values in the bundle's feature order (float64, NaN = missing)."""
    probabilities: np.ndarray
    """Per record: the probability of default."""
    refused: np.ndarray
    """Per record: whether the decision was ``refuse``."""

    @property
    def n_records(self) -> int:
        """Records in the drain (one per caller id)."""
        return len(self.caller_ids)


class SecondStamps:
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


class SpoolAppender:
    """Appends drains to the current segment of one writer, rotating and bounding the spool."""

    def __init__(
        self,
        spool_dir: str | Path,
        feature_names: Sequence[str],
        *,
        writer_id: str,
        request_id_prefix: str,
        max_bytes: int,
        segment_max_bytes: int,
        segment_max_age_s: float,
        on_written: Callable[[int, int], None] | None = None,
        on_dropped: Callable[[str, int], None] | None = None,
        on_spool_bytes: Callable[[int], None] | None = None,
    ) -> None:
        self.spool_dir = Path(spool_dir)
        self.writer_id = writer_id
        self.request_id_prefix = request_id_prefix
        self.max_bytes = max_bytes
        self.segment_max_bytes = segment_max_bytes
        self.segment_max_age_s = segment_max_age_s
        self._on_written = on_written or (lambda records, nbytes: None)
        self._on_dropped = on_dropped or (lambda reason, records: None)
        self._on_spool_bytes = on_spool_bytes or (lambda nbytes: None)
        self._feature_names = list(feature_names)
        self._fd: int | None = None
        self._segment_seq = 0
        self._segment_stem = ""
        self._segment_size = 0
        self._segment_opened_at = 0.0
        self._spool_bytes = 0
        self._spool_scanned_at = -1e9
        self._last_error_log = -1e9
        self._retry_open_at = 0.0
        self._stamps = SecondStamps()
        prefix = orjson.dumps(request_id_prefix)[1:-1].replace(b"%", b"%%")
        self._record_template = (
            b'{"v":%d,"time":"%%b","request_id":"%b-%%b","caller_id":%%b,"model_tag":%%b,"input":"%%b",'
            b'"features":%%b,"probability":%%b,"decision":"%%b"}' % (RECORD_VERSION, prefix)
        )
        keys = (orjson.dumps(name).replace(b"%", b"%%") for name in feature_names)
        self._features_template = b"{" + b",".join(key + b":%b" for key in keys) + b"}"

    def write(self, drain: Drain) -> None:
        """Append every record of ``drain``, or count them all dropped (``spool_full``, ``write_error``)."""
        n_records = drain.n_records
        if not n_records:
            return
        try:
            data = self.format(drain)
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
            self.close_segment()

    def format(self, drain: Drain) -> bytes:
        """JSON lines of every record of ``drain``, in order, byte for byte what ``orjson.dumps`` writes for
        the record as a dict (keys in the documented order).

        Built from templates instead of one dict per record, which halves the cost (BENCHMARKS.md): the
        feature values of the whole drain are written by one ``orjson.dumps`` of the matrix (floats in their
        shortest round-trip form, NaN, a missing value, as null), cut into rows and values (numbers and
        null hold no comma), and put between the constant key fragments with ``bytes %``.
        """
        rows = orjson.dumps(np.ascontiguousarray(drain.matrix, dtype=np.float64), option=_NUMPY)
        row_values = rows[2:-2].split(b"],[")
        probabilities = orjson.dumps(
            np.ascontiguousarray(drain.probabilities, dtype=np.float64), option=_NUMPY
        )[1:-1].split(b",")
        record, features = self._record_template, self._features_template
        stamp = self._stamps
        dumps = orjson.dumps
        caller_ids, refused = drain.caller_ids, drain.refused.tolist()
        forms = [form.encode() for form in drain.forms]
        lines: list[bytes] = []
        i = 0
        for time_s, first_seq, n_records, tag in drain.requests:
            time_text, tag_json = stamp(time_s).encode(), dumps(tag)
            for seq in range(first_seq, first_seq + n_records):
                lines.append(
                    record
                    % (
                        time_text,
                        b"%x" % seq,
                        dumps(caller_ids[i]),
                        tag_json,
                        forms[i],
                        features % tuple(row_values[i].split(b",")),
                        probabilities[i],
                        b"refuse" if refused[i] else b"accept",
                    )
                )
                i += 1
        if i != len(caller_ids) or len(row_values) != i or len(probabilities) != i or len(forms) != i:
            raise ValueError(f"drain of {len(caller_ids)} records describes {i} in its requests")
        lines.append(b"")
        return b"\n".join(lines)

    def close_if_old(self) -> None:
        """Close the open segment once it is older than ``segment_max_age_s``."""
        if self._fd is not None and time.monotonic() - self._segment_opened_at >= self.segment_max_age_s:
            self.close_segment()

    def close_segment(self) -> None:
        """Close the open segment: renamed to ``.jsonl`` if it holds records, removed if empty."""
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
                        # only segments: the sidecar keeps its checkpoint in the same volume
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
                self.close_segment()
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

    def _log_error(self, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last_error_log >= _ERROR_LOG_INTERVAL_S:
            self._last_error_log = now
            logger.error(message, *args)
