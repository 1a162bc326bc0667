"""The sidecar's side of the decision store: every ingested decision written to the database before the
checkpoint that covers it is saved.

Order of operations (with :mod:`monitoring.ingest`): records read from the spool are parsed and added here
(:meth:`DecisionRecorder.add`, memory only); at each checkpoint :meth:`DecisionRecorder.flush` inserts them in
one transaction and commits, and only when that succeeded is the checkpoint written (and then the consumed
segments deleted). Inserts skip request ids already stored, so the records a crash makes the next process
read again (those read after the last checkpoint, some of them possibly committed) are stored once.

A database that is down or refuses the write never loses a record: the flush fails, the checkpoint is not
written, its offsets do not move and no segment is deleted; the flush is tried again with a back-off of 1 s
doubling to ``retry_max_seconds``. Meanwhile reading goes on until ``max_pending`` decisions wait in memory;
then the sidecar stops reading, the spool grows, and once it reaches the service's byte limit the service
drops new records and counts them (``credit_scoring_payload_records_dropped_total{reason="spool_full"}``),
never blocking scoring.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge
from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.exc import SQLAlchemyError

from monitoring import store_schema as schema
from monitoring.performance import accepted_holdout_auc
from monitoring.records import ParsedBatch
from service.bundle import Bundle

log = logging.getLogger(__name__)

INSERT_CHUNK_ROWS = 5_000
"""Rows per ``executemany`` call inside the one transaction of a flush."""
FIRST_RETRY_SECONDS = 1.0
"""Wait before the first retry of a failed flush; it doubles up to the recorder's ``retry_max_seconds``."""


@dataclass
class _Pending:
    """Decisions waiting for the next flush, as the column arrays of the batches they came in."""

    batches: list[dict[str, np.ndarray]] = field(default_factory=list)
    records: int = 0


class DecisionRecorder:
    """Buffers the decisions of ingested records and writes them to the store at each checkpoint.

    Runs on the ingest thread only (no locking).
    """

    def __init__(
        self,
        engine: Engine,
        bundle: Bundle,
        registry: CollectorRegistry | None = None,
        *,
        max_pending: int = 100_000,
        retry_max_seconds: float = 30.0,
    ) -> None:
        self.engine = engine
        self.bundle = bundle
        self.max_pending = max_pending
        """Decisions held in memory at most; beyond, :attr:`backlogged` tells the ingest loop to stop
        reading."""
        self.retry_max_seconds = retry_max_seconds
        self._pending = _Pending()
        self._schema_ready = False
        self._known_tags: set[str] = set()
        self._failures_in_a_row = 0
        self._next_attempt = 0.0
        registry = registry if registry is not None else CollectorRegistry()
        self._committed = Counter(
            "credit_scoring_decision_store_records_committed",
            "Decisions committed to the decision store by this process (a record read again after a crash "
            "is committed again but stored once).",
            registry=registry,
        )
        self._failures = Counter(
            "credit_scoring_decision_store_write_failures",
            "Writes to the decision store that failed (database down or refusing); retried with back-off.",
            registry=registry,
        )
        self._skipped = Counter(
            "credit_scoring_decision_store_records_skipped",
            "Ingested records not stored because an id is longer than the store's columns (request id 128, "
            "caller id 256, model tag 128 characters).",
            registry=registry,
        )
        self._pending_gauge = Gauge(
            "credit_scoring_decision_store_pending_records",
            "Decisions read from the spool and not yet committed to the decision store.",
            registry=registry,
        )

    @property
    def pending_records(self) -> int:
        """Decisions added and not yet committed."""
        return self._pending.records

    @property
    def backlogged(self) -> bool:
        """True while ``max_pending`` or more decisions wait: the ingest loop reads nothing until a flush
        works."""
        return self._pending.records >= self.max_pending

    def add(self, batch: ParsedBatch) -> None:
        """Keep the decisions of a parsed batch for the next :meth:`flush`."""
        if len(batch) == 0:
            return
        if batch.request_ids is None or batch.caller_ids is None or batch.model_tags is None:
            raise ValueError("the parsed batch carries no request ids")
        bands = (
            self.bundle.stability.score.assign(batch.probabilities)
            if self.bundle.stability is not None
            else np.full(len(batch), -1)
        )
        columns = {
            "request_id": batch.request_ids,
            "caller_id": batch.caller_ids,
            "model_tag": batch.model_tags,
            "time": batch.times,
            "probability": batch.probabilities,
            "refused": batch.refused,
            "score_band": bands,
        }
        fits = _fits(batch.request_ids, schema.REQUEST_ID_LENGTH) & _fits(
            batch.model_tags, schema.MODEL_TAG_LENGTH
        )
        fits &= _fits(batch.caller_ids, schema.SUBJECT_ID_LENGTH)
        if not fits.all():
            self._skipped.inc(int((~fits).sum()))
            columns = {name: values[fits] for name, values in columns.items()}
        self._pending.batches.append(columns)
        self._pending.records += int(fits.sum())
        self._pending_gauge.set(self._pending.records)

    def flush(self, *, force: bool = False) -> bool:
        """Commit every pending decision in one transaction; ``True`` when nothing is left pending.

        On failure the decisions stay pending and ``False`` is returned; attempts within the back-off after a
        failure return ``False`` without trying, unless ``force`` (the last checkpoint at shutdown).
        """
        if self._pending.records == 0:
            return True
        now = time.monotonic()
        if not force and now < self._next_attempt:
            return False
        try:
            with self.engine.begin() as connection:
                if not self._schema_ready:
                    schema.ensure_schema(connection)
                self._store_models(connection)
                insert = schema.insert_ignoring_duplicates(self.engine, schema.decisions)
                rows = _rows(self._pending.batches)
                for start in range(0, len(rows), INSERT_CHUNK_ROWS):
                    connection.execute(insert, rows[start : start + INSERT_CHUNK_ROWS])
        except (SQLAlchemyError, OSError) as exc:
            self._failed(exc, now)
            return False
        self._schema_ready = True
        if self._failures_in_a_row:
            log.warning("decision store writable again after %d failed attempts", self._failures_in_a_row)
        self._failures_in_a_row = 0
        self._next_attempt = 0.0
        self._committed.inc(self._pending.records)
        self._pending = _Pending()
        self._pending_gauge.set(0)
        return True

    def _failed(self, exc: BaseException, now: float) -> None:
        self._failures_in_a_row += 1
        self._failures.inc()
        delay = min(self.retry_max_seconds, FIRST_RETRY_SECONDS * 2 ** (self._failures_in_a_row - 1))
        self._next_attempt = now + delay
        loud = self._failures_in_a_row == 1 or delay >= self.retry_max_seconds
        log.log(
            logging.WARNING if loud else logging.DEBUG,
            "writing %d decisions to the decision store failed (%s: %s); the checkpoint waits for them "
            "and the write is retried in %.0f s",
            self.pending_records,
            type(exc).__name__,
            str(exc).splitlines()[0] if str(exc) else "",
            delay,
        )

    def _store_models(self, connection: Connection) -> None:
        tags = {str(t) for b in self._pending.batches for t in np.unique(b["model_tag"])} - self._known_tags
        if not tags:
            return
        known = set(
            connection.scalars(
                select(schema.models.c.model_tag).where(schema.models.c.model_tag.in_(sorted(tags)))
            )
        )
        new = sorted(tags - known)
        accepted_auc = accepted_holdout_auc(self.bundle)
        if known and accepted_auc is not None:  # stored before the store kept it
            connection.execute(
                update(schema.models)
                .where(schema.models.c.model_tag.in_(sorted(known)))
                .where(schema.models.c.holdout_accepted_auc.is_(None))
                .values(holdout_accepted_auc=accepted_auc)
            )
        if new:
            holdout_auc = self.bundle.metrics.get("holdout_auc")
            cost = self.bundle.cost
            connection.execute(
                schema.insert_ignoring_duplicates(self.engine, schema.models),
                [
                    {
                        "model_tag": tag,
                        "threshold": self.bundle.threshold,
                        "cost_false_negative": cost.false_negative,
                        "cost_false_positive": cost.false_positive,
                        "cost_true_positive": cost.true_positive,
                        "cost_true_negative": cost.true_negative,
                        "holdout_auc": None if holdout_auc is None else float(holdout_auc),
                        "holdout_accepted_auc": accepted_auc,
                    }
                    for tag in new
                ],
            )
        self._known_tags |= tags


def _fits(values: np.ndarray, length: int) -> np.ndarray:
    """Which ids (str or ``None``) are at most ``length`` characters long."""
    return np.fromiter((v is None or len(v) <= length for v in values), dtype=bool, count=len(values))


def _rows(batches: list[dict[str, np.ndarray]]) -> list[dict]:
    """The rows of the ``decisions`` table for the pending batches (times converted a batch at a time)."""
    rows: list[dict] = []
    for b in batches:
        scored = np.round(b["time"] * 1e6).astype("int64").astype("datetime64[us]")
        months = np.datetime_as_string(scored.astype("datetime64[M]"), unit="M").tolist()
        bands = [band if band >= 0 else None for band in b["score_band"].tolist()]
        columns = (
            b["request_id"].tolist(),
            b["caller_id"].tolist(),
            b["model_tag"].tolist(),
            scored.tolist(),  # naive datetimes, UTC
            months,
            b["probability"].tolist(),
            b["refused"].tolist(),
            bands,
        )
        rows += [dict(zip(_COLUMNS, values, strict=True)) for values in zip(*columns, strict=True)]
    return rows


_COLUMNS = (
    "request_id",
    "caller_id",
    "model_tag",
    "scored_at",
    "decision_month",
    "probability",
    "refused",
    "score_band",
)


def open_recorder(
    url: str, bundle: Bundle, registry: CollectorRegistry, *, max_pending: int, retry_max_seconds: float
) -> DecisionRecorder:
    """The sidecar's recorder on the store at ``url`` (nothing is connected until the first flush, so a
    database that is down at start-up delays the checkpoint, not the start)."""
    log.info("storing decisions in %s", schema.safe_url(url))
    return DecisionRecorder(
        schema.open_engine(url),
        bundle,
        registry,
        max_pending=max_pending,
        retry_max_seconds=retry_max_seconds,
    )
