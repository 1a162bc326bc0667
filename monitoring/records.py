"""Parse payload-log lines (``docs/payload-log.md``, format ``v`` 1) into column arrays for the window.

Parsing never raises on bad input: a line that is not a valid record is skipped and its reason counted, so a
corrupt segment can never crash the sidecar.

Speed matters here (the sidecar must keep up with every scoring worker of the pod on one core), so the hot
loop is flat: ``orjson`` decodes each line, the features of a record whose keys come in the bundle's order
(what the service writes) are taken with one ``dict.values()`` call, time strings repeated across a batch are
parsed once, and the feature matrix is built from one flat list at the end of the batch. Lines ``orjson``
refuses are decoded again with the standard library, so every line decodes as with ``json.loads`` alone:
``NaN`` is a missing value, ``Infinity`` a bad feature, integers beyond 64 bits and UTF-16/32 input are read.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import orjson

SUPPORTED_VERSIONS = frozenset({1})
"""Record format versions this reader understands; others are skipped as ``unknown_version``."""

MALFORMED_REASONS = (
    "not_json",
    "not_object",
    "unknown_version",
    "bad_time",
    "bad_features",
    "bad_probability",
    "bad_decision",
    "truncated",
)
"""Every reason a record can be skipped for (the label values of the malformed counter)."""

_FEATURE_TYPES = frozenset({int, float, type(None)})


@dataclass
class ParsedBatch:
    """Valid records of one read, as columns in the bundle's feature order, plus the skipped-line tally."""

    times: np.ndarray
    """Scoring time of each record, seconds since the Unix epoch."""
    features: np.ndarray
    """Feature matrix (records x features), NaN where a value is missing."""
    probabilities: np.ndarray
    """Predicted probability of default of each record."""
    refused: np.ndarray
    """Whether each record's decision was ``refuse``."""
    malformed: Counter[str] = field(default_factory=Counter)
    """Skipped lines by reason."""

    def __len__(self) -> int:
        return len(self.times)


def decode_line(line: bytes) -> Any:
    """Decode one JSON line with ``orjson``, falling back to ``json`` for what only the latter accepts.

    Raises ``ValueError`` (or ``UnicodeDecodeError``) when neither can decode it.
    """
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return json.loads(line)  # NaN / Infinity literals, integers beyond 64 bits, UTF-16/32


class RecordParser:
    """Turns raw lines into a :class:`ParsedBatch` for a fixed, ordered list of feature names."""

    def __init__(self, feature_names: list[str]) -> None:
        self.feature_names = list(feature_names)
        self._names_tuple = tuple(self.feature_names)
        self._last_time: tuple[str | None, float] = (None, 0.0)
        """The last time string parsed and its timestamp (a batch's records often share one)."""

    def parse(self, lines: list[bytes]) -> ParsedBatch:
        """Parse complete lines (without their newline); empty lines are ignored."""
        names, names_tuple = self.feature_names, self._names_tuple
        n_features = len(names)
        feature_types = _FEATURE_TYPES
        times: list[float] = []
        flat: list[float | None] = []  # features of the accepted records, row after row
        probabilities: list[float] = []
        refused: list[bool] = []
        malformed: Counter[str] = Counter()
        last_stamp, last_time = self._last_time
        for line in lines:
            try:
                record = decode_line(line)
            except (ValueError, UnicodeDecodeError):
                if line.strip():
                    malformed["not_json"] += 1
                continue  # an empty or blank line is not a record
            if type(record) is not dict:
                malformed["not_object"] += 1
                continue
            version = record.get("v")
            if type(version) is not int or version not in SUPPORTED_VERSIONS:
                malformed["unknown_version"] += 1
                continue
            stamp = record.get("time")
            if type(stamp) is not str or stamp != last_stamp:
                try:
                    last_time = datetime.fromisoformat(stamp).timestamp()  # type: ignore[arg-type]
                except (TypeError, ValueError):
                    malformed["bad_time"] += 1
                    continue
                last_stamp = stamp
            feats = record.get("features")
            if type(feats) is not dict:
                malformed["bad_features"] += 1
                continue
            # in the writer's own key order no lookups are needed
            row = list(feats.values()) if tuple(feats) == names_tuple else [feats.get(n) for n in names]
            if not feature_types.issuperset(map(type, row)):  # bool, str, list... (inf: below)
                malformed["bad_features"] += 1
                continue
            p = record.get("probability")
            if type(p) not in (float, int) or not 0.0 <= p <= 1.0:
                malformed["bad_probability"] += 1
                continue
            decision = record.get("decision")
            if decision != "refuse" and decision != "accept":
                malformed["bad_decision"] += 1
                continue
            times.append(last_time)
            flat += row
            probabilities.append(p)
            refused.append(decision == "refuse")
        self._last_time = (last_stamp, last_time)
        features, finite = _feature_matrix(flat, len(times), n_features)
        if not finite.all():
            malformed["bad_features"] += int((~finite).sum())
        return ParsedBatch(
            times=np.asarray(times, dtype=np.float64)[finite],
            features=features[finite],
            probabilities=np.asarray(probabilities, dtype=np.float64)[finite],
            refused=np.asarray(refused, dtype=bool)[finite],
            malformed=malformed,
        )


def _feature_matrix(flat: list[float | None], n_rows: int, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """The (rows x features) matrix (``None`` -> NaN) and which rows are finite-or-missing everywhere."""
    try:
        features = np.asarray(flat, dtype=np.float64).reshape(n_rows, n_features)
    except OverflowError:  # an integer too large for a float: convert value by value, mark it infinite
        features = np.asarray([_to_float(v) for v in flat], dtype=np.float64).reshape(n_rows, n_features)
    return features, ~np.isinf(features).any(axis=1)


def _to_float(value: float | None) -> float:
    if value is None:
        return float("nan")
    try:
        return float(value)
    except OverflowError:
        return float("inf")
