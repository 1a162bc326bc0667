"""The performance job: one process per fleet that recomputes realized performance from the decision store
and exports it as Prometheus gauges on its own ``/metrics``.

Why a job of its own and not the sidecar: the store holds the decisions of every pod (PostgreSQL in a
cluster), so a per-pod sidecar would export the same gauges once per pod (sums and averages over pods would
be wrong) and run the same full-table query once per pod; one replica does it once per interval.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import Engine

from monitoring import performance
from monitoring.performance import JoinCounts, MonthPerformance

log = logging.getLogger(__name__)

MODEL_GAUGES = (
    (
        "holdout_auc",
        "credit_scoring_model_holdout_auc",
        "The bundle's holdout ROC AUC on every holdout applicant.",
    ),
    (
        "holdout_accepted_auc",
        "credit_scoring_model_holdout_accepted_auc",
        "The bundle's holdout ROC AUC on the applicants its threshold accepts: the realized AUC's baseline.",
    ),
)
"""Per model tag: (attribute of MonthPerformance, metric name, help)."""

MONTH_GAUGES = (
    (
        "auc",
        "credit_scoring_realized_auc",
        "Realized ROC AUC on the month's accepted applicants with outcomes.",
    ),
    ("gini", "credit_scoring_realized_gini", "Realized Gini coefficient (2 AUC - 1), same applicants."),
    ("ks", "credit_scoring_realized_ks", "Realized Kolmogorov-Smirnov statistic (defaulters vs repaid)."),
    ("brier", "credit_scoring_realized_brier_score", "Realized Brier score (mean squared error of the PD)."),
    (
        "cost_per_1000",
        "credit_scoring_realized_cost_per_1000",
        "Business cost per 1,000 accepted applicants with outcomes, with the model's cost weights.",
    ),
    (
        "outcomes",
        "credit_scoring_realized_outcomes",
        "Accepted applicants of the month with a known outcome.",
    ),
    ("defaults", "credit_scoring_realized_defaults", "Defaults among them."),
    ("accepted", "credit_scoring_stored_decisions_accepted", "Accepted decisions of the month in the store."),
    (
        "awaiting",
        "credit_scoring_awaiting_outcomes",
        "Accepted decisions of the month still without an outcome.",
    ),
    (
        "estimated_auc",
        "credit_scoring_estimated_auc",
        "Label-free expected ROC AUC of the accepted decisions awaiting an outcome (CBPE idea).",
    ),
    (
        "refused",
        "credit_scoring_stored_decisions_refused",
        "Refused decisions of the month (never an outcome).",
    ),
)
"""Per (model tag, decision month): field of :class:`MonthPerformance`, metric name, help. NaN is not
exported (AUC needs both classes)."""
BAND_GAUGES = (
    ("bad_rate", "credit_scoring_realized_band_bad_rate", "Share of defaults per score band (accepted)."),
    (
        "mean_probability",
        "credit_scoring_realized_band_mean_probability",
        "Mean predicted probability of default per score band, same applicants (calibration).",
    ),
    ("outcomes", "credit_scoring_realized_band_outcomes", "Accepted applicants with outcomes per band."),
)
"""Per (model tag, decision month, band): field of :class:`performance.BandFigures`, metric name, help."""


class PerformanceCollector:
    """The gauges of the last successful computation, read by the registry at every scrape."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._months: list[MonthPerformance] = []
        self._counts = JoinCounts(0, 0, 0)

    def update(self, months: list[MonthPerformance], counts: JoinCounts) -> None:
        """Replace the exported figures."""
        with self._lock:
            self._months, self._counts = months, counts

    def collect(self) -> Iterator[Metric]:
        """Every gauge family (series with a NaN value are left out)."""
        with self._lock:
            months, counts = self._months, self._counts
        labels = ["model_tag", "decision_month"]
        for attribute, name, help_text in MONTH_GAUGES:
            family = GaugeMetricFamily(name, help_text, labels=labels)
            for m in months:
                _add(family, [m.model_tag, m.decision_month], getattr(m, attribute))
            yield family
        for attribute, name, help_text in BAND_GAUGES:
            family = GaugeMetricFamily(name, help_text, labels=[*labels, "band"])
            for m in months:
                for b in m.bands:
                    _add(family, [m.model_tag, m.decision_month, str(b.band)], getattr(b, attribute))
            yield family
        for attribute, name, help_text in MODEL_GAUGES:
            family = GaugeMetricFamily(name, help_text, labels=["model_tag"])
            for tag, value in sorted({m.model_tag: getattr(m, attribute) for m in months}.items()):
                _add(family, [tag], value)
            yield family
        left_out = GaugeMetricFamily(
            "credit_scoring_outcomes_left_out",
            "Stored outcomes left out of the figures, by reason (on_refused, before_decision, unmatched).",
            labels=["reason"],
        )
        for reason in ("on_refused", "before_decision", "unmatched"):
            left_out.add_metric([reason], float(getattr(counts, reason)))
        yield left_out


def _add(family: GaugeMetricFamily, labels: list[str], value: float) -> None:
    if not math.isnan(float(value)):
        family.add_metric(labels, float(value))


def first_month(months: int, now: datetime | None = None) -> str:
    """``YYYY-MM`` of the first of the last ``months`` months (the current one included)."""
    now = now or datetime.now(UTC)
    index = now.year * 12 + now.month - 1 - (months - 1)
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


class PerformanceJob:
    """Recomputes every ``interval_seconds`` and keeps the gauges of the last success."""

    def __init__(
        self,
        engine: Engine,
        months: int,
        interval_seconds: float,
        *,
        auc_alert_margin: float = 0.05,
        min_outcomes: int = 500,
    ) -> None:
        self.engine = engine
        self.months = months
        self.interval_seconds = interval_seconds
        self.registry = CollectorRegistry()
        self.collector = PerformanceCollector()
        self.registry.register(self.collector)
        self.computations = Counter(
            "credit_scoring_performance_computations",
            "Computations of realized performance, by outcome (success, failure).",
            ["outcome"],
            registry=self.registry,
        )
        self.last_success = Gauge(
            "credit_scoring_performance_last_success_timestamp_seconds",
            "When realized performance was last computed successfully (Unix time).",
            registry=self.registry,
        )
        Gauge(
            "credit_scoring_performance_auc_alert_margin",
            "How far a month's realized AUC may fall below the holdout AUC before the AUC alert fires.",
            registry=self.registry,
        ).set(auc_alert_margin)
        Gauge(
            "credit_scoring_performance_interval_seconds",
            "Seconds between two computations (--interval-seconds); the staleness alert reads it.",
            registry=self.registry,
        ).set(interval_seconds)
        Gauge(
            "credit_scoring_performance_min_outcomes",
            "Outcomes a decision month needs before the AUC alert reads its realized AUC.",
            registry=self.registry,
        ).set(min_outcomes)
        self.heartbeat = time.monotonic()

    def compute_once(self) -> bool:
        """One computation; a failure (database down) keeps the last figures and is counted."""
        try:
            months, counts = performance.compute(self.engine, first_month(self.months))
        except Exception:
            log.exception("computing realized performance failed; keeping the last figures")
            self.computations.labels(outcome="failure").inc()
            return False
        self.collector.update(months, counts)
        self.computations.labels(outcome="success").inc()
        self.last_success.set(time.time())
        return True

    def livez(self) -> tuple[bool, str]:
        """Alive while the loop completes an iteration at least every two intervals (plus a minute)."""
        stalled = time.monotonic() - self.heartbeat
        if stalled > 2 * self.interval_seconds + 60:
            return False, f"the computation loop stalled for {stalled:.0f} s"
        return True, "computing"

    def run(self, stop: threading.Event) -> None:
        """Compute, then again every interval, until ``stop`` is set."""
        while not stop.is_set():
            self.heartbeat = time.monotonic()
            self.compute_once()
            stop.wait(self.interval_seconds)
