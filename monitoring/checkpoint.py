"""The sidecar's durable state: spool offsets, ingest counters and the window, saved together atomically.

Saving offsets and the window in one file, replaced by an atomic rename, is what makes ingestion exactly
once across ``kill -9``: after a restart the window holds exactly the records up to the saved offsets, the
counters match, and reading resumes at those offsets. Records read after the last checkpoint are simply read
again. The file is an uncompressed ``.npz`` (no pickle): the window's arrays plus a JSON ``meta`` entry.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CHECKPOINT_VERSION = 1
"""Layout version of the checkpoint file; a file with another version is ignored (start from scratch)."""


@dataclass
class Checkpoint:
    """What survives a restart."""

    offsets: dict[str, int] = field(default_factory=dict)
    """Consumed bytes per segment stem."""
    consumed: list[str] = field(default_factory=list)
    """Stems of closed segments read to their end: they may be deleted after this checkpoint, and their
    absence after a restart loses nothing (absent from files written before this field: nothing known)."""
    ingested_total: int = 0
    """Valid records ingested since the spool was first read."""
    malformed_total: dict[str, int] = field(default_factory=dict)
    """Skipped lines by reason since the spool was first read."""
    feature_names: list[str] = field(default_factory=list)
    """Column order of ``window["features"]``; a different bundle spec discards the saved window."""
    window: dict[str, np.ndarray] = field(default_factory=dict)
    """The window's records (``times``, ``features``, ``probabilities``, ``refused``), oldest first."""


def save(path: Path, checkpoint: Checkpoint) -> None:
    """Write ``checkpoint`` to ``path`` atomically: temp file, fsync, rename, fsync of the directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "version": CHECKPOINT_VERSION,
        "offsets": checkpoint.offsets,
        "consumed": checkpoint.consumed,
        "ingested_total": checkpoint.ingested_total,
        "malformed_total": checkpoint.malformed_total,
        "feature_names": checkpoint.feature_names,
    }
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        np.savez(
            fh,
            meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
            **{k: np.asarray(v) for k, v in checkpoint.window.items()},
        )
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def load(path: Path) -> Checkpoint | None:
    """Read a checkpoint, or ``None`` when there is none or it has an unknown version."""
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(bytes(data["meta"]).decode())
        if meta.get("version") != CHECKPOINT_VERSION:
            return None
        window = {k: data[k] for k in data.files if k != "meta"}
    return Checkpoint(
        offsets={str(k): int(v) for k, v in meta["offsets"].items()},
        consumed=[str(stem) for stem in meta.get("consumed", [])],
        ingested_total=int(meta["ingested_total"]),
        malformed_total={str(k): int(v) for k, v in meta["malformed_total"].items()},
        feature_names=list(meta["feature_names"]),
        window=window,
    )
