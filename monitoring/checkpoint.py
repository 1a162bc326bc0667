"""The sidecar's durable state: spool offsets, ingest counters and the window, saved together atomically.

Saving offsets and the window in one file, replaced by an atomic rename, is what makes ingestion exactly
once across ``kill -9``: after a restart the window holds exactly the records up to the saved offsets, the
counters match, and reading resumes at those offsets. Records read after the last checkpoint are simply read
again. The file is an uncompressed ``.npz`` (no pickle): the window's arrays plus a JSON ``meta`` entry.

A file that cannot be read back (truncated, overwritten, not an ``.npz``, inconsistent content) raises
:class:`CorruptCheckpointError`; :func:`move_aside` renames it so that the sidecar can start from the spool
instead of failing at every start.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CHECKPOINT_VERSION = 1
"""Layout version of the checkpoint file; a file with another version is ignored (start from scratch)."""
WINDOW_KEYS = ("times", "features", "probabilities", "refused")
"""Arrays of a saved window (all present, one entry per record each), or none for an empty window."""
CORRUPT_SUFFIX = ".corrupt-"
"""A corrupt checkpoint is renamed ``<name>.corrupt-<UTC time>`` next to where it was."""


class CorruptCheckpointError(ValueError):
    """The checkpoint file exists but cannot be read back; the message says what failed."""


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
    """Read a checkpoint, or ``None`` when there is none or it has an unknown version.

    Raises :class:`CorruptCheckpointError` when the file (or whatever holds its name) cannot be read back
    into a consistent checkpoint.
    """
    try:
        return _parse(path)
    except FileNotFoundError:
        return None
    except Exception as exc:  # whatever numpy, zipfile or json make of a damaged file
        raise CorruptCheckpointError(f"{type(exc).__name__}: {exc}") from exc


def _parse(path: Path) -> Checkpoint | None:
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(bytes(data["meta"]).decode())
        if meta.get("version") != CHECKPOINT_VERSION:
            return None
        window = {k: data[k] for k in data.files if k != "meta"}
    saved = Checkpoint(
        offsets={str(k): int(v) for k, v in meta["offsets"].items()},
        consumed=[str(stem) for stem in meta.get("consumed", [])],
        ingested_total=int(meta["ingested_total"]),
        malformed_total={str(k): int(v) for k, v in meta["malformed_total"].items()},
        feature_names=[str(name) for name in meta["feature_names"]],
        window=window,
    )
    _check(saved)
    return saved


def _check(saved: Checkpoint) -> None:
    """Raise ``ValueError`` unless the parsed content is consistent (counts, offsets, window shapes)."""
    counts = [saved.ingested_total, *saved.offsets.values(), *saved.malformed_total.values()]
    if any(n < 0 for n in counts):
        raise ValueError("negative count or offset")
    window = saved.window
    if not window:
        return
    if sorted(window) != sorted(WINDOW_KEYS):
        raise ValueError(f"window arrays {sorted(window)}, expected {sorted(WINDOW_KEYS)}")
    n = len(window["times"])
    if any(window[k].ndim != 1 or len(window[k]) != n for k in ("times", "probabilities", "refused")):
        raise ValueError("window arrays of different lengths")
    if window["features"].shape != (n, len(saved.feature_names)):
        raise ValueError(f"feature matrix of shape {window['features'].shape} for {n} records")


def move_aside(path: Path) -> Path:
    """Rename a corrupt checkpoint to ``<name>.corrupt-<UTC time>`` in its directory; return the new path."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = path.with_name(f"{path.name}{CORRUPT_SUFFIX}{stamp}")
    n = 1
    while target.exists():  # two in the same second
        target = path.with_name(f"{path.name}{CORRUPT_SUFFIX}{stamp}-{n}")
        n += 1
    os.replace(path, target)
    return target
