"""The spool appender alone: record format, timestamps, rotation, and the byte bound."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from service.spool_appender import RECORD_VERSION, Drain, SecondStamps, SpoolAppender
from tests.service.spool_records import read_spool


def _appender(spool: Path, **kwargs) -> tuple[SpoolAppender, dict[str, int]]:
    counts: dict[str, int] = {}

    def on_dropped(reason: str, n: int) -> None:
        counts[reason] = counts.get(reason, 0) + n

    def on_written(n: int, nbytes: int) -> None:
        counts["written"] = counts.get("written", 0) + n

    options = {"max_bytes": 10**9, "segment_max_bytes": 10**6, "segment_max_age_s": 60.0}
    options.update(kwargs)
    appender = SpoolAppender(
        spool, ["a", "b"], writer_id="w1", request_id_prefix="r1", on_written=on_written,
        on_dropped=on_dropped, **options,
    )  # fmt: skip
    return appender, counts


def _drain(first_seq: int, n: int, tag: str = "m:1", time_s: float = 1_790_000_000.25) -> Drain:
    matrix = np.array([[1.5, np.nan]] * n)
    return Drain([(time_s, first_seq, n, tag)], [f"c{first_seq + i}" for i in range(n)],
                 ["applicant"] * n, matrix, np.full(n, 0.75), np.ones(n, bool))  # fmt: skip


def test_record_holds_every_documented_key(tmp_path: Path) -> None:
    appender, counts = _appender(tmp_path)
    appender.write(_drain(10, 2))
    appender.close_segment()
    first, second = read_spool(tmp_path)
    assert first == {
        "v": RECORD_VERSION,
        "time": "2026-09-21T14:13:20.250000Z",
        "request_id": "r1-a",
        "caller_id": "c10",
        "model_tag": "m:1",
        "input": "applicant",
        "features": {"a": 1.5, "b": None},
        "probability": 0.75,
        "decision": "refuse",
    }
    assert second["request_id"] == "r1-b" and second["caller_id"] == "c11"
    assert counts == {"written": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["seg-w1-00000001.jsonl"]


def test_one_drain_of_many_requests_writes_each_record_as_alone(tmp_path: Path) -> None:
    """Requests concatenated into one drain give the same lines as the same requests written one by one."""
    rng = np.random.default_rng(3)
    parts = []
    for seq, size in ((0, 1), (1, 3), (4, 1), (5, 2)):
        matrix = rng.random((size, 2)) * 1e5
        matrix[0, 1] = np.nan
        ids = [None if i % 2 else f"caller-{seq + i}" for i in range(size)]
        forms = ["features" if (seq + i) % 3 else "applicant" for i in range(size)]
        parts.append(Drain([(1_790_000_000 + seq / 7, seq, size, f"m:{seq % 2}")], ids, forms, matrix,
                           rng.random(size), rng.random(size) > 0.5))  # fmt: skip
    together = Drain(
        [r for d in parts for r in d.requests],
        [c for d in parts for c in d.caller_ids],
        [f for d in parts for f in d.forms],
        np.concatenate([d.matrix for d in parts]),
        np.concatenate([d.probabilities for d in parts]),
        np.concatenate([d.refused for d in parts]),
    )
    appender, _ = _appender(tmp_path)
    joined = appender.format(together)
    separate = b"".join(appender.format(d) for d in parts)
    assert joined == separate
    assert joined.count(b"\n") == 7
    assert [json.loads(line)["request_id"] for line in joined.splitlines()] == [f"r1-{i:x}" for i in range(7)]


def test_segments_rotate_at_their_size_and_age(tmp_path: Path) -> None:
    appender, _ = _appender(tmp_path, segment_max_bytes=300)
    for i in range(6):
        appender.write(_drain(i, 1))
    closed = sorted(p.name for p in tmp_path.glob("*.jsonl"))
    assert len(closed) >= 2 and not list(tmp_path.glob("*.open"))  # each ~190-byte record: 2 per segment
    appender.write(_drain(6, 1))
    assert len(list(tmp_path.glob("*.open"))) == 1
    appender.segment_max_age_s = 0.0
    appender.close_if_old()
    assert not list(tmp_path.glob("*.open"))
    assert [r["request_id"] for r in read_spool(tmp_path)] == [f"r1-{i:x}" for i in range(7)]


def test_full_spool_drops_whole_drains_and_counts_them(tmp_path: Path) -> None:
    appender, counts = _appender(tmp_path, max_bytes=500)
    for i in range(5):
        appender.write(_drain(i * 2, 2))
    appender.close_segment()
    assert counts["written"] + counts["spool_full"] == 10 and counts["spool_full"] > 0
    assert sum(p.stat().st_size for p in tmp_path.iterdir()) <= 500
    assert len(read_spool(tmp_path)) == counts["written"]


def test_unwritable_directory_counts_write_errors(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    appender, counts = _appender(blocker / "spool")
    appender.write(_drain(0, 3))
    appender.write(_drain(3, 1))
    assert counts == {"write_error": 4}


def test_time_stamps_match_datetime_formatting_to_the_microsecond() -> None:
    stamps = SecondStamps()
    rng = np.random.default_rng(4)
    seconds = 1_790_000_000 + rng.integers(0, 10**6, 300)
    fractions = np.concatenate([rng.random(290), [0.0, 0.9999994, 0.9999996, 0.5e-6, 0.4e-6] * 2])
    for t in np.sort(seconds + fractions).tolist():
        wanted = datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        assert stamps(t) == wanted, t


def test_lines_are_byte_for_byte_orjson_of_the_documented_record(tmp_path: Path) -> None:
    """The template formatting writes exactly what ``orjson.dumps`` writes for each record as a dict."""
    import orjson

    names = ["AMT_CREDIT", 'odd "quoted" name', "100%_share", "é_unicode", "x" * 60]
    rng = np.random.default_rng(7)
    sizes = [1, 4, 1, 7, 2]
    matrix = rng.normal(size=(sum(sizes), len(names))) * np.array([1e6, 1.0, 1e-9, 123.456, 1e15])
    matrix[rng.random(matrix.shape) < 0.2] = np.nan
    matrix[0, 0], matrix[1, 1], matrix[2, 2] = 0.0, -0.0, 1.0
    ids = [None, 'say "hi"', "ünï\\code", "%s%b", "", *[f"c{i}" for i in range(sum(sizes) - 5)]]
    requests, seq = [], 17
    for k, size in enumerate(sizes):
        requests.append((1_790_000_000 + k * 1.000001, seq, size, f"credit_scorer:v{k}%"))
        seq += size
    forms = ["applicant" if i % 2 else "features" for i in range(sum(sizes))]
    drain = Drain(requests, ids, forms, matrix, rng.random(sum(sizes)), rng.random(sum(sizes)) > 0.5)
    appender = SpoolAppender(
        tmp_path, names, writer_id="w", request_id_prefix="host.a_1%_2", max_bytes=10**9,
        segment_max_bytes=10**6, segment_max_age_s=60.0,
    )  # fmt: skip
    stamps = SecondStamps()
    expected = []
    row = 0
    for time_s, first_seq, size, tag in requests:
        for seq in range(first_seq, first_seq + size):
            record = {
                "v": RECORD_VERSION,
                "time": stamps(time_s),
                "request_id": f"host.a_1%_2-{seq:x}",
                "caller_id": ids[row],
                "model_tag": tag,
                "input": forms[row],
                "features": dict(zip(names, matrix[row].tolist(), strict=True)),
                "probability": float(drain.probabilities[row]),
                "decision": "refuse" if drain.refused[row] else "accept",
            }
            expected.append(orjson.dumps(record) + b"\n")
            row += 1
    assert appender.format(drain) == b"".join(expected)
    assert json.loads(expected[1])["features"]['odd "quoted" name'] == -0.0


def test_a_drain_whose_requests_miscount_its_rows_is_refused(tmp_path: Path) -> None:
    appender, counts = _appender(tmp_path)
    bad = _drain(0, 3)._replace(requests=[(1_790_000_000.0, 0, 2, "m:1")])
    appender.write(bad)
    assert counts == {"write_error": 3}
    assert not list(tmp_path.iterdir())
