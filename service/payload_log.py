"""Payload log, scoring-worker side: queue each scored request, ship the records to a writer process.

The request path only calls :meth:`PayloadLogWriter.submit`, which appends one tuple per request to an
in-memory deque and returns. Every ``flush_interval_s`` (50 ms) a daemon thread asks the event loop that
submits to pack what has accumulated (``loop.call_soon_threadsafe``): the loop, between two requests,
concatenates it into :class:`~service.spool_appender.Drain` frames and pickles them (~1 µs per record).
The thread then writes the frames to the standard input of a writer process
(``service/payload_log_process.py``, started at a higher niceness) that formats the JSON lines and appends
them to the spool. Without an event loop (tests, scripts) the thread packs itself.

Why this split (BENCHMARKS.md, "The payload log in a writer process"): formatting the JSON (~25 µs per
record with 40 features) in a thread of the worker cost the event loop as much again through the GIL, and
raised p99 by a third; in a separate process it costs the worker nothing measurable. Packing in the thread
instead of on the loop still cost the loop +16 to +44 µs per request in GIL hand-overs; on the loop it is
the ~1 µs of work itself.

The request thread never wakes the writer thread: waking a thread blocked on a queue for every request made
each one pay a thread switch and a GIL hand-over (measured: +15 % CPU per request, see BENCHMARKS.md).
Submitting never blocks and never raises. Records are dropped, and counted, when:

* ``queue_full``: more than ``queue_size`` records wait to be shipped (the writer process or the disk is
  slower than traffic: the thread blocks on the full pipe and nothing more is taken off the queue);
* ``spool_full``: the spool directory already holds ``max_bytes`` (the sidecar is down or behind);
* ``write_error``: the directory cannot be created or written (read-only volume, disk full, ...), or the
  writer process died with records in flight. A dead writer process is started again, at most once a second.

A second daemon thread reads the writer process's one status line per drain and turns it into the
``on_written`` / ``on_dropped`` / ``on_spool_bytes`` callbacks (the service's Prometheus metrics).
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import re
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import orjson

from service.payload_log_process import frame, write_all
from service.spool_appender import Drain

logger = logging.getLogger(__name__)

_PROJECT_ROOT = Path(__file__).resolve().parent.parent
_RESTART_INTERVAL_S = 1.0
_ERROR_LOG_INTERVAL_S = 30.0
_BATCHES_PER_DRAIN = 256
_PACK_WAIT_S = 0.5


class _Batch(NamedTuple):
    """The records of one request, as queued (a tuple: cheap to build on the request path)."""

    time_s: float
    first_seq: int
    caller_ids: Sequence[str | None]
    model_tag: str
    forms: Sequence[str]
    matrix: np.ndarray
    probabilities: np.ndarray
    refused: np.ndarray


def _running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running in this thread, if any."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def new_writer_id() -> str:
    """An id unique per process start: host, pid and start time in ms, without ``-`` (the stem separator)."""
    host = re.sub(r"[^A-Za-z0-9.]", ".", socket.gethostname())[:40] or "host"
    return f"{host}_{os.getpid()}_{int(time.time() * 1000)}"


def drain_of(batches: Sequence[_Batch]) -> Drain:
    """The records of ``batches`` concatenated, in order."""
    if len(batches) == 1:
        (only,) = batches
        matrix, probabilities, refused = only.matrix, only.probabilities, only.refused
    else:
        matrix = np.concatenate([b.matrix for b in batches])
        probabilities = np.concatenate([b.probabilities for b in batches])
        refused = np.concatenate([b.refused for b in batches])
    return Drain(
        requests=[(b.time_s, b.first_seq, len(b.probabilities), b.model_tag) for b in batches],
        caller_ids=[caller_id for b in batches for caller_id in b.caller_ids],
        forms=[form for b in batches for form in b.forms],
        matrix=matrix,
        probabilities=probabilities,
        refused=refused,
    )


class _WriterProcess:
    """One writer process: the pipes to it, and the frames sent to it that it has not reported on yet."""

    def __init__(self, config: dict[str, Any], writer: PayloadLogWriter) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_PROJECT_ROOT), env.get("PYTHONPATH")]))
        self._writer = writer
        self.process = subprocess.Popen(
            [sys.executable, "-m", "service.payload_log_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self._stdin_fd = self.process.stdin.fileno()
        self._lock = threading.Lock()
        self._in_flight: deque[int] = deque()  # records of each frame sent and not reported on, in order
        self._gone = False
        try:
            self._write_frame(pickle.dumps(config, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError:  # exited at once; the status thread reaps it and send() refuses
            logger.exception("payload log: could not configure writer process %d", self.process.pid)
        self._status_thread = threading.Thread(
            target=self._read_statuses, name="payload-log-status", daemon=True
        )
        self._status_thread.start()

    def send(self, payload: bytes, n_records: int) -> bool:
        """Write one drain frame; False (nothing sent) if the process is gone or the pipe broke."""
        with self._lock:
            if self._gone:
                return False
            try:
                self._write_frame(payload)
            except OSError:
                return False
            self._in_flight.append(n_records)
            return True

    def alive(self) -> bool:
        """Whether the process still takes frames."""
        return not self._gone and self.process.poll() is None

    def finish(self, timeout_s: float) -> None:
        """Close its input (it writes what it has, closes its segment and exits) and wait for its reports."""
        try:
            assert self.process.stdin is not None
            self.process.stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            logger.error("payload log: writer process %d did not stop in %.0f s; killing it",
                         self.process.pid, timeout_s)  # fmt: skip
            self.process.kill()
            self.process.wait()
        self._status_thread.join(timeout_s)

    def _write_frame(self, payload: bytes) -> None:
        write_all(self._stdin_fd, frame(payload))

    def _read_statuses(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                status = orjson.loads(line)
                accounted = self._writer.settle_status(status)
            except Exception:
                logger.exception("payload log: unreadable status line from the writer process")
                accounted = 0
            with self._lock:
                sent = self._in_flight.popleft() if self._in_flight else 0
            if sent > accounted:
                self._writer.drop_unwritten(sent - accounted)
        self.process.wait()
        with self._lock:  # no frame is sent after this: what is still in flight is lost
            self._gone = True
            lost = sum(self._in_flight)
            self._in_flight.clear()
        if lost:
            logger.error("payload log: writer process %d exited (status %s) with %d records unwritten",
                         self.process.pid, self.process.returncode, lost)  # fmt: skip
            self._writer.drop_unwritten(lost)


class PayloadLogWriter:
    """Queues payload records and ships them to a writer process; see the module docstring."""

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
        niceness: int = 10,
        on_written: Callable[[int, int], None] | None = None,
        on_dropped: Callable[[str, int], None] | None = None,
        on_spool_bytes: Callable[[int], None] | None = None,
        writer_id: str | None = None,
    ) -> None:
        self.spool_dir = Path(spool_dir)
        self.writer_id = writer_id or new_writer_id()
        self.queue_size = queue_size
        self.flush_interval_s = flush_interval_s
        self._on_written = on_written or (lambda records, nbytes: None)
        self._on_dropped = on_dropped or (lambda reason, records: None)
        self._on_spool_bytes = on_spool_bytes or (lambda nbytes: None)
        self._appender_config: dict[str, Any] = {
            "spool_dir": str(self.spool_dir.absolute()),
            "feature_names": list(feature_names),
            "request_id_prefix": self.writer_id,
            "max_bytes": max_bytes,
            "segment_max_bytes": segment_max_bytes,
            "segment_max_age_s": segment_max_age_s,
            "flush_interval_s": flush_interval_s,
            "niceness": niceness,
        }
        self._queue: deque[_Batch] = deque()  # append/popleft are atomic: no lock on the request path
        self._stop = threading.Event()
        # _submitted grows only in the request thread, _taken only under _pack_lock
        self._submitted = 0
        self._taken = 0
        self._settled = 0  # records written or dropped after they were queued (status and writer threads)
        self._settle_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="payload-log-writer", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None  # the event loop submitting, once seen
        self._pack_lock = threading.Lock()
        self._packed = threading.Event()
        self._outbox: deque[tuple[bytes, int]] = deque()  # pickled drains waiting for the writer thread
        self._started = False
        self._closed = False
        self._process: _WriterProcess | None = None
        self._generation = 0
        self._restart_at = 0.0
        self._last_error_log = -1e9

    # -- request side -------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the writer process and the thread that feeds it."""
        if self._started:
            return
        self._started = True
        self._ensure_process()
        self._thread.start()

    def submit(
        self,
        first_seq: int,
        caller_ids: Sequence[str | None],
        model_tag: str,
        forms: Sequence[str],
        matrix: np.ndarray,
        probabilities: np.ndarray,
        refused: np.ndarray,
    ) -> None:
        """Queue the records of one request; never blocks, never raises (drops are counted instead).

        ``forms`` holds each record's input form (``features`` or ``applicant``).
        """
        n = len(probabilities)
        try:
            if self._closed or self._submitted - self._taken + n > self.queue_size:
                self._on_dropped("queue_full", n)
                return
            self._submitted += n
            if self._loop is None:  # before the append: the writer thread must see the loop with the record
                self._loop = _running_loop()
            self._queue.append(
                _Batch(time.time(), first_seq, caller_ids, model_tag, forms, matrix, probabilities, refused)
            )
        except Exception:  # a bug here must not fail scoring
            logger.exception("payload log: could not queue %d records", n)

    def close(self, timeout_s: float = 5.0) -> None:
        """Ship what is queued, let the writer process close its segment (``.jsonl``) and stop both."""
        if self._closed:
            return
        self._closed = True
        self.start()  # records queued before a start are still written
        self._stop.set()
        self._thread.join(timeout_s)

    def pending(self) -> int:
        """Records queued and not yet written or dropped by the writer process."""
        return self._submitted - self._settled

    def request_id(self, seq: int) -> str:
        """The ``request_id`` of the record numbered ``seq`` by this writer (unique per process start)."""
        return f"{self.writer_id}-{seq:x}"

    # -- status thread ------------------------------------------------------------------------------
    def settle_status(self, status: dict[str, Any]) -> int:
        """Apply one status line of the writer process; returns the records it accounts for."""
        written = int(status["written"])
        dropped = {str(reason): int(n) for reason, n in status["dropped"].items()}
        if written:
            self._on_written(written, int(status["bytes"]))
        for reason, n in dropped.items():
            self._on_dropped(reason, n)
        if status.get("spool_bytes") is not None:
            self._on_spool_bytes(int(status["spool_bytes"]))
        accounted = written + sum(dropped.values())
        self._settle(accounted)
        return accounted

    def drop_unwritten(self, n_records: int) -> None:
        """Count records that will never be written as ``write_error`` drops: their packing failed, no writer
        process took them, or the one they were sent to never accounted for them."""
        self._on_dropped("write_error", n_records)
        self._settle(n_records)

    def _settle(self, n_records: int) -> None:
        with self._settle_lock:
            self._settled += n_records

    # -- packing (event loop) and sending (writer thread) ---------------------------------------------
    def _run(self) -> None:
        while not self._stop.wait(self.flush_interval_s):
            try:
                self._flush()
            except Exception:  # keep the thread alive whatever happens; drops were counted in _send
                logger.exception("payload log: writer iteration failed")
        try:
            self._flush(final=True)
        finally:
            if self._process is not None:
                self._process.finish(timeout_s=10.0)

    def _flush(self, *, final: bool = False) -> None:
        """Pack what is queued into frames (on the submitting event loop if there is one) and send them."""
        if self._queue and (final or not self._packed_by_loop()):
            self._pack()
        while self._outbox:
            payload, n_records = self._outbox.popleft()
            self._send(payload, n_records)

    def _packed_by_loop(self) -> bool:
        """Ask the submitting event loop to pack, and wait for it; False if there is none or it is stuck."""
        loop = self._loop
        if loop is None:
            return False
        self._packed.clear()
        try:
            loop.call_soon_threadsafe(self._pack)
        except RuntimeError:  # the loop is closed
            self._loop = None
            return False
        return self._packed.wait(_PACK_WAIT_S)

    def _pack(self) -> None:
        """Turn the queued requests into pickled drains of at most 256 requests each, in order."""
        try:
            with self._pack_lock:
                while self._queue:
                    count = min(len(self._queue), _BATCHES_PER_DRAIN)
                    batches = [self._queue.popleft() for _ in range(count)]
                    n_records = sum(len(b.probabilities) for b in batches)
                    self._taken += n_records
                    try:
                        payload = pickle.dumps(drain_of(batches), protocol=pickle.HIGHEST_PROTOCOL)
                    except Exception:  # a bug must not lose records silently: count them
                        logger.exception("payload log: could not pack %d records", n_records)
                        self.drop_unwritten(n_records)
                        continue
                    self._outbox.append((payload, n_records))
        finally:
            self._packed.set()

    def _send(self, payload: bytes, n_records: int) -> None:
        process = self._ensure_process()
        if process is not None and process.send(payload, n_records):
            return
        self._log_error("payload log: the writer process is not running; %d records dropped", n_records)
        self.drop_unwritten(n_records)

    def _ensure_process(self) -> _WriterProcess | None:
        """The running writer process, started (again) if it is not running and the last try is 1 s old."""
        if self._process is not None and self._process.alive():
            return self._process
        now = time.monotonic()
        if now < self._restart_at:
            return None
        self._restart_at = now + _RESTART_INTERVAL_S
        if self._process is not None:
            self._process.finish(timeout_s=1.0)
            self._generation += 1
        # a restarted process gets its own segment names: the dead one's may still be on disk
        segment_writer = self.writer_id if not self._generation else f"{self.writer_id}.r{self._generation}"
        try:
            self._process = _WriterProcess({**self._appender_config, "writer_id": segment_writer}, self)
        except OSError as exc:
            self._log_error("payload log: cannot start the writer process: %s", exc)
            self._process = None
        return self._process

    def _log_error(self, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last_error_log >= _ERROR_LOG_INTERVAL_S:
            self._last_error_log = now
            logger.error(message, *args)
