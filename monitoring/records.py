"""Turn payload-log record batches (``docs/payload-log.md``, format 3) into column arrays for the window.

Parsing never raises on bad input: a record that is not usable is skipped and its reason counted, so a
corrupt or foreign segment can never crash the sidecar. The work is columnar: each check runs on a whole
record batch with numpy and Arrow compute, and the feature matrix is assembled from the ``features`` struct's
fields by name, in the bundle's order (a writer may add fields or order them differently).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from monitoring.fairness import empty_groups, group_codes
from service.payload_log import PAYLOAD_LOG_VERSION, VERSION_KEY

MALFORMED_REASONS = (
    "unknown_version",
    "bad_schema",
    "bad_time",
    "bad_features",
    "bad_probability",
    "bad_decision",
    "bad_request_id",
    "truncated",
)
"""Every reason records are skipped for (the label values of the malformed counter). ``truncated`` counts
segments whose end could not be read, the others records."""

_VERSION = str(PAYLOAD_LOG_VERSION).encode()


@dataclass
class ParsedBatch:
    """Valid records of one read, as columns in the bundle's feature order, plus the skipped-record tally."""

    times: np.ndarray
    """Scoring time of each record, seconds since the Unix epoch."""
    features: np.ndarray
    """Feature matrix (records x features), NaN where a value is missing."""
    probabilities: np.ndarray
    """Predicted probability of default of each record."""
    refused: np.ndarray
    """Whether each record's decision was ``refuse``."""
    malformed: Counter[str] = field(default_factory=Counter)
    """Skipped records by reason."""
    request_ids: np.ndarray | None = None
    """Each record's ``request_id`` (object array of str), for the decision store; ``None`` when not read."""
    caller_ids: np.ndarray | None = None
    """Each record's ``caller_id`` (str or ``None`` where the caller sent none)."""
    model_tags: np.ndarray | None = None
    """Each record's ``model_tag``."""
    groups: np.ndarray = field(default_factory=empty_groups)
    """Monitoring group codes of each record (records x attributes, -1 = none: :mod:`monitoring.fairness`)."""

    def __len__(self) -> int:
        return len(self.times)


class RecordParser:
    """Turns record batches into a :class:`ParsedBatch` for a fixed, ordered list of feature names."""

    def __init__(self, feature_names: list[str]) -> None:
        self.feature_names = list(feature_names)

    def parse(self, batches: Sequence[pa.RecordBatch]) -> ParsedBatch:
        """The valid records of ``batches``, in order. The batches come from one segment and share its schema;
        they are checked as one batch (the cost is per batch, and a worker writes small ones at low traffic).
        """
        return self._parse_one(_joined(batches)) if batches else self._empty(Counter())

    def _empty(self, malformed: Counter[str]) -> ParsedBatch:
        return ParsedBatch(
            times=np.empty(0),
            features=np.empty((0, len(self.feature_names))),
            probabilities=np.empty(0),
            refused=np.empty(0, dtype=bool),
            malformed=malformed,
        )

    def _parse_one(self, batch: pa.RecordBatch) -> ParsedBatch:
        n = batch.num_rows
        metadata = batch.schema.metadata or {}
        if metadata.get(VERSION_KEY) != _VERSION:
            return self._empty(Counter({"unknown_version": n}))
        try:
            times, time_ok = _times(batch.column("time"))
            features, features_ok = self._features(batch.column("features"))
            probabilities = batch.column("probability").cast(pa.float64()).to_numpy(zero_copy_only=False)
            decision = batch.column("decision")
            ids = [_strings(batch.column(name)) for name in ("request_id", "caller_id", "model_tag")]
            groups = group_codes(batch.column("groups"))
        except (KeyError, pa.ArrowInvalid, pa.ArrowNotImplementedError, TypeError):
            return self._empty(Counter({"bad_schema": n}))
        refused = pc.fill_null(pc.equal(decision, "refuse"), False).to_numpy(zero_copy_only=False)
        accepted = pc.fill_null(pc.equal(decision, "accept"), False).to_numpy(zero_copy_only=False)
        checks = (
            ("bad_time", time_ok),
            ("bad_features", features_ok),
            ("bad_probability", (probabilities >= 0.0) & (probabilities <= 1.0)),  # NaN (null) fails
            ("bad_decision", refused | accepted),
            ("bad_request_id", np.not_equal(ids[0], None) & np.not_equal(ids[2], None)),
        )
        keep = np.ones(n, dtype=bool)
        malformed: Counter[str] = Counter()
        for reason, ok in checks:
            failed = int((keep & ~ok).sum())
            if failed:
                malformed[reason] = failed
            keep &= ok
        return ParsedBatch(
            times=times[keep],
            features=features[keep],
            probabilities=probabilities[keep],
            refused=refused[keep],
            malformed=malformed,
            request_ids=ids[0][keep],
            caller_ids=ids[1][keep],
            model_tags=ids[2][keep],
            groups=groups[keep],
        )

    def _features(self, column: pa.Array) -> tuple[np.ndarray, np.ndarray]:
        """The (records x features) matrix in the bundle's order, and which records are usable: present and
        finite-or-missing everywhere (NaN and null are missing values, infinities are not)."""
        if not pa.types.is_struct(column.type):
            raise TypeError("features is not a struct")
        values = np.empty((len(column), len(self.feature_names)), dtype=np.float64)
        for j, name in enumerate(self.feature_names):
            values[:, j] = column.field(name).cast(pa.float64()).to_numpy(zero_copy_only=False)
        present = ~column.is_null().to_numpy(zero_copy_only=False)
        return values, present & ~np.isinf(values).any(axis=1)


def _joined(batches: Sequence[pa.RecordBatch]) -> pa.RecordBatch:
    """``batches`` of one schema as a single batch."""
    if len(batches) == 1:
        return batches[0]
    table = pa.Table.from_batches(batches, schema=batches[0].schema).combine_chunks()
    return table.to_batches()[0] if table.num_rows else batches[0].slice(0, 0)


def _strings(column: pa.Array) -> np.ndarray:
    """A string column as an object array of str, ``None`` where null."""
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        raise TypeError("not a string column")
    return column.to_numpy(zero_copy_only=False)


def _times(column: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Epoch seconds of a timestamp column, and which are present."""
    if not pa.types.is_timestamp(column.type):
        raise TypeError("time is not a timestamp")
    present = ~column.is_null().to_numpy(zero_copy_only=False)
    micros = column.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).fill_null(0)
    return micros.to_numpy(zero_copy_only=False) / 1e6, present
