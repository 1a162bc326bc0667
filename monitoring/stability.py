"""Counters of ingested records per frozen feature bin and score band, which add up across pods.

Each pod's sidecar counts the records it ingests in the bundle's frozen bins (``service/stability_bins.py``);
Prometheus sums the counters of all pods and its recording rules compute the population stability index of
the whole fleet (``helm/credit-scoring/rules/credit-scoring.rules.yaml``). Counting is columnar: per batch,
the bin of every value of every feature in one pass per edge position (:func:`assign_columns`), and one
``bincount`` over all features.

Counts become visible on ``/metrics`` only when the checkpoint that covers their records is written
(:meth:`StabilityCounter.commit`). After a crash the records read since that checkpoint are read again by
the next process and counted there, so no record is ever counted twice; what a process counted but
Prometheus did not scrape before it ended is lost, as for any counter. The counts are not saved in the
checkpoint: a restarted process starts them at zero, which ``increase()`` reads as a counter reset (a saved
value restored would be counted a second time).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

import numpy as np
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from service.stability_bins import StabilityBins, assign_codes, assign_columns, padded_edges

FEATURE_RECORDS = "credit_scoring_stability_records"
"""Counter (``_total`` on the wire) of records per feature and bin."""
FEATURE_EXPECTED = "credit_scoring_stability_expected_share"
"""Gauge: development share of each feature bin."""
BAND_RECORDS = "credit_scoring_score_band_records"
"""Counter (``_total`` on the wire) of records per score band."""
BAND_EXPECTED = "credit_scoring_score_band_expected_share"
"""Gauge: development share of each score band."""


class StabilityCounter:
    """Per-bin record counts of one bundle's bins, exported as a Prometheus collector.

    :meth:`count` and :meth:`commit` run on the ingest thread; :meth:`collect` on the HTTP threads.
    """

    def __init__(self, bins: StabilityBins, feature_names: Sequence[str]) -> None:
        if bins.feature_names != list(feature_names):
            raise ValueError("the stability bins do not match the ingested feature columns")
        self.bins = bins
        self.binning = bins.fingerprint()
        """Identity of the bins (label ``binning``): only counts under equal bins may be added up."""
        sizes = np.array([f.n_bins for f in bins.features], dtype=np.intp)
        self._offsets = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.intp)
        self._feature_labels = [(f.name, label) for f in bins.features for label in f.labels]
        self._band_labels = bins.score.labels
        self._pending = np.zeros(int(sizes.sum()), dtype=np.int64)
        self._pending_bands = np.zeros(len(self._band_labels), dtype=np.int64)
        self._published = self._pending.copy()
        self._published_bands = self._pending_bands.copy()
        self._lock = threading.Lock()
        self._edges = padded_edges([f.edges for f in bins.features])
        self._categorical = [
            (j, len(f.categories)) for j, f in enumerate(bins.features) if f.categories is not None
        ]

    def count(self, features: np.ndarray, probabilities: np.ndarray) -> None:
        """Count a batch of valid records (rows of ``features`` in the bundle's column order); the counts
        wait for :meth:`commit`."""
        n = len(probabilities)
        if n == 0:
            return
        columns = np.ascontiguousarray(features.T)
        codes = assign_columns(columns, self._edges)
        for j, n_categories in self._categorical:
            codes[j] = assign_codes(columns[j], n_categories)
        codes += self._offsets[:, None]
        self._pending += np.bincount(codes.ravel(), minlength=len(self._pending))
        self._pending_bands += np.bincount(
            self.bins.score.assign(probabilities), minlength=len(self._pending_bands)
        )

    def commit(self) -> None:
        """Publish the counts of every record counted so far (called once their checkpoint is written)."""
        with self._lock:
            self._published += self._pending
            self._published_bands += self._pending_bands
        self._pending[:] = 0
        self._pending_bands[:] = 0

    def published(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the published feature-bin counts (features and bins in order) and score-band counts."""
        with self._lock:
            return self._published.copy(), self._published_bands.copy()

    def collect(self) -> Iterator[Metric]:
        """The four metric families, read by the registry at every scrape."""
        counts, bands = self.published()
        records = CounterMetricFamily(
            FEATURE_RECORDS,
            "Records ingested per model feature and frozen development bin (add up across pods; the PSI "
            "recording rules compare their shares with the expected share).",
            labels=["binning", "feature", "bin"],
        )
        expected = GaugeMetricFamily(
            FEATURE_EXPECTED,
            "Share of development rows in each frozen feature bin (0 to 1; the bins of a feature sum to 1).",
            labels=["binning", "feature", "bin"],
        )
        shares = [share for f in self.bins.features for share in f.expected]
        for (feature, label), n, share in zip(self._feature_labels, counts, shares, strict=True):
            records.add_metric([self.binning, feature, label], float(n))
            expected.add_metric([self.binning, feature, label], share)
        band_records = CounterMetricFamily(
            BAND_RECORDS,
            "Records ingested per score band (bands of the predicted probability of default with equal "
            "development share; band 0 holds the lowest probabilities).",
            labels=["binning", "band"],
        )
        band_expected = GaugeMetricFamily(
            BAND_EXPECTED,
            "Share of development rows in each score band (0 to 1; the bands sum to 1).",
            labels=["binning", "band"],
        )
        for label, n, share in zip(self._band_labels, bands, self.bins.score.expected, strict=True):
            band_records.add_metric([self.binning, label], float(n))
            band_expected.add_metric([self.binning, label], share)
        yield from (records, expected, band_records, band_expected)
