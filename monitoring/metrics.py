"""The sidecar's Prometheus metrics, in their own registry.

Names follow the Prometheus naming guide: prefix ``credit_scoring_drift_``, base units (seconds, bytes,
ratios in [0, 1]), ``_total`` on counters, no colons, help text on every metric, low-cardinality labels
(feature names and method names only).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from monitoring.records import MALFORMED_REASONS
from monitoring.server import REJECT_REASONS
from monitoring.spool_reader import SKIP_REASONS

if TYPE_CHECKING:
    from monitoring.drift import DriftResult

PREFIX = "credit_scoring_drift_"
"""Prefix of every metric the sidecar exports."""

DURATION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0)
"""Buckets of the drift computation duration histogram, in seconds (the budget is 3 s)."""


class MonitorMetrics:
    """Every metric of the sidecar, registered in a private :class:`CollectorRegistry`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        p = PREFIX
        feature_labels = ["feature", "method"]
        self.feature_score = Gauge(
            p + "feature_score",
            "Drift score of a feature's window distribution against the reference sample (unitless).",
            feature_labels,
            registry=r,
        )
        self.feature_threshold = Gauge(
            p + "feature_threshold",
            "Calibrated score at or above which a feature counts as drifted (unitless distance).",
            feature_labels,
            registry=r,
        )
        self.feature_drifted = Gauge(
            p + "feature_drifted",
            "1 when a feature drifted (score at or above its threshold, or its missing share moved), else 0.",
            feature_labels,
            registry=r,
        )
        self.feature_missing_ratio = Gauge(
            p + "feature_missing_ratio",
            "Share of records in the window where the feature is missing (0 to 1).",
            ["feature"],
            registry=r,
        )
        self.feature_reference_missing_ratio = Gauge(
            p + "feature_reference_missing_ratio",
            "Share of reference-sample rows where the feature is missing (0 to 1).",
            ["feature"],
            registry=r,
        )
        self.drifted_features = Gauge(
            p + "drifted_features",
            "Number of features flagged as drifted in the last computation.",
            registry=r,
        )
        self.drifted_features_ratio = Gauge(
            p + "drifted_features_ratio",
            "Share of features flagged as drifted in the last computation (0 to 1).",
            registry=r,
        )
        self.dataset_drifted = Gauge(
            p + "dataset_drifted",
            "1 when the share of drifted features reached the dataset drift share, else 0.",
            registry=r,
        )
        self.prediction_score = Gauge(
            p + "prediction_score",
            "Drift score of the predicted probability of default against the reference sample (unitless).",
            ["method"],
            registry=r,
        )
        self.prediction_threshold = Gauge(
            p + "prediction_threshold",
            "Calibrated score at or above which the predicted probability counts as drifted (unitless).",
            ["method"],
            registry=r,
        )
        self.prediction_drifted = Gauge(
            p + "prediction_drifted",
            "1 when the distribution of the predicted probability drifted, else 0.",
            ["method"],
            registry=r,
        )
        self.refusal_ratio = Gauge(
            p + "refusal_ratio",
            "Share of records in the window whose decision was refuse (0 to 1).",
            registry=r,
        )
        self.reference_refusal_ratio = Gauge(
            p + "reference_refusal_ratio",
            "Share of the reference sample that the bundle's threshold refuses (0 to 1).",
            registry=r,
        )
        self.window_records = Gauge(
            p + "window_records", "Records in the window of the last drift computation.", registry=r
        )
        self.window_oldest_record_timestamp_seconds = Gauge(
            p + "window_oldest_record_timestamp_seconds",
            "Scoring time of the oldest record in the last computed window (Unix time, seconds).",
            registry=r,
        )
        self.window_age_seconds = Gauge(
            p + "window_age_seconds",
            "Seconds between now and the scoring time of the oldest record in the last computed window.",
            registry=r,
        )
        self.insufficient_data = Gauge(
            p + "insufficient_data",
            "1 when the window holds fewer records than the minimum and no drift is reported, else 0.",
            registry=r,
        )
        self.stale = Gauge(
            p + "stale",
            "1 when the last drift computation failed and the exported drift values are from an older one.",
            registry=r,
        )
        self.last_success_timestamp_seconds = Gauge(
            p + "last_success_timestamp_seconds",
            "Unix time of the last successful drift computation (0 before the first one).",
            registry=r,
        )
        self.computation_duration_seconds = Histogram(
            p + "computation_duration_seconds",
            "Wall-clock time of one drift computation over the window, in seconds.",
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.computations_total = Counter(
            p + "computations",
            "Drift computations by outcome (success, failure, insufficient_data).",
            ["outcome"],
            registry=r,
        )
        self.records_ingested_total = Counter(
            p + "records_ingested", "Valid payload records read from the spool into the window.", registry=r
        )
        self.records_malformed_total = Counter(
            p + "records_malformed",
            "Spool lines skipped because they are not valid payload records, by reason.",
            ["reason"],
            registry=r,
        )
        self.segments_deleted_total = Counter(
            p + "segments_deleted", "Spool segments deleted after being fully consumed.", registry=r
        )
        self.segments_vanished_total = Counter(
            p + "segments_vanished",
            "Spool segments that disappeared before being fully consumed (deleted by someone else).",
            registry=r,
        )
        self.segments_skipped_total = Counter(
            p + "segments_skipped",
            "Spool segments skipped because they cannot be read, by reason (not_a_file: a directory or other "
            "non-file under a segment's name; unreadable: checking, opening or reading it failed).",
            ["reason"],
            registry=r,
        )
        self.ingest_skipped_segments = Gauge(
            p + "ingest_skipped_segments",
            "Spool segments present but skipped as unreadable: neither ingested nor deleted.",
            registry=r,
        )
        self.checkpoints_corrupt_total = Counter(
            p + "checkpoints_corrupt",
            "Checkpoint files found unreadable at start-up and moved aside (ingestion restarted from the "
            "spool).",
            registry=r,
        )
        self.report_renderings_total = Counter(
            p + "report_renderings",
            "Evidently HTML report renderings for /report, by outcome (success, failure).",
            ["outcome"],
            registry=r,
        )
        self.http_rejected_total = Counter(
            p + "http_rejected",
            "Connections and requests of the sidecar's HTTP endpoint refused, or closed unanswered, by "
            "reason.",
            ["reason"],
            registry=r,
        )
        self.ingest_lag_bytes = Gauge(
            p + "ingest_lag_bytes", "Bytes in the spool not yet read by the sidecar.", registry=r
        )
        self.ingest_pending_segments = Gauge(
            p + "ingest_pending_segments", "Spool segments with data not yet read by the sidecar.", registry=r
        )
        self.checkpoint_timestamp_seconds = Gauge(
            p + "checkpoint_timestamp_seconds",
            "Unix time of the last checkpoint of offsets and window.",
            registry=r,
        )
        for reason in MALFORMED_REASONS:
            self.records_malformed_total.labels(reason=reason)
        for outcome in ("success", "failure", "insufficient_data"):
            self.computations_total.labels(outcome=outcome)
        for reason in SKIP_REASONS:
            self.segments_skipped_total.labels(reason=reason)
        for outcome in ("success", "failure"):
            self.report_renderings_total.labels(outcome=outcome)
        for reason in REJECT_REASONS:
            self.http_rejected_total.labels(reason=reason)
        self.stale.set(0)
        self.insufficient_data.set(1)

    def track_window_age(self, oldest_time: Callable[[], float | None]) -> None:
        """Compute ``window_age_seconds`` at scrape time from the oldest record time of the last window."""

        def age() -> float:
            oldest = oldest_time()
            return math.nan if oldest is None else max(0.0, time.time() - oldest)

        self.window_age_seconds.set_function(age)

    def clear_drift_values(self) -> None:
        """Remove the per-feature and dataset drift series (used while the window has insufficient data)."""
        for gauge in (
            self.feature_score,
            self.feature_drifted,
            self.feature_missing_ratio,
            self.prediction_score,
            self.prediction_drifted,
        ):
            gauge.clear()
        for gauge in (
            self.drifted_features,
            self.drifted_features_ratio,
            self.dataset_drifted,
            self.refusal_ratio,
        ):
            gauge.set(math.nan)


def publish(metrics: MonitorMetrics, result: DriftResult) -> None:
    """Export one successful drift computation."""
    m = metrics
    for column in result.features:
        labels = {"feature": column.name, "method": column.method}
        m.feature_score.labels(**labels).set(column.score)
        m.feature_threshold.labels(**labels).set(column.threshold)
        m.feature_drifted.labels(**labels).set(1.0 if column.drifted else 0.0)
        m.feature_missing_ratio.labels(feature=column.name).set(column.missing_ratio)
        m.feature_reference_missing_ratio.labels(feature=column.name).set(column.reference_missing_ratio)
    pred = result.prediction
    m.prediction_score.labels(method=pred.method).set(pred.score)
    m.prediction_threshold.labels(method=pred.method).set(pred.threshold)
    m.prediction_drifted.labels(method=pred.method).set(1.0 if pred.drifted else 0.0)
    m.drifted_features.set(result.drifted_count)
    m.drifted_features_ratio.set(result.drifted_share)
    m.dataset_drifted.set(1.0 if result.dataset_drifted else 0.0)
    m.refusal_ratio.set(result.refusal_ratio)
    m.window_records.set(result.n_records)
    if result.oldest_time is not None:
        m.window_oldest_record_timestamp_seconds.set(result.oldest_time)
    m.last_success_timestamp_seconds.set(result.computed_at)
    m.insufficient_data.set(0)
    m.stale.set(0)
