"""Counters of decisions per monitored group of a protected attribute, which add up across pods.

The payload log carries, for each applicant sent as its application document, one label per monitored
attribute (column ``groups``, :mod:`service.applicant.groups`); a record sent as a feature vector has none
and is not counted here. Each sidecar counts the valid records it ingests by (attribute, group, decision)
under its bundle's ``binning`` label (the stability counters' identity of the bundle; records of another
model in the spool would be counted under it, which one release per pod rules out); Prometheus sums the
counters of all pods and its recording rules turn them into approval rates per group and adverse-impact
ratios (``helm/credit-scoring/rules/credit-scoring.rules.yaml``, groups ``credit-scoring.fairness-*``).

As for the stability counters (:mod:`monitoring.stability`), counts become visible only when the checkpoint
covering their records is written (:meth:`FairnessCounter.commit`): a record read again after ``kill -9`` is
counted once, by the process that checkpoints it. A restarted process starts its counters at zero, which
``increase()`` reads as a counter reset.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from prometheus_client.core import CounterMetricFamily, Metric

from service.applicant.groups import MONITORED

DECISIONS = "credit_scoring_fairness_decisions"
"""Counter (``_total`` on the wire) of decisions per bundle (``binning``), attribute, group and decision."""
DECISION_LABELS = ("accept", "refuse")
"""Values of the ``decision`` label, in code order (refused = 1)."""

_SIZES = np.array([len(attribute.labels) for attribute in MONITORED], dtype=np.int64)
_OFFSETS = np.concatenate(([0], np.cumsum(_SIZES)[:-1]))
_N_GROUPS = int(_SIZES.sum())
_LABELS = [(attribute.name, label) for attribute in MONITORED for label in attribute.labels]


_LABEL_SETS = [pa.array(list(attribute.labels), type=pa.string()) for attribute in MONITORED]


def empty_groups() -> np.ndarray:
    """The group codes of no record."""
    return np.empty((0, len(MONITORED)), dtype=np.int16)


def group_codes(column: pa.Array) -> np.ndarray:
    """The ``groups`` column of a payload-log batch as codes: records x monitored attributes, the position of
    the record's label in the attribute's labels, -1 for none.

    None means: a feature vector (the struct is null), a null or a label this version does not know, or an
    attribute the writer did not log. Raises ``TypeError`` when the column or a field is of another kind
    (the parser counts the batch as ``bad_schema``).
    """
    if not pa.types.is_struct(column.type):
        raise TypeError("groups is not a struct")
    codes = np.full((len(column), len(MONITORED)), -1, dtype=np.int16)
    fields = column.flatten()  # children with the struct's nulls applied
    for j, (attribute, labels) in enumerate(zip(MONITORED, _LABEL_SETS, strict=True)):
        position = column.type.get_field_index(attribute.name)
        if position < 0:
            continue
        child = fields[position]
        if not pa.types.is_string(child.type):
            raise TypeError(f"groups.{attribute.name} is not text")
        codes[:, j] = pc.index_in(child, value_set=labels).fill_null(-1).to_numpy(zero_copy_only=False)
    return codes


class FairnessCounter:
    """Decision counts per (attribute, group) of one bundle, exported as a Prometheus collector.

    :meth:`count` and :meth:`commit` run on the ingest thread; :meth:`collect` on the HTTP threads.
    """

    def __init__(self, binning: str) -> None:
        self.binning = binning
        """Identity of the sidecar's bundle (label ``binning``, as on the stability counters): counts of
        pods serving the same bundle add up; a rollout's two versions stay apart."""
        self._pending = np.zeros(2 * _N_GROUPS, dtype=np.int64)
        self._published = self._pending.copy()
        self._lock = threading.Lock()

    def count(self, codes: np.ndarray, refused: np.ndarray) -> None:
        """Count the decisions (``refused`` per record) of a batch of valid records with their group
        ``codes`` (:func:`group_codes`); they wait for :meth:`commit`."""
        if len(refused) == 0:
            return
        cells = (codes.astype(np.int64) + _OFFSETS) * 2 + np.asarray(refused, dtype=np.int64)[:, None]
        cells = cells[codes >= 0]
        if len(cells):
            self._pending += np.bincount(cells, minlength=len(self._pending))

    def commit(self) -> None:
        """Publish the counts of every record counted so far (called once their checkpoint is written)."""
        with self._lock:
            self._published += self._pending
        self._pending[:] = 0

    def published(self) -> np.ndarray:
        """A copy of the published counts: (groups of every attribute, in order) x (accept, refuse)."""
        with self._lock:
            return self._published.reshape(_N_GROUPS, 2).copy()

    def collect(self) -> Iterator[Metric]:
        """The decision counter family, read by the registry at every scrape: every group and decision from
        the start, zeros included, so that ``increase()`` sees the first decisions of each."""
        family = CounterMetricFamily(
            DECISIONS,
            "Decisions on applicants sent as application documents, per monitored protected attribute, group "
            "and decision (add up across pods; the fairness recording rules turn them into approval rates "
            "and adverse-impact ratios).",
            labels=["binning", "attribute", "group", "decision"],
        )
        for (attribute, group), row in zip(_LABELS, self.published(), strict=True):
            for decision, n in zip(DECISION_LABELS, row, strict=True):
                family.add_metric([self.binning, attribute, group, decision], float(n))
        yield family
