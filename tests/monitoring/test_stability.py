"""The sidecar's stability counters (monitoring/stability.py): per-bin counts of ingested records, published
by checkpoints, each record counted once across a crash; a bundle without bins exports none."""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from monitoring.ingest import Ingestor
from monitoring.metrics import MonitorMetrics
from monitoring.settings import MonitorSettings
from monitoring.sidecar import Sidecar
from monitoring.stability import StabilityCounter
from service.bundle import Bundle
from service.stability_bins import StabilityBins, build_stability_bins
from tests.monitoring.synthetic import SpoolWriter, generate_features, records_from_frame


@pytest.fixture(scope="module")
def records(bundle: Bundle) -> list[dict]:
    frame = generate_features(900, len(bundle.features), seed=5)
    frame.loc[:300, "normal_0"] += 1.5  # a drifted third, so that bins other than the central ones fill
    return records_from_frame(frame, bundle)


def expected_counts(bins: StabilityBins, records: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """Counts per feature bin (features and bins in order) and per score band, one feature at a time."""
    per_feature = []
    for feature in bins.features:
        values = np.array([np.nan if (v := r["features"][feature.name]) is None else v for r in records])
        per_feature.append(np.bincount(feature.assign(values), minlength=feature.n_bins))
    probabilities = np.array([r["probability"] for r in records])
    bands = np.bincount(bins.score.assign(probabilities), minlength=len(bins.score.expected))
    return np.concatenate(per_feature), bands


def exposition(metrics: MonitorMetrics) -> dict[str, list]:
    """The samples of the registry's text exposition, by metric family name."""
    text = generate_latest(metrics.registry).decode()
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def drain(ingestor: Ingestor) -> None:
    while ingestor.step():
        pass


def test_a_batch_is_counted_per_feature_bin_and_score_band(bundle: Bundle, records: list[dict]) -> None:
    bins = bundle.stability
    assert bins is not None
    counter = StabilityCounter(bins, bundle.feature_names)
    features = np.array(
        [[np.nan if (v := r["features"][n]) is None else v for n in bundle.feature_names] for r in records]
    )
    probabilities = np.array([r["probability"] for r in records])
    counter.count(features[:500], probabilities[:500])
    counter.count(features[500:], probabilities[500:])
    counter.count(features[:0], probabilities[:0])
    assert [int(c.sum()) for c in counter.published()] == [0, 0]  # nothing before a commit
    counter.commit()
    counts, bands = counter.published()
    want_counts, want_bands = expected_counts(bins, records)
    np.testing.assert_array_equal(counts, want_counts)
    np.testing.assert_array_equal(bands, want_bands)
    assert counts.sum() == len(records) * len(bins.features)
    counter.commit()  # nothing new: nothing changes
    np.testing.assert_array_equal(counter.published()[0], want_counts)


def test_categorical_features_are_counted_by_code(bundle: Bundle) -> None:
    rng = np.random.default_rng(0)
    columns = {name: rng.normal(size=200) for name in bundle.feature_names}
    columns[bundle.feature_names[1]] = rng.integers(0, 3, 200).astype(float)
    bins = build_stability_bins(
        columns, bundle.feature_names, rng.random(200), categories={bundle.feature_names[1]: ["a", "b", "c"]}
    )
    counter = StabilityCounter(bins, bundle.feature_names)
    features = np.column_stack([columns[n] for n in bundle.feature_names])[:6]
    features[:, 1] = [0.0, 2.0, 2.0, np.nan, 7.0, 1.0]
    counter.count(features, np.full(6, 0.5))
    counter.commit()
    size = bins.features[0].n_bins
    assert counter.published()[0][size : size + 4].tolist() == [1, 1, 2, 2]  # a, b, c, missing (NaN and 7)


def test_the_counters_and_expected_shares_are_exported_with_low_cardinality_labels(
    settings: MonitorSettings, bundle: Bundle, records: list[dict]
) -> None:
    sidecar = Sidecar(settings, bundle)
    assert sidecar.stability is not None
    before = exposition(sidecar.metrics)
    zero = before["credit_scoring_stability_records"]
    n_bins = sum(f.n_bins for f in bundle.stability.features)
    assert len(zero) == n_bins and {s.value for s in zero} == {0.0}  # every bin exists before any record
    assert {s.labels["binning"] for s in zero} == {bundle.stability.fingerprint()}
    assert {s.name for s in zero} == {"credit_scoring_stability_records_total"}
    writer = SpoolWriter(settings.spool_dir)
    writer.append(records)
    drain(sidecar.ingestor)
    sidecar.ingestor.checkpoint(force=True)
    after = exposition(sidecar.metrics)
    want_counts, want_bands = expected_counts(bundle.stability, records)
    labels = [(f.name, label) for f in bundle.stability.features for label in f.labels]
    got = {(s.labels["feature"], s.labels["bin"]): s.value for s in after["credit_scoring_stability_records"]}
    assert [got[key] for key in labels] == want_counts.tolist()
    bands = {s.labels["band"]: s.value for s in after["credit_scoring_score_band_records"]}
    assert [bands[label] for label in bundle.stability.score.labels] == want_bands.tolist()
    shares = {
        (s.labels["feature"], s.labels["bin"]): s.value
        for s in after["credit_scoring_stability_expected_share"]
    }
    assert [shares[key] for key in labels] == [e for f in bundle.stability.features for e in f.expected]
    band_shares = [s.value for s in after["credit_scoring_score_band_expected_share"]]
    assert band_shares == list(bundle.stability.score.expected)
    first = bundle.stability.features[0]
    assert shares[(first.name, "missing")] == first.expected[-1]


def test_counts_are_published_by_the_checkpoint_that_covers_their_records(
    settings: MonitorSettings, bundle: Bundle, records: list[dict]
) -> None:
    """Killed before its next checkpoint, a sidecar has published only what that checkpoint covers; the next
    process reads the rest again and counts it: over both, every record once."""
    bins = bundle.stability
    assert bins is not None
    writer = SpoolWriter(settings.spool_dir)
    writer.append(records[:300])
    first = StabilityCounter(bins, bundle.feature_names)
    ingestor = Ingestor(settings, bundle.feature_names, stability=first)
    drain(ingestor)
    assert first.published()[1].sum() == 0  # read, not yet checkpointed
    ingestor.checkpoint(force=True)
    np.testing.assert_array_equal(first.published()[1], expected_counts(bins, records[:300])[1])
    writer.append(records[300:700])
    drain(ingestor)  # applied in memory, then "killed" before its next checkpoint
    assert first.published()[1].sum() == 300
    second = StabilityCounter(bins, bundle.feature_names)
    restarted = Ingestor(settings, bundle.feature_names, stability=second)
    assert second.published()[1].sum() == 0  # counts start again at zero (a counter reset to Prometheus)
    drain(restarted)
    restarted.checkpoint(force=True)
    want_counts, want_bands = expected_counts(bins, records[:700])
    np.testing.assert_array_equal(first.published()[0] + second.published()[0], want_counts)
    np.testing.assert_array_equal(first.published()[1] + second.published()[1], want_bands)


def test_a_bundle_without_bins_exports_no_stability_counters_and_says_so(
    settings: MonitorSettings, bundle: Bundle, records: list[dict], caplog: pytest.LogCaptureFixture
) -> None:
    old = replace(bundle, stability=None)
    with caplog.at_level(logging.WARNING, logger="monitoring.sidecar"):
        sidecar = Sidecar(settings, old)
    assert sidecar.stability is None and sidecar.ingestor.stability is None
    assert "the bundle has no stability bins" in caplog.text
    assert "no stability counters are exported" in caplog.text
    SpoolWriter(settings.spool_dir).append(records[:50])
    drain(sidecar.ingestor)
    sidecar.ingestor.checkpoint(force=True)
    families = exposition(sidecar.metrics)
    assert sidecar.ingestor.ingested_total == 50
    assert not [name for name in families if "stability" in name or "score_band" in name]


def test_bins_for_other_features_are_refused(bundle: Bundle) -> None:
    assert bundle.stability is not None
    with pytest.raises(ValueError, match="do not match"):
        StabilityCounter(bundle.stability, bundle.feature_names[::-1])
