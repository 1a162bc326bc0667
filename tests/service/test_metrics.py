"""Many probabilities observed at once give the histogram that one ``observe`` per value gives."""

from __future__ import annotations

import importlib.metadata

import numpy as np
import prometheus_client
import prometheus_client.utils
from prometheus_client import CollectorRegistry, Histogram

from service.metrics import PROBABILITY_BUCKETS, observe_many


def test_prometheus_client_still_has_the_private_histogram_parts_used_for_batches() -> None:
    histogram = Histogram("h", "h", buckets=PROBABILITY_BUCKETS, registry=CollectorRegistry())
    version = importlib.metadata.version("prometheus-client")
    assert (
        hasattr(histogram, "_sum") and len(getattr(histogram, "_buckets", ())) == len(PROBABILITY_BUCKETS) + 1
    ), f"prometheus-client {version} changed Histogram internals: adapt service/metrics.py observe_many"


def test_observe_many_equals_one_observe_per_value() -> None:
    values = np.concatenate([np.random.default_rng(0).random(500), np.array(PROBABILITY_BUCKETS)])
    one_by_one, at_once = CollectorRegistry(), CollectorRegistry()
    slow = Histogram("p", "p", buckets=PROBABILITY_BUCKETS, registry=one_by_one)
    fast = Histogram("p", "p", buckets=PROBABILITY_BUCKETS, registry=at_once)
    for value in values.tolist():
        slow.observe(value)
    observe_many(fast, values, PROBABILITY_BUCKETS)
    for bound in (*PROBABILITY_BUCKETS, float("inf")):
        labels = {"le": prometheus_client.utils.floatToGoString(bound)}
        assert at_once.get_sample_value("p_bucket", labels) == one_by_one.get_sample_value("p_bucket", labels)
    assert at_once.get_sample_value("p_count") == one_by_one.get_sample_value("p_count") == len(values)
    assert abs(at_once.get_sample_value("p_sum") - one_by_one.get_sample_value("p_sum")) < 1e-9
