"""Parse payload-log lines (``docs/payload-log.md``, format ``v`` 1) into column arrays for the window.

Parsing never raises on bad input: a line that is not a valid record is skipped and its reason counted, so a
corrupt segment can never crash the sidecar.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

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


class RecordParser:
    """Turns raw lines into a :class:`ParsedBatch` for a fixed, ordered list of feature names."""

    def __init__(self, feature_names: list[str]) -> None:
        self.feature_names = list(feature_names)

    def parse(self, lines: list[bytes]) -> ParsedBatch:
        """Parse complete lines (without their newline); empty lines are ignored."""
        times: list[float] = []
        rows: list[list[float | None]] = []
        probabilities: list[float] = []
        refused: list[bool] = []
        malformed: Counter[str] = Counter()
        names = self.feature_names
        for line in lines:
            if not line.strip():
                continue
            outcome = self._parse_one(line, names)
            if isinstance(outcome, str):
                malformed[outcome] += 1
                continue
            t, row, p, r = outcome
            times.append(t)
            rows.append(row)
            probabilities.append(p)
            refused.append(r)
        n_features = len(names)
        features = np.asarray(rows, dtype=np.float64).reshape(len(rows), n_features)  # None -> NaN
        keep = ~np.isinf(features).any(axis=1)
        if not keep.all():
            malformed["bad_features"] += int((~keep).sum())
        return ParsedBatch(
            times=np.asarray(times, dtype=np.float64)[keep],
            features=features[keep],
            probabilities=np.asarray(probabilities, dtype=np.float64)[keep],
            refused=np.asarray(refused, dtype=bool)[keep],
            malformed=malformed,
        )

    @staticmethod
    def _parse_one(line: bytes, names: list[str]) -> tuple[float, list[float | None], float, bool] | str:
        try:
            record = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            return "not_json"
        if not isinstance(record, dict):
            return "not_object"
        if record.get("v") not in SUPPORTED_VERSIONS:
            return "unknown_version"
        try:
            t = datetime.fromisoformat(record["time"]).timestamp()
        except (KeyError, TypeError, ValueError):
            return "bad_time"
        feats = record.get("features")
        if not isinstance(feats, dict):
            return "bad_features"
        row = [feats.get(name) for name in names]
        if not all(type(value) in _FEATURE_TYPES for value in row):  # bool, str, list... (inf: see parse)
            return "bad_features"
        p = record.get("probability")
        if not isinstance(p, int | float) or isinstance(p, bool) or not 0.0 <= p <= 1.0:
            return "bad_probability"
        decision = record.get("decision")
        if decision not in ("accept", "refuse"):
            return "bad_decision"
        return t, row, float(p), decision == "refuse"
