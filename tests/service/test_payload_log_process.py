"""The writer process on its own pipes: one status line per frame, a bad frame never stops it."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from service.payload_log_process import frame
from service.spool_appender import Drain

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parents[2]


def _run(frames: list[bytes], spool: Path) -> tuple[list[dict], subprocess.CompletedProcess[bytes]]:
    config = {
        "spool_dir": str(spool), "feature_names": ["a", "b"], "writer_id": "p1", "request_id_prefix": "p1",
        "max_bytes": 10**9, "segment_max_bytes": 10**6, "segment_max_age_s": 60.0, "flush_interval_s": 0.05,
        "niceness": 0,
    }  # fmt: skip
    stdin = frame(pickle.dumps(config)) + b"".join(frames)
    done = subprocess.run(
        [sys.executable, "-m", "service.payload_log_process"], input=stdin, capture_output=True,
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=30, check=False,
    )  # fmt: skip
    return [json.loads(line) for line in done.stdout.splitlines()], done


def _drain(first_seq: int, n: int) -> bytes:
    drain = Drain([(1_790_000_000.0, first_seq, n, "m:1")], [None] * n, ["features"] * n, np.ones((n, 2)),
                  np.full(n, 0.1), np.zeros(n, bool))  # fmt: skip
    return frame(pickle.dumps(drain))


def test_each_frame_gets_its_status_line_and_the_end_of_input_closes_the_segment(tmp_path: Path) -> None:
    statuses, done = _run([_drain(0, 2), _drain(2, 3)], tmp_path)
    assert done.returncode == 0, done.stderr
    assert [(s["written"], s["dropped"]) for s in statuses] == [(2, {}), (3, {})]
    assert statuses[0]["bytes"] > 0 and statuses[0]["spool_bytes"] == 0  # measured before the first write
    assert [p.name for p in tmp_path.iterdir()] == ["seg-p1-00000001.jsonl"]
    lines = (tmp_path / "seg-p1-00000001.jsonl").read_bytes().splitlines()
    assert [json.loads(line)["request_id"] for line in lines] == ["p1-0", "p1-1", "p1-2", "p1-3", "p1-4"]
    assert sum(s["bytes"] for s in statuses) == (tmp_path / "seg-p1-00000001.jsonl").stat().st_size


def test_an_unreadable_frame_is_reported_as_nothing_written_and_the_next_one_is_written(
    tmp_path: Path,
) -> None:
    garbage = [frame(b"not a pickle"), frame(pickle.dumps({"not": "a drain"}))]
    statuses, done = _run([*garbage, _drain(0, 1)], tmp_path)
    assert done.returncode == 0
    assert [(s["written"], s["dropped"]) for s in statuses] == [(0, {}), (0, {}), (1, {})]
    assert b"unreadable frame" in done.stderr


def test_a_partial_last_frame_is_discarded(tmp_path: Path) -> None:
    whole = _drain(0, 2)
    statuses, done = _run([whole, _drain(2, 2)[:-5]], tmp_path)
    assert done.returncode == 0
    assert [s["written"] for s in statuses] == [2]
    assert len((tmp_path / "seg-p1-00000001.jsonl").read_bytes().splitlines()) == 2
