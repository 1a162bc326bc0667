"""Ingestion: spool record batches -> parsed records -> window, with checkpoints that make it exactly once.

Order of operations, and why it is exactly once across ``kill -9``:

1. read new record batches (the reader's in-memory offsets advance);
2. apply the valid ones to the in-memory window and counters;
3. every ``checkpoint_interval_seconds``: commit the decisions read since the last checkpoint to the
   decision store (:mod:`monitoring.decision_store`; while that fails, no checkpoint is written), then save
   offsets + counters + window in one atomic file, with the closed segments read to their end marked as
   consumed, then publish the stability and fairness counts of the records it covers
   (:mod:`monitoring.stability`, :mod:`monitoring.fairness`);
4. only then delete the segments that checkpoint marked as consumed.

A crash before 3 loses the in-memory window and counters together with the offsets that produced them; the
restart restores all three from the last checkpoint and re-reads from its offsets, so every record lands in
the window and the counter exactly once. A crash between 3 and 4 leaves a consumed segment behind, which the
next run deletes without reading it again. A crash after 4 but before the next checkpoint leaves the deleted
segment's offset in the checkpoint, marked consumed: the restart forgets it quietly, whereas a segment that
disappears without being marked consumed is reported as vanished (it may have held unread records).

A checkpoint that cannot be read back is moved aside (:func:`monitoring.checkpoint.move_aside`) and ingestion
starts from the spool as on a first start: the records of the segments still in the spool are read and
counted again, those of segments already deleted are gone from the window.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter

from monitoring import checkpoint as ckpt
from monitoring.decision_store import DecisionRecorder
from monitoring.fairness import FairnessCounter
from monitoring.metrics import MonitorMetrics
from monitoring.records import RecordParser
from monitoring.settings import MonitorSettings
from monitoring.spool_reader import SpoolReader
from monitoring.stability import StabilityCounter
from monitoring.window import RollingWindow, WindowView

log = logging.getLogger(__name__)


class Ingestor:
    """Owns the spool reader and the window; the drift loop only reads the window through :meth:`view`."""

    def __init__(
        self,
        settings: MonitorSettings,
        feature_names: list[str],
        metrics: MonitorMetrics | None = None,
        stability: StabilityCounter | None = None,
        fairness: FairnessCounter | None = None,
        decisions: DecisionRecorder | None = None,
    ) -> None:
        self.settings = settings
        self.feature_names = list(feature_names)
        self.metrics = metrics
        self.stability = stability
        """Per-bin counters of the ingested records (``None``: the bundle has no stability bins); their counts
        are published by each checkpoint, so a record read again after a crash is counted once."""
        self.fairness = fairness
        """Decision counts per protected group, published by each checkpoint like the stability counts."""
        self.decisions = decisions
        """Writes the decisions of ingested records to the decision store before each checkpoint (``None``:
        not stored); while it is backlogged nothing more is read."""
        self.parser = RecordParser(self.feature_names)
        # without a time limit only the last window_records can ever be used: hold (and checkpoint) no more
        capacity = settings.max_window_records if settings.window_seconds else settings.window_records
        self.window = RollingWindow(len(self.feature_names), capacity)
        self.lock = threading.Lock()
        """Guards the window between the ingest thread and readers of :meth:`view`."""
        self.ingested_total = 0
        self.malformed_total: Counter[str] = Counter()
        self.committed_offsets: dict[str, int] = {}
        self.committed_consumed: set[str] = set()
        """Segments the last checkpoint marked as read to their end: the only ones that may be deleted."""
        self._dirty = False
        self._last_checkpoint = 0.0
        self._restore()
        self.reader = SpoolReader(
            settings.spool_dir,
            self.committed_offsets,
            consumed=self.committed_consumed,
            chunk_bytes=settings.read_chunk_bytes,
            stale_open_seconds=settings.stale_open_seconds,
        )

    def _restore(self) -> None:
        path = self.settings.checkpoint_path
        try:
            saved = ckpt.load(path)
        except ckpt.CorruptCheckpointError as exc:
            moved = ckpt.move_aside(path)
            log.error(
                "checkpoint %s is corrupt (%s); moved it to %s and starting from the spool: the segments "
                "still there are read again from their start and their records counted again",
                path,
                exc,
                moved.name,
            )
            if self.metrics is not None:
                self.metrics.checkpoints_corrupt_total.inc()
            return
        if saved is None:
            return
        if saved.feature_names == self.feature_names and saved.window:
            self.window.restore(saved.window)
        elif saved.window:
            log.warning("checkpointed window has another feature list; starting with an empty window")
        self.ingested_total = saved.ingested_total
        self.malformed_total = Counter(saved.malformed_total)
        self.committed_offsets = dict(saved.offsets)
        self.committed_consumed = set(saved.consumed)
        if self.metrics is not None:
            self.metrics.records_ingested_total.inc(self.ingested_total)
            for reason, n in self.malformed_total.items():
                self.metrics.records_malformed_total.labels(reason=reason).inc(n)
        log.info(
            "restored checkpoint: %d segments, %d records ingested, %d in window",
            len(saved.offsets),
            self.ingested_total,
            len(self.window),
        )

    def step(self) -> int:
        """Read and apply what the spool has now; return the number of records consumed (valid or not)."""
        if self.decisions is not None and self.decisions.backlogged:
            return 0
        result = self.reader.read_available()
        n_records = 0
        ingested = 0
        malformed: Counter[str] = Counter()
        for read in result.reads:
            batch = self.parser.parse(read.batches)
            malformed.update(batch.malformed)
            if read.truncated_tail:
                malformed["truncated"] += 1
            if len(batch):
                with self.lock:
                    self.window.append(batch)
                if self.stability is not None:
                    self.stability.count(batch.features, batch.probabilities)
                if self.fairness is not None:
                    self.fairness.count(batch.groups, batch.refused)
                if self.decisions is not None:
                    self.decisions.add(batch)
                ingested += len(batch)
            n_records += sum(b.num_rows for b in read.batches)
            self._dirty = True
        if result.vanished:
            log.warning("segments vanished before being fully consumed: %s", ", ".join(result.vanished))
        if result.gone_consumed:
            log.debug("consumed segments already deleted: %s", ", ".join(result.gone_consumed))
        self.ingested_total += ingested
        self.malformed_total.update(malformed)
        deleted = self._delete_consumed()
        newly_consumed = self.reader.consumed - self.committed_consumed  # deletable after the next checkpoint
        if result.vanished or result.gone_consumed or deleted or newly_consumed:
            self._dirty = True
        if self.metrics is not None:
            m = self.metrics
            m.records_ingested_total.inc(ingested)
            for reason, n in malformed.items():
                m.records_malformed_total.labels(reason=reason).inc(n)
            m.segments_deleted_total.inc(len(deleted))
            m.segments_vanished_total.inc(len(result.vanished))
            for skipped in result.skipped:
                m.segments_skipped_total.labels(reason=skipped.reason).inc()
            m.ingest_skipped_segments.set(len(self.reader.skipped))
            m.ingest_lag_bytes.set(self.reader.lag_bytes())
            m.ingest_pending_segments.set(self.reader.pending_segments())
        return n_records

    def _delete_consumed(self) -> list[str]:
        if not self.settings.delete_consumed:
            return []
        return self.reader.delete_consumed(self.committed_offsets, self.committed_consumed)

    def checkpoint(self, *, force: bool = False) -> bool:
        """Save offsets, counters and window atomically if anything changed (and the interval passed)."""
        now = time.monotonic()
        if not self._dirty or (
            not force and now - self._last_checkpoint < self.settings.checkpoint_interval_seconds
        ):
            return False
        if self.decisions is not None and not self.decisions.flush(force=force):
            return False  # the offsets wait for the decisions they cover; retried at the next call
        with self.lock:
            window = self.window.to_arrays()
        offsets = dict(self.reader.offsets)
        consumed = sorted(self.reader.consumed)
        ckpt.save(
            self.settings.checkpoint_path,
            ckpt.Checkpoint(
                offsets=offsets,
                consumed=consumed,
                ingested_total=self.ingested_total,
                malformed_total=dict(self.malformed_total),
                feature_names=self.feature_names,
                window=window,
            ),
        )
        self.committed_offsets = offsets
        self.committed_consumed = set(consumed)
        if self.stability is not None:
            self.stability.commit()
        if self.fairness is not None:
            self.fairness.commit()
        self._dirty = False
        self._last_checkpoint = now
        if self.metrics is not None:
            self.metrics.checkpoint_timestamp_seconds.set(time.time())
        return True

    def view(self) -> WindowView:
        """Copy of the current window (count- and time-limited as configured)."""
        with self.lock:
            return self.window.view(self.settings.window_records, self.settings.window_seconds)

    @property
    def appended_total(self) -> int:
        """Records appended to the window since start (drives the recompute trigger)."""
        return self.window.appended_total
