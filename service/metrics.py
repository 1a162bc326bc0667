"""The service's own Prometheus metrics (``credit_scoring_*``), next to BentoML's request metrics.

``prometheus_client`` is imported when :class:`ServiceMetrics` is built, inside the worker, because BentoML
sets ``PROMETHEUS_MULTIPROC_DIR`` only after the service module is imported; metrics created earlier would
not reach BentoML's ``/metrics``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

PROBABILITY_BUCKETS = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)
"""Histogram buckets of the probability of default (most applicants score below 0.2)."""

EXPLANATION_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0)
"""Histogram buckets, in seconds, of the time SHAP contributions take for one request."""

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Histogram buckets, in seconds, of the time the scoring routes take per request (SLO: p99 <= 250 ms)."""


class ServiceMetrics:
    """All ``credit_scoring_*`` metrics of one worker process."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        self.predictions = Counter(
            "credit_scoring_predictions",
            "Applicants scored, by decision under the bundle's threshold.",
            ["decision"],
        )
        self.probability = Histogram(
            "credit_scoring_probability",
            "Predicted probability of default of each scored applicant (unitless, 0 to 1).",
            buckets=PROBABILITY_BUCKETS,
        )
        self.explanation_duration = Histogram(
            "credit_scoring_explanation_duration_seconds",
            "Time spent obtaining SHAP contributions per request, by source (scoring_worker for small "
            "explain batches on /score, explainer_service for /explain and larger batches).",
            ["source"],
            buckets=EXPLANATION_BUCKETS,
        )
        self.http_request_duration = Histogram(
            "credit_scoring_http_request_duration_seconds",
            "Time from receiving a request on a scoring route (/score, /explain) to the end of its response.",
            ["route"],
            buckets=LATENCY_BUCKETS,
        )
        self.http_requests = Counter(
            "credit_scoring_http_requests",
            "Requests answered on the scoring routes (/score, /explain), by route and HTTP status code.",
            ["route", "code"],
        )
        self.http_requests_in_progress = Gauge(
            "credit_scoring_http_requests_in_progress",
            "Requests being answered on the scoring routes right now, by route (summed over workers).",
            ["route"],
            multiprocess_mode="livesum",
        )
        self.rejected_requests = Counter(
            "credit_scoring_rejected_requests",
            "Requests answered with an error by the scoring routes, by error code.",
            ["error"],
        )
        self.payload_records_written = Counter(
            "credit_scoring_payload_records_written",
            "Payload-log records appended to the spool.",
        )
        self.payload_records_dropped = Counter(
            "credit_scoring_payload_records_dropped",
            "Payload-log records dropped, not written, by reason (queue_full, spool_full, write_error).",
            ["reason"],
        )
        self.payload_bytes_written = Counter(
            "credit_scoring_payload_bytes_written",
            "Bytes of payload-log records appended to the spool.",
        )
        self.spool_bytes = Gauge(
            "credit_scoring_spool_bytes",
            "Bytes held in the payload-log spool directory, as last measured by the writer.",
            multiprocess_mode="livemax",
        )
        self.applicants_by_input = Counter(
            "credit_scoring_applicants_by_input",
            "Applicants scored on /score, by the form they were sent in (applicant: application and credit "
            "history; features: the model's feature vector).",
            ["input"],
        )
        self.unknown_labels = Counter(
            "credit_scoring_unknown_labels",
            "Records of scored applicant documents holding a text label the Kaggle schema does not know, "
            "by table and column (scored as no known label, as training does): a new label upstream.",
            ["table", "column"],
        )
        self._by_input: dict[str, Any] = {}
        """Children of ``applicants_by_input`` by form (``labels()`` costs microseconds per call)."""
        self.ready = Gauge(
            "credit_scoring_ready",
            "1 when the bundle is loaded and a warm-up prediction succeeded in this worker, else 0.",
            multiprocess_mode="livemin",
        )

    def count_decisions(self, n_refused: int, n_total: int) -> None:
        """Count one request's decisions."""
        if n_refused:
            self.predictions.labels("refuse").inc(n_refused)
        if n_total - n_refused:
            self.predictions.labels("accept").inc(n_total - n_refused)

    def count_inputs(self, forms: list[str], unknown_labels: list[tuple[str, str]]) -> None:
        """Count one request's applicants by input form, and the unknown labels they held."""
        by_input = self._by_input
        if len(forms) == 1 or len(set(forms)) == 1:
            child = by_input.get(forms[0])
            if child is None:
                child = by_input[forms[0]] = self.applicants_by_input.labels(forms[0])
            child.inc(len(forms))
        else:
            for form in set(forms):
                self.applicants_by_input.labels(form).inc(forms.count(form))
        for table, column in set(unknown_labels):
            self.unknown_labels.labels(table, column).inc(unknown_labels.count((table, column)))

    def observe_probabilities(self, probabilities: np.ndarray) -> None:
        """Add a request's probabilities to the histogram, in one pass for large batches."""
        if len(probabilities) <= 8:
            for p in probabilities.tolist():
                self.probability.observe(p)
            return
        observe_many(self.probability, probabilities, PROBABILITY_BUCKETS)


def observe_many(histogram: Any, values: np.ndarray, buckets: tuple[float, ...]) -> None:
    """Observe many values at once: one increment per bucket instead of one call per value.

    prometheus-client has no public way to add many observations; this is the one place that uses its
    histogram's private per-bucket value objects (``_buckets``, ``_sum``, as in prometheus-client 0.20-0.26).
    It falls back to plain ``observe`` calls when they are missing, so a change degrades speed, not
    correctness; ``tests/service/test_metrics.py`` fails with a clear message when that happens.
    """
    bucket_values = getattr(histogram, "_buckets", None)
    total = getattr(histogram, "_sum", None)
    if bucket_values is None or total is None or len(bucket_values) != len(buckets) + 1:
        for v in values.tolist():
            histogram.observe(v)
        return
    # prometheus buckets are upper-inclusive (le); searchsorted 'left' puts v == bound in that bound's bucket.
    counts = np.bincount(
        np.searchsorted(np.asarray(buckets), values, side="left"), minlength=len(buckets) + 1
    )
    for i, count in enumerate(counts.tolist()):
        if count:
            bucket_values[i].inc(count)
    total.inc(float(np.sum(values)))
