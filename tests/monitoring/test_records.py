"""The record parser: what it accepts, what it skips and for which reason, whole batches at a time."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pytest

from monitoring.records import MALFORMED_REASONS, RecordParser
from service.payload_log import VERSION_KEY, payload_schema

NAMES = ["a", "b", "c"]
TIME = datetime(2025, 1, 2, 3, 4, 5, 6, tzinfo=UTC)


def record(**overrides: object) -> dict:
    """A valid record for features a, b, c, with some keys replaced."""
    base: dict = {
        "time": TIME,
        "request_id": "w-1",
        "caller_id": None,
        "model_tag": "credit_scorer:test",
        "input": "features",
        "probability": 0.25,
        "decision": "accept",
        "features": {"a": 1.5, "b": None, "c": 3.0},
    }
    base.update(overrides)
    return base


def batch_of(*records: dict, names: list[str] = NAMES, schema: pa.Schema | None = None) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist(list(records), schema=schema or payload_schema(names))


def test_valid_records_become_columns_in_the_bundle_order() -> None:
    other_order = ["c", "extra", "a", "b"]  # another writer's feature order, with a field we do not use
    shuffled = record(
        features={"c": 30.0, "extra": 7.0, "a": 10.0, "b": math.nan}, decision="refuse", probability=1.0
    )
    parser = RecordParser(NAMES)
    ours, theirs = parser.parse([batch_of(record())]), parser.parse([batch_of(shuffled, names=other_order)])
    np.testing.assert_array_equal(ours.features, [[1.5, np.nan, 3.0]])
    np.testing.assert_array_equal(theirs.features, [[10.0, np.nan, 30.0]])
    assert ours.times.tolist() == theirs.times.tolist() == [TIME.timestamp()]
    assert (ours.probabilities.tolist(), theirs.probabilities.tolist()) == ([0.25], [1.0])
    assert (ours.refused.tolist(), theirs.refused.tolist()) == ([False], [True])
    assert not ours.malformed and not theirs.malformed


def test_the_batches_of_a_segment_are_checked_together_in_order() -> None:
    decisions = ["accept", "accept", "accept", "maybe", "accept", "accept"]
    batches = [batch_of(record(probability=i / 10, decision=d)) for i, d in enumerate(decisions)]
    parsed = RecordParser(NAMES).parse(batches)
    assert parsed.probabilities.tolist() == [0.0, 0.1, 0.2, 0.4, 0.5]
    assert dict(parsed.malformed) == {"bad_decision": 1}


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (record(time=None), "bad_time"),
        (record(features={"a": math.inf, "b": 1.0, "c": 1.0}), "bad_features"),
        (record(features=None), "bad_features"),
        (record(probability=1.5), "bad_probability"),
        (record(probability=-0.1), "bad_probability"),
        (record(probability=math.nan), "bad_probability"),
        (record(probability=None), "bad_probability"),
        (record(decision="maybe"), "bad_decision"),
        (record(decision=None), "bad_decision"),
        (record(request_id=None), "bad_request_id"),
        (record(model_tag=None), "bad_request_id"),
    ],
)
def test_unusable_records_are_skipped_with_their_reason(bad: dict, reason: str) -> None:
    parsed = RecordParser(NAMES).parse([batch_of(record(), bad, record())])
    assert len(parsed) == 2
    assert dict(parsed.malformed) == {reason: 1}
    assert reason in MALFORMED_REASONS


def test_a_batch_of_another_version_or_shape_is_skipped_whole() -> None:
    future = payload_schema(NAMES).with_metadata({VERSION_KEY: b"4"})
    lacking = payload_schema(["a", "b"])
    text_features = payload_schema(NAMES).set(
        7, pa.field("features", pa.struct([(n, pa.string()) for n in NAMES]))
    )
    parser = RecordParser(NAMES)
    segments = [
        [batch_of(record(), record(), schema=future)],
        [batch_of(record(features={"a": 1.0, "b": 2.0}), names=["a", "b"], schema=lacking)],
        [batch_of(record(features={"a": "x", "b": "y", "c": "z"}), schema=text_features)],
        [batch_of(record())],
    ]
    parsed = [parser.parse(batches) for batches in segments]
    assert [len(p) for p in parsed] == [0, 0, 0, 1]
    assert [dict(p.malformed) for p in parsed] == [
        {"unknown_version": 2},
        {"bad_schema": 1},
        {"bad_schema": 1},
        {},
    ]


def test_an_empty_read_gives_empty_columns_of_the_right_shape() -> None:
    parsed = RecordParser(NAMES).parse([])
    assert len(parsed) == 0 and parsed.features.shape == (0, 3) and parsed.refused.dtype == bool
