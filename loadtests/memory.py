"""Resident memory of a served process tree, sampled on a thread during a run, and its trend."""

from __future__ import annotations

import csv
import threading
import time
from pathlib import Path

import psutil


def tree_rss_bytes(pid: int) -> int:
    """Resident set size of ``pid`` and all its descendants (0 if the process is gone)."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def slope_per_hour(samples: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of ``(seconds, value)`` samples, per hour; ``None`` with fewer than 3 samples."""
    if len(samples) < 3:
        return None
    n = len(samples)
    mean_t = sum(t for t, _ in samples) / n
    mean_v = sum(v for _, v in samples) / n
    spread = sum((t - mean_t) ** 2 for t, _ in samples)
    if spread == 0:
        return None
    return sum((t - mean_t) * (v - mean_v) for t, v in samples) / spread * 3600.0


class RssSampler:
    """Samples :func:`tree_rss_bytes` every ``interval_s`` seconds between :meth:`start` and :meth:`stop`."""

    def __init__(self, pid: int, interval_s: float = 2.0) -> None:
        self.pid = pid
        self.interval_s = interval_s
        self.samples: list[tuple[float, float]] = []
        """``(seconds since start, resident MiB)`` pairs."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._t0 = 0.0

    def start(self) -> None:
        """Begin sampling."""
        self._t0 = time.monotonic()
        self._thread.start()

    def stop(self) -> None:
        """Stop sampling and wait for the thread."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.interval_s + 1)

    def write_csv(self, path: Path) -> None:
        """Write the samples as ``seconds,rss_mib`` rows (a header first), to plot or re-fit the trend."""
        with path.open("w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["seconds", "rss_mib"])
            writer.writerows((f"{t:.1f}", f"{mib:.2f}") for t, mib in self.samples)

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = tree_rss_bytes(self.pid)
            if rss:
                self.samples.append((time.monotonic() - self._t0, rss / 2**20))
            self._stop.wait(self.interval_s)

    def report(self) -> dict[str, float | int | None]:
        """First, last and peak MiB and the growth trend in MiB per hour."""
        values = [v for _, v in self.samples]
        return {
            "samples": len(values),
            "first_mib": values[0] if values else None,
            "last_mib": values[-1] if values else None,
            "peak_mib": max(values) if values else None,
            "growth_mib_per_hour": slope_per_hour(self.samples),
        }
