"""The record parser: what it accepts, what it skips and for which reason, and that the two decoders agree."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from monitoring.records import RecordParser

NAMES = ["a", "b", "c"]


def record(**overrides: object) -> dict:
    """A valid record for features a, b, c, with some keys replaced."""
    base: dict = {
        "v": 1,
        "time": "2025-01-02T03:04:05.000006Z",
        "request_id": "w-1",
        "caller_id": None,
        "model_tag": "credit_scorer:test",
        "features": {"a": 1.5, "b": None, "c": 3},
        "probability": 0.25,
        "decision": "accept",
    }
    base.update(overrides)
    return base


def line(rec: dict) -> bytes:
    return json.dumps(rec, separators=(",", ":")).encode()


def test_valid_records_become_columns_in_the_bundle_order() -> None:
    shuffled = record(features={"c": 30, "extra": "ignored", "a": 10.0}, decision="refuse", probability=1)
    batch = RecordParser(NAMES).parse([line(record()), line(shuffled)])
    assert len(batch) == 2
    np.testing.assert_array_equal(batch.features[0], [1.5, np.nan, 3.0])
    np.testing.assert_array_equal(batch.features[1], [10.0, np.nan, 30.0])  # missing key -> missing value
    assert batch.refused.tolist() == [False, True]
    assert batch.probabilities.tolist() == [0.25, 1.0]
    assert batch.times[0] == pytest.approx(1735787045.000006)
    assert not batch.malformed


def test_records_sharing_a_time_string_get_the_same_time_and_new_strings_are_parsed() -> None:
    later = record(time="2025-01-02T03:04:06Z")
    batch = RecordParser(NAMES).parse([line(record()), line(record()), line(later), line(record())])
    assert batch.times[1] == batch.times[0]
    assert batch.times[2] == pytest.approx(batch.times[0] + 0.999994)
    assert batch.times[3] == batch.times[0]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "not_json"),
        (b"\xff\xfe\x00garbage", "not_json"),
        (b"[1, 2]", "not_object"),
        (line(record(v=2)), "unknown_version"),
        (line(record(v=True)), "unknown_version"),
        (line(record(v=[1])), "unknown_version"),
        (line(record(time="yesterday")), "bad_time"),
        (line(record(time="")), "bad_time"),
        (line(record(time=None)), "bad_time"),
        (line({k: v for k, v in record().items() if k != "time"}), "bad_time"),
        (line(record(features=[1, 2, 3])), "bad_features"),
        (line(record(features={"a": "high", "b": 1, "c": 1})), "bad_features"),
        (line(record(features={"a": True, "b": 1, "c": 1})), "bad_features"),
        (b'{"v":1,"time":"2025-01-02T03:04:05Z","features":{"a":Infinity,"b":1,"c":1},'
         b'"probability":0.1,"decision":"accept"}', "bad_features"),
        (line(record(features={"a": 10**400, "b": 1, "c": 1})), "bad_features"),
        (line(record(probability=1.5)), "bad_probability"),
        (line(record(probability=True)), "bad_probability"),
        (line(record(probability="0.1")), "bad_probability"),
        (line(record(decision="maybe")), "bad_decision"),
        (line(record(decision=["accept"])), "bad_decision"),
    ],
)  # fmt: skip
def test_malformed_lines_are_skipped_with_their_reason(raw: bytes, reason: str) -> None:
    batch = RecordParser(NAMES).parse([line(record()), raw, line(record())])
    assert len(batch) == 2
    assert dict(batch.malformed) == {reason: 1}


def test_blank_lines_are_ignored_without_being_counted() -> None:
    batch = RecordParser(NAMES).parse([b"", b"   ", line(record()), b"\t"])
    assert len(batch) == 1
    assert not batch.malformed


def test_what_only_the_standard_decoder_accepts_is_still_read() -> None:
    nan_feature = (
        b'{"v":1,"time":"2025-01-02T03:04:05Z","features":{"a":NaN,"b":1,"c":2},'
        b'"probability":0.5,"decision":"refuse"}'
    )
    big_int = line(record(features={"a": 2**70, "b": 1, "c": 2}))
    utf16 = json.dumps(record()).encode("utf-16")
    batch = RecordParser(NAMES).parse([nan_feature, big_int, utf16])
    assert not batch.malformed
    assert math.isnan(batch.features[0, 0])
    assert batch.features[1, 0] == float(2**70)
    np.testing.assert_array_equal(batch.features[2], [1.5, np.nan, 3.0])


def test_an_empty_read_gives_empty_columns_of_the_right_shape() -> None:
    batch = RecordParser(NAMES).parse([])
    assert len(batch) == 0
    assert batch.features.shape == (0, 3)
