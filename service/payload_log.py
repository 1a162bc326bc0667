"""Payload log, scoring-worker side: every scored applicant appended to the spool as Arrow record batches.

The request path only calls :meth:`PayloadLogWriter.submit`, which adds the request's values to the queued
columns (:class:`QueuedRecords`) and returns: it never waits longer than a list swap, never raises, and
never wakes another thread (a wake-up per request costs a thread switch and a GIL hand-over). Every
``flush_interval_s`` a daemon thread asks the event loop that submits to encode what has accumulated into
one Arrow record batch, between two requests (a few vectorised calls per drain: about 1 ms at 10,000
requests/s, a pause requests arriving meanwhile wait out), then appends it to the current segment with one
``write``. Without an event loop (tests, scripts) the thread encodes itself. The format and the segment
rules are the contract in ``docs/payload-log.md``; the drift sidecar is the reader. BENCHMARKS.md ("The
payload log's format") has the measurement that chose this format over JSON lines.

Records are dropped, and counted, when:

* ``queue_full``: more than ``queue_size`` records wait for the thread (the disk is slower than traffic);
* ``spool_full``: the spool directory already holds ``max_bytes`` (the sidecar is down or behind);
* ``write_error``: the records could not be encoded, or the directory cannot be created or written
  (read-only volume, disk full, ...).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from service.applicant.groups import MONITORED, N_COMBINATIONS, NO_GROUPS, split_codes

logger = logging.getLogger(__name__)

PAYLOAD_LOG_VERSION = 3
"""Format version written in every segment's schema metadata (``payload_log_version``)."""
VERSION_KEY = b"payload_log_version"
"""Schema metadata key holding :data:`PAYLOAD_LOG_VERSION`."""
SEGMENT_PREFIX = "seg-"
"""Every segment file name starts with this."""
CLOSED_SUFFIX = ".arrows"
"""Suffix of a closed segment (the writer renamed it)."""
OPEN_SUFFIX = ".arrows.open"
"""Suffix of a segment a writer is still appending to."""
END_OF_STREAM = b"\xff\xff\xff\xff\x00\x00\x00\x00"
"""The Arrow IPC end-of-stream marker, written before a segment is renamed."""

_SPOOL_RESCAN_S = 1.0
_ERROR_LOG_INTERVAL_S = 30.0
_REOPEN_WAIT_S = 1.0
_ENCODE_WAIT_S = 0.5


GROUPS_TYPE = pa.struct([(attribute.name, pa.string()) for attribute in MONITORED])
"""Type of the ``groups`` column: one text field per monitored attribute (:mod:`service.applicant.groups`),
null for a record sent as a feature vector."""


def payload_schema(feature_names: Sequence[str]) -> pa.Schema:
    """The Arrow schema of a segment holding records of the features ``feature_names``, in that order."""
    return pa.schema(
        [
            ("time", pa.timestamp("us", tz="UTC")),
            ("request_id", pa.string()),
            ("caller_id", pa.string()),
            ("model_tag", pa.string()),
            ("input", pa.string()),
            ("probability", pa.float64()),
            ("decision", pa.string()),
            ("features", pa.struct([(name, pa.float64()) for name in feature_names])),
            ("groups", GROUPS_TYPE),
        ],
        metadata={VERSION_KEY: str(PAYLOAD_LOG_VERSION).encode()},
    )


@dataclass(slots=True)
class QueuedRecords:
    """Records waiting to be encoded, kept column by column.

    A request adds its values to these lists; it leaves no object of its own behind. Objects that outlive a
    request (a tuple and three lists per request, held for a flush interval) were promoted through the
    garbage collector's generations and set off full collections of the worker's heap: 65 ms pauses every
    few seconds, which made the log-on p99 4.6x log-off's (BENCHMARKS.md). Floats, strings and numpy
    arrays are not tracked by the collector.
    """

    times_s: list[float] = field(default_factory=list)
    """Per request: when it was scored, seconds since the epoch."""
    counts: list[int] = field(default_factory=list)
    """Per request: how many records it holds."""
    model_tags: list[str] = field(default_factory=list)
    """Per request: the model that scored it."""
    matrices: list[np.ndarray] = field(default_factory=list)
    """Per request: the feature values the model saw, one row per record (NaN = missing)."""
    probabilities: list[np.ndarray] = field(default_factory=list)
    """Per request: the probability of default of each record."""
    refused: list[np.ndarray] = field(default_factory=list)
    """Per request: whether each record's decision was ``refuse``."""
    request_ids: list[str] = field(default_factory=list)
    """Per record: our request id (the one the answer carried)."""
    caller_ids: list[str | None] = field(default_factory=list)
    """Per record: the caller's id of the applicant, or None."""
    forms: list[str] = field(default_factory=list)
    """Per record: the input form (``features`` or ``applicant``)."""
    groups: list[int] = field(default_factory=list)
    """Per record: its monitoring groups as one code (:func:`service.applicant.groups.group_code`), or
    ``NO_GROUPS``."""

    def add(
        self,
        request_ids: Sequence[str],
        caller_ids: Sequence[str | None],
        model_tag: str,
        forms: Sequence[str],
        matrix: np.ndarray,
        probabilities: np.ndarray,
        refused: np.ndarray,
        time_s: float | None = None,
        groups: Sequence[int] | None = None,
    ) -> None:
        """Queue the records of one request, scored at ``time_s`` (default: now), with their monitoring
        ``groups`` (default: none, as for feature vectors; a list of another length is taken as none, so that
        a bug there can never cost the drain its records)."""
        self.times_s.append(time.time() if time_s is None else time_s)
        self.counts.append(len(probabilities))
        self.model_tags.append(model_tag)
        self.matrices.append(matrix)
        self.probabilities.append(probabilities)
        self.refused.append(refused)
        self.request_ids.extend(request_ids)
        self.caller_ids.extend(caller_ids)
        self.forms.extend(forms)
        if groups is None or len(groups) != len(probabilities):
            self.groups.extend(itertools.repeat(NO_GROUPS, len(probabilities)))
        else:
            self.groups.extend(groups)


def record_batch(schema: pa.Schema, queued: QueuedRecords) -> pa.RecordBatch:
    """The ``queued`` records, in order, as one batch of ``schema``.

    Every column is built with a few calls per drain, not per record (0.4 ms for 550 one-row requests in
    process, about 1 ms in a busy worker: BENCHMARKS.md). Arrays are built from their buffers
    (``Array.from_buffers``), not with ``pa.array``: the latter imports pandas on first use when it is
    installed, which the scoring worker never does (seconds and ~60 MB).
    """
    counts = queued.counts
    n = sum(counts)
    one_each = n == len(counts)
    times_us = np.array(queued.times_s, dtype=np.float64) * 1e6
    matrices = queued.matrices
    matrix = np.concatenate(matrices) if len(matrices) > 1 else matrices[0]
    by_feature = pa.py_buffer(np.ascontiguousarray(np.asarray(matrix, dtype=np.float64).T))
    features_type = schema.field("features").type
    features = pa.StructArray.from_arrays(
        [
            pa.Array.from_buffers(_FLOAT64, n, [None, by_feature.slice(8 * n * j, 8 * n)])
            for j in range(features_type.num_fields)
        ],
        fields=list(features_type),
    )
    tags = queued.model_tags
    columns = [
        _numbers(schema.field("time").type, times_us if one_each else np.repeat(times_us, counts)),
        _strings(queued.request_ids),
        _strings(queued.caller_ids),
        _strings(
            tags if one_each else list(itertools.chain.from_iterable(map(itertools.repeat, tags, counts)))
        ),
        _strings(queued.forms),
        _numbers(_FLOAT64, np.concatenate(queued.probabilities)),
        _decisions(np.concatenate(queued.refused)),
        features,
        _groups(queued.groups),
    ]
    if any(len(column) != n for column in columns):
        raise ValueError(f"the columns of {n} records do not all hold {n} values")
    return pa.RecordBatch.from_arrays(columns, schema=schema)


_FLOAT64 = pa.float64()
_DECISIONS = np.array([b"accept", b"refuse"])  # both 6 bytes: one fixed-width string column


_GROUP_COMBINATIONS: list[pa.StructArray] = []  # every combination of labels, by code (built on first use)


def _groups(codes: list[int]) -> pa.Array:
    """The ``groups`` column: each record's labels, taken from the table of every combination by its code
    (one Arrow ``take`` per drain); null where it has none (or a code out of range)."""
    if not _GROUP_COMBINATIONS:
        parts = split_codes(np.arange(N_COMBINATIONS))
        children = [
            _strings([attribute.labels[i] for i in part.tolist()])
            for attribute, part in zip(MONITORED, parts, strict=True)
        ]
        _GROUP_COMBINATIONS.append(pa.StructArray.from_arrays(children, fields=list(GROUPS_TYPE)))
    n = len(codes)
    positions = np.fromiter(codes, dtype=np.int32, count=n)
    absent = (positions < 0) | (positions >= N_COMBINATIONS)
    n_absent = int(absent.sum())
    validity = None
    if n_absent:
        validity = pa.py_buffer(np.packbits(~absent, bitorder="little"))
        positions[absent] = 0
    return _GROUP_COMBINATIONS[0].take(
        pa.Array.from_buffers(pa.int32(), n, [validity, pa.py_buffer(positions)], n_absent)
    )


def _numbers(kind: pa.DataType, values: np.ndarray) -> pa.Array:
    """A null-free 64-bit Arrow array of ``values`` (float64 or int64 bits, as ``kind`` says)."""
    data = np.ascontiguousarray(values, dtype=np.float64 if kind == _FLOAT64 else np.int64)
    return pa.Array.from_buffers(kind, len(data), [None, pa.py_buffer(data)])


def _decisions(refused: np.ndarray) -> pa.Array:
    """The ``decision`` column: ``refuse`` where ``refused``, else ``accept``."""
    n, width = len(refused), _DECISIONS.itemsize
    offsets = np.arange(0, width * (n + 1), width, dtype=np.int32)
    data = _DECISIONS[np.asarray(refused, dtype=np.intp)].tobytes()
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _strings(values: list[str | None]) -> pa.Array:
    """An Arrow string array of ``values`` (``None`` is null)."""
    n = len(values)
    first = values[0] if n else None
    if n and values.count(first) == n:  # one value repeated: a model tag, a form, no caller ids
        data = b"" if first is None else first.encode()
        offsets = np.arange(n + 1, dtype=np.int32) * np.int32(len(data))
        validity = None if first is not None else pa.py_buffer(np.zeros((n + 7) // 8, dtype=np.uint8))
        return pa.Array.from_buffers(
            pa.string(),
            n,
            [validity, pa.py_buffer(offsets), pa.py_buffer(data * n)],
            null_count=0 if first is not None else n,
        )
    nulls = values.count(None)
    texts = [value or "" for value in values] if nulls else values
    joined = "".join(texts)
    if joined.isascii():  # one character, one byte: no encoding per value
        data = joined.encode("ascii")
        lengths = np.fromiter(map(len, texts), dtype=np.int32, count=n)
    else:
        encoded = [text.encode() for text in texts]
        data = b"".join(encoded)
        lengths = np.fromiter(map(len, encoded), dtype=np.int32, count=n)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    validity = None
    if nulls:
        present = np.fromiter((value is not None for value in values), dtype=bool, count=n)
        validity = pa.py_buffer(np.packbits(present, bitorder="little"))
    return pa.Array.from_buffers(
        pa.string(), n, [validity, pa.py_buffer(offsets), pa.py_buffer(data)], null_count=nulls
    )


def new_writer_id() -> str:
    """An id unique per process start: host, pid and start time in ms, without ``-`` (the stem separator)."""
    host = re.sub(r"[^A-Za-z0-9.]", ".", socket.gethostname())[:40] or "host"
    return f"{host}_{os.getpid()}_{int(time.time() * 1000)}"


class SpoolSegments:
    """Appends record batches to the current segment of one writer, rotating it and bounding the spool."""

    def __init__(
        self,
        spool_dir: str | Path,
        schema: pa.Schema,
        *,
        writer_id: str,
        max_bytes: int,
        segment_max_bytes: int,
        segment_max_age_s: float,
    ) -> None:
        self.spool_dir = Path(spool_dir)
        self.writer_id = writer_id
        self.max_bytes = max_bytes
        self.segment_max_bytes = segment_max_bytes
        self.segment_max_age_s = segment_max_age_s
        self._schema_message = schema.serialize().to_pybytes()
        self._fd: int | None = None
        self._seq = 0
        self._stem = ""
        self._size = 0
        self._records = 0
        self._opened_at = 0.0
        self._reopen_at = 0.0
        self.spool_bytes = 0
        """Bytes of segments in the spool directory, as last measured plus what was written since."""
        self._scanned_at = -1e9

    def has_room(self, nbytes: int) -> bool:
        """Whether a message of ``nbytes`` fits under ``max_bytes``, with the schema of a segment it would
        open and the end-of-stream marker that closes it (the directory is measured at most once a second,
        or every 0.1 s while the estimate says it is full)."""
        nbytes += len(END_OF_STREAM) + (len(self._schema_message) if self._fd is None else 0)
        now = time.monotonic()
        since_scan = now - self._scanned_at
        if since_scan >= _SPOOL_RESCAN_S or (
            self.spool_bytes + nbytes > self.max_bytes and since_scan >= 0.1
        ):
            self.spool_bytes = self._measure_spool()
            self._scanned_at = now
        return self.spool_bytes + nbytes <= self.max_bytes

    def append(self, message: bytes, n_records: int) -> None:
        """Append one whole record-batch message; on failure, cut the segment back and raise ``OSError``."""
        if self._fd is None:
            self._open()
        assert self._fd is not None
        try:
            _write_all(self._fd, message)
        except OSError:
            try:  # never leave half a message behind
                os.ftruncate(self._fd, self._size)
            except OSError:
                self.close()
            raise
        self._size += len(message)
        self._records += n_records
        self.spool_bytes += len(message)
        if self._size >= self.segment_max_bytes:
            self.close()

    def close_if_old(self) -> None:
        """Close the open segment once it is older than ``segment_max_age_s``."""
        if self._fd is not None and time.monotonic() - self._opened_at >= self.segment_max_age_s:
            self.close()

    def close(self) -> None:
        """End the open segment's stream and rename it to ``.arrows``; an empty one is removed instead."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        open_path = self.spool_dir / f"{self._stem}{OPEN_SUFFIX}"
        try:
            if self._records:
                _write_all(fd, END_OF_STREAM)
                self.spool_bytes += len(END_OF_STREAM)
                os.close(fd)
                os.replace(open_path, self.spool_dir / f"{self._stem}{CLOSED_SUFFIX}")
            else:
                os.close(fd)
                open_path.unlink(missing_ok=True)
        except OSError as exc:  # the reader treats a stale .open segment as closed
            logger.error("payload log: cannot close segment %s: %s", self._stem, exc)

    def _open(self) -> None:
        if time.monotonic() < self._reopen_at:
            raise OSError("spool unavailable; waiting before the next attempt")
        try:
            self.spool_dir.mkdir(parents=True, exist_ok=True)
            self._seq += 1
            self._stem = f"{SEGMENT_PREFIX}{self.writer_id}-{self._seq:08d}"
            path = self.spool_dir / f"{self._stem}{OPEN_SUFFIX}"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_EXCL, 0o644)
        except OSError:
            self._reopen_at = time.monotonic() + _REOPEN_WAIT_S
            raise
        try:
            _write_all(fd, self._schema_message)
        except OSError:
            os.close(fd)
            path.unlink(missing_ok=True)
            self._reopen_at = time.monotonic() + _REOPEN_WAIT_S
            raise
        self._fd = fd
        self._size = len(self._schema_message)
        self.spool_bytes += self._size
        self._records = 0
        self._opened_at = time.monotonic()

    def _measure_spool(self) -> int:
        total = 0
        try:
            with os.scandir(self.spool_dir) as entries:
                for entry in entries:
                    # only segments: the sidecar keeps its checkpoint in the same volume
                    if entry.name.startswith(SEGMENT_PREFIX):
                        try:
                            total += entry.stat(follow_symlinks=False).st_size
                        except OSError:
                            continue
        except OSError:
            return 0
        return total


def _running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running in this thread, if any."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    written = 0
    while written < len(data):
        written += os.write(fd, view[written:])


class PayloadLogWriter:
    """Queues payload records on the request path and appends them from one thread; see the module doc."""

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
        self.writer_id = writer_id or new_writer_id()
        self.queue_size = queue_size
        self.flush_interval_s = flush_interval_s
        self._schema = payload_schema(feature_names)
        self._segments = SpoolSegments(
            spool_dir,
            self._schema,
            writer_id=self.writer_id,
            max_bytes=max_bytes,
            segment_max_bytes=segment_max_bytes,
            segment_max_age_s=segment_max_age_s,
        )
        self._on_written = on_written or (lambda records, nbytes: None)
        self._on_dropped = on_dropped or (lambda reason, records: None)
        self._on_spool_bytes = on_spool_bytes or (lambda nbytes: None)
        self._queued = QueuedRecords()
        self._queue_lock = threading.Lock()  # submit may come from several threads (tests, scripts)
        self._submitted = 0  # grows only on the request path, under the queue lock
        self._settled = 0  # written or dropped after being queued; grows only in the writer thread
        self._loop: asyncio.AbstractEventLoop | None = None  # the event loop that submits, once seen
        self._encode_lock = threading.Lock()
        self._encoded = threading.Event()
        self._encoded_messages: deque[tuple[bytes | None, int]] = deque()  # None: could not be encoded
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="payload-log-writer", daemon=True)
        self._closed = False
        self._last_error_log = -1e9

    def start(self) -> None:
        """Start the writer thread."""
        if not self._thread.is_alive() and not self._stop.is_set():
            self._thread.start()

    def submit(
        self,
        request_ids: Sequence[str],
        caller_ids: Sequence[str | None],
        model_tag: str,
        forms: Sequence[str],
        matrix: np.ndarray,
        probabilities: np.ndarray,
        refused: np.ndarray,
        *,
        groups: Sequence[int] | None = None,
    ) -> None:
        """Queue the records of one request with their monitoring ``groups`` (one code per record, default
        none); never blocks, never raises (drops are counted instead)."""
        n = len(probabilities)
        try:
            if self._loop is None:  # before the records: the writer thread must see the loop with them
                self._loop = _running_loop()
            with self._queue_lock:
                if self._closed or self._submitted - self._settled + n > self.queue_size:
                    full = True
                else:
                    full = False
                    self._submitted += n
                    self._queued.add(
                        request_ids,
                        caller_ids,
                        model_tag,
                        forms,
                        matrix,
                        probabilities,
                        refused,
                        None,
                        groups,
                    )
            if full:
                self._on_dropped("queue_full", n)
        except Exception:  # a bug here must not fail scoring
            logger.exception("payload log: could not queue %d records", n)

    def close(self, timeout_s: float = 5.0) -> None:
        """Write what is queued, close the segment (renamed to ``.arrows``) and stop the thread."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        else:  # never started: write what was queued from here
            self.flush()
            self._segments.close()

    def flush(self) -> None:
        """Encode and append everything queued, from the calling thread: for a writer whose thread was never
        started (tests, scripts) or has stopped."""
        self._encode_queued()
        self._append_encoded()

    def _run(self) -> None:
        while not self._stop.wait(self.flush_interval_s):
            try:
                if not self._encoded_by_loop():
                    self._encode_queued()
                self._append_encoded()
            except Exception:  # keep the thread alive whatever happens; drops were counted
                logger.exception("payload log: writer iteration failed")
        try:
            self.flush()
        finally:
            self._segments.close()

    def _encoded_by_loop(self) -> bool:
        """Ask the submitting event loop to encode what is queued, between two requests, and wait for it.

        Encoding is Python work that needs the GIL; done in this thread it made the event loop wait for the
        GIL at every switch (measured: +11 µs of event-loop CPU per request, BENCHMARKS.md). False when
        there is no loop, it is closed, or it did not get to it within half a second.
        """
        loop = self._loop
        if loop is None or not self._queued.counts:
            return False
        self._encoded.clear()
        try:
            loop.call_soon_threadsafe(self._encode_queued)
        except RuntimeError:  # the loop is closed
            self._loop = None
            return False
        return self._encoded.wait(_ENCODE_WAIT_S)

    def _encode_queued(self) -> None:
        """Turn the queued requests into one record-batch message for the writer thread to append."""
        try:
            with self._encode_lock:
                with self._queue_lock:
                    queued, self._queued = self._queued, QueuedRecords()
                if not queued.counts:
                    return
                n_records = sum(queued.counts)
                message: bytes | None = None
                try:
                    message = record_batch(self._schema, queued).serialize().to_pybytes()
                except Exception:
                    logger.exception("payload log: could not encode %d records", n_records)
                # counted by the writer thread, the only one that settles records
                self._encoded_messages.append((message, n_records))
        finally:
            self._encoded.set()

    def _append_encoded(self) -> None:
        """Append the encoded messages to the segment (file writes release the GIL)."""
        while self._encoded_messages:
            message, n_records = self._encoded_messages.popleft()
            try:
                if message is None:
                    self._on_dropped("write_error", n_records)
                    continue
                if not self._segments.has_room(len(message)):
                    self._on_dropped("spool_full", n_records)
                    continue
                try:
                    self._segments.append(message, n_records)
                except OSError as exc:
                    self._log_error(
                        "payload log: cannot write to spool %s: %s", self._segments.spool_dir, exc
                    )
                    self._on_dropped("write_error", n_records)
                    continue
                self._on_written(n_records, len(message))
            finally:
                self._settled += n_records
                self._on_spool_bytes(self._segments.spool_bytes)
        self._segments.close_if_old()

    def _log_error(self, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last_error_log >= _ERROR_LOG_INTERVAL_S:
            self._last_error_log = now
            logger.error(message, *args)
