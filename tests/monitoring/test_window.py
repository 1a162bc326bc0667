"""The ring-buffer window, its count and time limits, and the recompute trigger."""

from __future__ import annotations

import numpy as np

from monitoring.records import ParsedBatch
from monitoring.window import RecomputeTrigger, RollingWindow


def batch(start: int, n: int, n_features: int = 2) -> ParsedBatch:
    ids = np.arange(start, start + n, dtype=float)
    return ParsedBatch(
        times=ids,
        features=np.repeat(ids[:, None], n_features, axis=1),
        probabilities=ids / 1e6,
        refused=ids % 2 == 0,
    )


def test_window_keeps_the_newest_records_in_order_across_wraps() -> None:
    window = RollingWindow(n_features=2, capacity=10)
    for start in range(0, 37, 3):
        window.append(batch(start, 3))
    view = window.view(max_records=10)
    assert len(window) == 10
    assert view.times.tolist() == list(range(29, 39))
    assert view.features[:, 1].tolist() == list(range(29, 39))


def test_count_limit_is_the_last_n() -> None:
    window = RollingWindow(n_features=2, capacity=100)
    window.append(batch(0, 50))
    assert window.view(max_records=5).times.tolist() == [45, 46, 47, 48, 49]


def test_batch_larger_than_capacity_keeps_its_tail() -> None:
    window = RollingWindow(n_features=2, capacity=4)
    window.append(batch(0, 3))
    window.append(batch(100, 9))
    assert window.view(10).times.tolist() == [105, 106, 107, 108]
    assert window.appended_total == 12


def test_time_limit_drops_old_records() -> None:
    window = RollingWindow(n_features=2, capacity=100)
    window.append(batch(0, 100))  # times 0..99
    view = window.view(max_records=50, max_age_seconds=10, now=100)
    assert view.times.tolist() == list(range(90, 100))
    assert view.oldest_time == 90


def test_restore_round_trip() -> None:
    window = RollingWindow(n_features=2, capacity=8)
    window.append(batch(0, 13))
    copy = RollingWindow(n_features=2, capacity=8)
    copy.restore(window.to_arrays())
    assert copy.view(8).times.tolist() == window.view(8).times.tolist()
    assert copy.view(8).refused.tolist() == window.view(8).refused.tolist()


def test_trigger_on_rows_or_interval() -> None:
    trigger = RecomputeTrigger(rows=100, interval_seconds=60)
    assert trigger.due(0, now=0)  # never computed
    trigger.mark(0, now=0)
    assert not trigger.due(50, now=10)
    assert trigger.due(100, now=10)  # enough rows
    assert trigger.due(50, now=61)  # interval passed and something changed
    assert not trigger.due(0, now=61)  # nothing changed
    assert trigger.due(0, now=61, time_window=True)  # a time window moves on its own
