"""Reading back what the payload log wrote: the tests' view of a spool directory."""

from __future__ import annotations

import json
from pathlib import Path


def read_spool(spool: Path, pattern: str = "seg-*") -> list[dict]:
    """Every whole record in the spool's segments matching ``pattern`` (closed and open), in name order."""
    records = []
    for path in sorted(spool.glob(pattern)):
        for line in path.read_bytes().split(b"\n"):
            if line:
                records.append(json.loads(line))
    return records
