"""The payload-log writer process: formats the records a scoring worker sends and appends them to the spool.

Started by :class:`service.payload_log.PayloadLogWriter` as ``python -m service.payload_log_process``, one per
scoring worker. It moves the JSON formatting (the costly part of the payload log: about 25 µs per applicant
with 40 features) out of the worker's process, so it neither adds to the worker's CPU per request nor
competes with its event loop for the GIL.

Protocol, on the two pipes it is started with:

* standard input: frames of an 8-byte little-endian length and a pickle. The first frame is the
  configuration (a dict of :class:`~service.spool_appender.SpoolAppender` arguments plus
  ``flush_interval_s``); every later frame is a :class:`~service.spool_appender.Drain`. Pickle is safe here
  because the only writer of this pipe is the worker that started the process.
* standard output: after each drain frame, in order, one JSON line ``{"written", "bytes", "dropped",
  "spool_bytes"}``: the records of that drain written or dropped (by reason), the bytes appended, and the
  spool's size if it was measured meanwhile (else null). The worker counts records a line does not account
  for (an unreadable frame) as dropped.

End of input (the worker closed the pipe, or died) means: close the open segment and exit. SIGINT and
SIGTERM are ignored, because they also reach this process when its worker's process group is signalled
(Ctrl-C, a supervisor stopping the server), and the worker still has records to send while it stops; a
writer process therefore never outlives its worker's end of the pipe.
"""

from __future__ import annotations

import logging
import os
import pickle
import select
import signal
import struct
import sys
from typing import Any

import orjson

from service.spool_appender import Drain, SpoolAppender

FRAME_HEADER = struct.Struct("<Q")
"""Length prefix of every frame on the writer process's standard input."""

STDIN_FD = 0
STDOUT_FD = 1

logger = logging.getLogger("service.payload_log_process")


def frame(payload: bytes) -> bytes:
    """``payload`` with its length prefix, as written to the writer process."""
    return FRAME_HEADER.pack(len(payload)) + payload


def read_exactly(fd: int, size: int) -> bytes | None:
    """``size`` bytes from ``fd``, or None at end of input (a partial frame at the end is discarded)."""
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> bytes | None:
    """The next frame's payload from ``fd``, or None at end of input."""
    header = read_exactly(fd, FRAME_HEADER.size)
    if header is None:
        return None
    (size,) = FRAME_HEADER.unpack(header)
    return read_exactly(fd, size) if size else b""


class _Outcome:
    """What happened to the records of one drain, gathered from the appender's callbacks."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget the counts: the next drain starts from zero."""
        self.written = 0
        self.nbytes = 0
        self.dropped: dict[str, int] = {}
        self.spool_bytes: int | None = None

    def on_written(self, records: int, nbytes: int) -> None:
        self.written += records
        self.nbytes += nbytes

    def on_dropped(self, reason: str, records: int) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + records

    def on_spool_bytes(self, nbytes: int) -> None:
        self.spool_bytes = nbytes

    def report(self) -> bytes:
        """The status line of the drain just appended; resets the counts for the next one."""
        line = orjson.dumps(
            {
                "written": self.written,
                "bytes": self.nbytes,
                "dropped": self.dropped,
                "spool_bytes": self.spool_bytes,
            }
        )
        self.reset()
        return line + b"\n"


def serve(config: dict[str, Any]) -> None:
    """Append every drain read from standard input until its end, reporting each on standard output."""
    flush_interval_s = float(config.pop("flush_interval_s"))
    os.nice(int(config.pop("niceness")))
    outcome = _Outcome()
    appender = SpoolAppender(
        **config,
        on_written=outcome.on_written,
        on_dropped=outcome.on_dropped,
        on_spool_bytes=outcome.on_spool_bytes,
    )
    worker_listening = True
    try:
        while True:
            readable, _, _ = select.select([STDIN_FD], [], [], flush_interval_s)
            if readable:
                payload = read_frame(STDIN_FD)
                if payload is None:
                    break
                _write(appender, outcome, payload)
                report = outcome.report()
                if worker_listening:
                    try:
                        write_all(STDOUT_FD, report)
                    except OSError:  # the worker is gone: keep writing what it sent
                        worker_listening = False
            appender.close_if_old()
    finally:
        appender.close_segment()


def _write(appender: SpoolAppender, outcome: _Outcome, payload: bytes) -> None:
    try:
        drain = pickle.loads(payload)
        if not isinstance(drain, Drain):
            raise TypeError(f"expected a Drain, got {type(drain).__name__}")
    except Exception:  # reported as nothing written: the worker counts the frame's records as dropped
        logger.exception("payload log: unreadable frame of %d bytes", len(payload))
        return
    try:
        appender.write(drain)
    except Exception:  # a bug must not stop the process: count the drain as lost and go on
        logger.exception("payload log: could not append %d records", drain.n_records)
        outcome.on_dropped("write_error", drain.n_records)


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to the pipe or file ``fd`` (``os.write`` may take only part of it)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def main() -> int:
    """Entry point of ``python -m service.payload_log_process`` (started by the scoring worker only)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s %(levelname)s %(message)s")
    payload = read_frame(STDIN_FD)
    if payload is None:
        return 0
    serve(pickle.loads(payload))
    return 0


if __name__ == "__main__":
    sys.exit(main())
