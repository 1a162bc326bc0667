"""The rolling window of recent records and the rule that decides when drift is recomputed.

Records live in a fixed-capacity ring buffer (``max_window_records``), so memory is bounded whatever the
traffic. A drift computation sees a :class:`WindowView`: the last N records (count-based window), further
limited to those scored in the last T minutes when a time-based window is configured.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from monitoring.records import ParsedBatch


@dataclass
class WindowView:
    """A copy of the records a drift computation works on, oldest first."""

    times: np.ndarray
    """Scoring time of each record, seconds since the Unix epoch."""
    features: np.ndarray
    """Feature matrix (records x features), NaN where missing."""
    probabilities: np.ndarray
    """Predicted probability of default of each record."""
    refused: np.ndarray
    """Whether each record was refused."""

    def __len__(self) -> int:
        return len(self.times)

    @property
    def oldest_time(self) -> float | None:
        """Scoring time of the oldest record, or ``None`` for an empty view."""
        return float(self.times.min()) if len(self.times) else None


class RollingWindow:
    """Ring buffer of the most recent records, at most ``capacity`` of them."""

    def __init__(self, n_features: int, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.n_features = n_features
        self.capacity = capacity
        self._times = np.empty(capacity, dtype=np.float64)
        self._features = np.empty((capacity, n_features), dtype=np.float64)
        self._probabilities = np.empty(capacity, dtype=np.float64)
        self._refused = np.zeros(capacity, dtype=bool)
        self._next = 0  # slot the next record goes to
        self._size = 0
        self.appended_total = 0
        """Records appended since this window was created or restored (drives the recompute trigger)."""

    def __len__(self) -> int:
        return self._size

    def append(self, batch: ParsedBatch) -> None:
        """Add a batch of records; the oldest ones fall out once the buffer is full."""
        self._append_arrays(batch.times, batch.features, batch.probabilities, batch.refused)

    def _append_arrays(
        self, times: np.ndarray, features: np.ndarray, probabilities: np.ndarray, refused: np.ndarray
    ) -> None:
        n = len(times)
        if n == 0:
            return
        self.appended_total += n
        if n >= self.capacity:  # only the newest `capacity` records can survive
            times, features = times[-self.capacity :], features[-self.capacity :]
            probabilities, refused = probabilities[-self.capacity :], refused[-self.capacity :]
            n = self.capacity
        first = min(n, self.capacity - self._next)
        for dst, src in (
            (self._times, times),
            (self._features, features),
            (self._probabilities, probabilities),
            (self._refused, refused),
        ):
            dst[self._next : self._next + first] = src[:first]
            dst[: n - first] = src[first:]
        self._next = (self._next + n) % self.capacity
        self._size = min(self.capacity, self._size + n)

    def _ordered(self, arr: np.ndarray, last: int) -> np.ndarray:
        """The newest ``last`` entries of ``arr``, oldest first, as a copy."""
        last = min(last, self._size)
        start = (self._next - last) % self.capacity
        if start + last <= self.capacity:
            return arr[start : start + last].copy()
        return np.concatenate([arr[start:], arr[: (start + last) - self.capacity]])

    def view(
        self, max_records: int, max_age_seconds: float | None = None, now: float | None = None
    ) -> WindowView:
        """The last ``max_records`` records, restricted to those younger than ``max_age_seconds``."""
        view = WindowView(
            times=self._ordered(self._times, max_records),
            features=self._ordered(self._features, max_records),
            probabilities=self._ordered(self._probabilities, max_records),
            refused=self._ordered(self._refused, max_records),
        )
        if max_age_seconds is not None and len(view):
            cutoff = (time.time() if now is None else now) - max_age_seconds
            keep = view.times >= cutoff
            if not keep.all():
                view = WindowView(
                    view.times[keep], view.features[keep], view.probabilities[keep], view.refused[keep]
                )
        return view

    def to_arrays(self) -> dict[str, np.ndarray]:
        """All held records, oldest first (for the checkpoint)."""
        return {
            "times": self._ordered(self._times, self._size),
            "features": self._ordered(self._features, self._size),
            "probabilities": self._ordered(self._probabilities, self._size),
            "refused": self._ordered(self._refused, self._size),
        }

    def restore(self, arrays: dict[str, np.ndarray]) -> None:
        """Replace the content with records saved by :meth:`to_arrays` (keeps the newest ones that fit)."""
        self._next, self._size = 0, 0
        features = np.asarray(arrays["features"], dtype=np.float64).reshape(-1, self.n_features)
        self._append_arrays(
            np.asarray(arrays["times"]),
            features,
            np.asarray(arrays["probabilities"]),
            np.asarray(arrays["refused"]),
        )
        self.appended_total = 0


@dataclass
class RecomputeTrigger:
    """Recompute when enough new rows arrived, or when enough time passed and something changed."""

    rows: int
    """New records that force a recomputation."""
    interval_seconds: float
    """Seconds after which any change (new rows, or the time window moving) forces one."""
    last_appended: int = -1
    """Window's ``appended_total`` at the last computation (-1: never computed)."""
    last_time: float = 0.0
    """Monotonic time of the last computation."""

    def due(self, appended_total: int, now: float, time_window: bool = False) -> bool:
        """Whether a computation is due given the window's append counter and the monotonic clock."""
        if self.last_appended < 0:
            return True
        new_rows = appended_total - self.last_appended
        if new_rows >= self.rows:
            return True
        changed = new_rows > 0 or time_window
        return changed and now - self.last_time >= self.interval_seconds

    def mark(self, appended_total: int, now: float) -> None:
        """Record that a computation just ran."""
        self.last_appended = appended_total
        self.last_time = now
