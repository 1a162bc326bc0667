"""Reading back what the payload log wrote: the tests' view of a spool directory."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa


def read_segment(path: Path) -> pa.Table:
    """The whole record batches of one segment, closed or still open (a partial last message is left out)."""
    reader = pa.ipc.MessageReader.open_stream(pa.py_buffer(path.read_bytes()))
    schema = pa.ipc.read_schema(reader.read_next_message())
    batches = []
    while True:
        try:
            message = reader.read_next_message()
        except (StopIteration, OSError, pa.ArrowInvalid):  # end of stream or file, or a partial message
            break
        batches.append(pa.ipc.read_record_batch(message, schema))
    return pa.Table.from_batches(batches, schema=schema)


def read_spool(spool: Path, pattern: str = "seg-*") -> list[dict]:
    """Every whole record in the spool's segments matching ``pattern`` (closed and open), in name order,
    as dicts of the documented columns (``time`` a timezone-aware datetime, ``features`` a dict with
    ``None`` for a missing value)."""
    records: list[dict] = []
    for path in sorted(spool.glob(pattern)):
        for record in read_segment(path).to_pylist():
            record["features"] = {k: None if v != v else v for k, v in record["features"].items()}
            records.append(record)
    return records
