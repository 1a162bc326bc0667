"""The checkpoint file: what a damaged one raises, and moving it aside."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from monitoring import checkpoint as ckpt

NAMES = ["a", "b"]


def saved(path: Path, n: int = 3) -> bytes:
    """Save a consistent checkpoint of ``n`` records at ``path``; return its bytes."""
    ckpt.save(
        path,
        ckpt.Checkpoint(
            offsets={"seg-w-00000001": 120},
            consumed=[],
            ingested_total=n,
            malformed_total={"bad_time": 1},
            feature_names=NAMES,
            window={
                "times": np.arange(n, dtype=float),
                "features": np.ones((n, len(NAMES))),
                "probabilities": np.full(n, 0.5),
                "refused": np.zeros(n, dtype=bool),
            },
        ),
    )
    return path.read_bytes()


def npz_bytes(meta: object, **arrays: np.ndarray) -> bytes:
    """An ``.npz`` whose ``meta`` entry is ``meta`` as JSON (or raw bytes), with ``arrays``."""
    raw = meta if isinstance(meta, bytes) else json.dumps(meta).encode()
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.frombuffer(raw, dtype=np.uint8), **arrays)
    return buffer.getvalue()


def good_meta(**changes: object) -> dict:
    meta = {
        "version": ckpt.CHECKPOINT_VERSION,
        "offsets": {},
        "consumed": [],
        "ingested_total": 0,
        "malformed_total": {},
        "feature_names": NAMES,
    }
    return {**meta, **changes}


def truncated(path: Path) -> None:
    path.write_bytes(saved(path)[:-200])


def garbage(path: Path) -> None:
    path.write_bytes(b"\x00\xffnot a checkpoint" * 50)


def empty(path: Path) -> None:
    path.write_bytes(b"")


def json_text(path: Path) -> None:
    path.write_text(json.dumps(good_meta()))


def zip_without_meta(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("times.npy", b"")


def meta_not_json(path: Path) -> None:
    path.write_bytes(npz_bytes(b"{not json"))


def meta_without_offsets(path: Path) -> None:
    meta = good_meta()
    del meta["offsets"]
    path.write_bytes(npz_bytes(meta))


def meta_a_list(path: Path) -> None:
    path.write_bytes(npz_bytes([1, 2, 3]))


def negative_offset(path: Path) -> None:
    path.write_bytes(npz_bytes(good_meta(offsets={"seg-w-00000001": -5})))


def window_of_mismatched_lengths(path: Path) -> None:
    path.write_bytes(
        npz_bytes(
            good_meta(),
            times=np.arange(3.0),
            features=np.ones((3, 2)),
            probabilities=np.full(2, 0.5),
            refused=np.zeros(3, dtype=bool),
        )
    )


def features_of_another_width(path: Path) -> None:
    path.write_bytes(
        npz_bytes(
            good_meta(),
            times=np.arange(3.0),
            features=np.ones((3, 5)),
            probabilities=np.full(3, 0.5),
            refused=np.zeros(3, dtype=bool),
        )
    )


def a_directory(path: Path) -> None:
    path.mkdir()


CORRUPTIONS: list[Callable[[Path], None]] = [
    truncated,
    garbage,
    empty,
    json_text,
    zip_without_meta,
    meta_not_json,
    meta_without_offsets,
    meta_a_list,
    negative_offset,
    window_of_mismatched_lengths,
    features_of_another_width,
    a_directory,
]


@pytest.mark.parametrize("corrupt", CORRUPTIONS, ids=[c.__name__ for c in CORRUPTIONS])
def test_a_damaged_checkpoint_raises_corrupt_checkpoint_error(
    tmp_path: Path, corrupt: Callable[[Path], None]
) -> None:
    path = tmp_path / "checkpoint.npz"
    corrupt(path)
    with pytest.raises(ckpt.CorruptCheckpointError):
        ckpt.load(path)


def test_a_good_checkpoint_loads_and_a_missing_or_other_version_one_is_none(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.npz"
    assert ckpt.load(path) is None
    saved(path)
    loaded = ckpt.load(path)
    assert loaded is not None and loaded.ingested_total == 3 and loaded.window["features"].shape == (3, 2)
    path.write_bytes(npz_bytes(good_meta(version=ckpt.CHECKPOINT_VERSION + 1)))
    assert ckpt.load(path) is None


def test_move_aside_keeps_the_bytes_under_a_timestamped_name(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.npz"
    garbage(path)
    content = path.read_bytes()
    first = ckpt.move_aside(path)
    assert not path.exists()
    assert first.parent == tmp_path and first.name.startswith("checkpoint.npz.corrupt-")
    assert first.read_bytes() == content
    garbage(path)
    second = ckpt.move_aside(path)  # in the same second: another name, nothing overwritten
    assert second != first and first.exists() and second.exists()
