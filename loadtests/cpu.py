"""CPU of process trees (the Locust load generator, the served service) and of the whole machine, sampled on a
thread during a run, and its mean and peak over any span of the run.

Each watched tree's CPU time (user + system, all its processes, workers forked later included) is summed
into a counter that only grows; the machine's counter is its busy CPU time (all cores, from ``/proc/stat``
through psutil). Samples are ``(wall-clock seconds, counter)`` pairs, so the CPU used between any two
moments is the difference of the counter, interpolated between samples. CPU is given in percent of one
core, as ``top`` does (200 % = two cores fully busy); a process that exits between two samples loses its
last partial interval.
"""

from __future__ import annotations

import bisect
import csv
import itertools
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import psutil

CPU_SAMPLE_INTERVAL_S = 0.5
"""Seconds between two CPU samples of the gate."""

MACHINE = "machine"
"""Name of the series of the whole machine's busy CPU (always sampled)."""

Series = list[tuple[float, float]]
"""``(wall-clock seconds, CPU seconds used since watching began)`` pairs, in time order."""


def machine_busy_seconds() -> float:
    """CPU seconds the machine's cores have been busy since boot (all cores; idle and I/O wait excluded)."""
    times = psutil.cpu_times()
    total = sum(times)
    for spare in ("idle", "iowait", "guest", "guest_nice"):  # guest time is already counted in user
        total -= getattr(times, spare, 0.0)
    return total


class ProcessTree:
    """A process and all its descendants, read as one growing CPU-time counter."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        """Root of the tree."""
        self.cpu_seconds = 0.0
        """CPU seconds the tree used since the first :meth:`read`."""
        self._last: dict[tuple[int, float], float] | None = None

    def read(self) -> bool:
        """Add the CPU time used since the last read (a process seen for the first time counts from its
        start, except at the first read, which only sets the starting point); ``False`` once the root is gone.
        """
        try:
            root = psutil.Process(self.pid)
            processes = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return False
        now: dict[tuple[int, float], float] = {}
        for process in processes:
            try:
                times = process.cpu_times()
                key = (process.pid, process.create_time())
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            now[key] = times.user + times.system
        if self._last is not None:
            self.cpu_seconds += sum(max(0.0, used - self._last.get(key, 0.0)) for key, used in now.items())
        self._last = now
        return True


class CpuSampler:
    """Samples the machine and any watched process trees every ``interval_s`` between start and stop."""

    def __init__(
        self, interval_s: float = CPU_SAMPLE_INTERVAL_S, clock: Callable[[], float] = time.time
    ) -> None:
        self.interval_s = interval_s
        """Seconds between samples."""
        self.clock = clock
        """Wall clock of the samples (``time.time``, the clock of the Locust timeline's epochs)."""
        self.series: dict[str, Series] = {MACHINE: []}
        """Samples per name: ``machine`` and every watched tree."""
        self._trees: dict[str, ProcessTree] = {}
        self._machine_start = machine_busy_seconds()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-sampler", daemon=True)

    def watch(self, name: str, pid: int) -> None:
        """Sample the process tree of ``pid`` as ``name`` from now on (its CPU so far does not count)."""
        tree = ProcessTree(pid)
        tree.read()
        with self._lock:
            self._trees[name] = tree
            self.series[name] = [(self.clock(), 0.0)]

    def sample(self) -> None:
        """Take one sample of the machine and of every watched tree (the thread calls this)."""
        with self._lock:
            now = self.clock()
            self.series[MACHINE].append((now, machine_busy_seconds() - self._machine_start))
            for name, tree in self._trees.items():
                if tree.read():
                    self.series[name].append((now, tree.cpu_seconds))

    def start(self) -> None:
        """Begin sampling on a thread."""
        self.sample()
        self._thread.start()

    def stop(self) -> None:
        """Take a last sample, stop the thread and wait for it."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.interval_s + 5)
        self.sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def mean_pct(self, name: str, start: float, end: float) -> float | None:
        """Mean CPU of ``name`` between wall-clock ``start`` and ``end``, in percent of one core."""
        return mean_pct(self.series.get(name, []), start, end)

    def max_pct(self, name: str, start: float, end: float) -> float | None:
        """Highest CPU of ``name`` over one sample interval within ``[start, end]``, % of one core."""
        return max_pct(self.series.get(name, []), start, end)

    def write_csv(self, path: Path) -> None:
        """One row per sample interval: its end in seconds since sampling began, and the CPU of each series
        over the interval in percent of one core (empty where a tree was not watched)."""
        names = [MACHINE, *sorted(name for name in self.series if name != MACHINE)]
        rates = {name: dict(_interval_rates(self.series[name])) for name in names}
        ticks = [t for t, _ in self.series[MACHINE][1:]]
        origin = self.series[MACHINE][0][0] if self.series[MACHINE] else 0.0
        with path.open("w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["seconds", *(f"{name}_cpu_pct" for name in names)])
            for t in ticks:
                cells = [rates[name].get(t) for name in names]
                writer.writerow([f"{t - origin:.1f}", *("" if c is None else f"{c:.1f}" for c in cells)])


def _interval_rates(series: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """``(interval end, percent of one core)`` of each interval between two samples."""
    return [
        (t1, (c1 - c0) / (t1 - t0) * 100.0) for (t0, c0), (t1, c1) in itertools.pairwise(series) if t1 > t0
    ]


def _counter_at(series: Sequence[tuple[float, float]], at: float) -> float:
    """The counter at ``at``, interpolated linearly between the samples around it (``at`` within them)."""
    i = bisect.bisect_left(series, at, key=lambda sample: sample[0])
    if i == 0:
        return series[0][1]
    if i == len(series):
        return series[-1][1]
    (t0, c0), (t1, c1) = series[i - 1], series[i]
    return c0 if t1 == t0 else c0 + (c1 - c0) * (at - t0) / (t1 - t0)


def mean_pct(series: Sequence[tuple[float, float]], start: float, end: float) -> float | None:
    """Mean CPU between ``start`` and ``end`` (cut to the sampled time), in percent of one core; ``None``
    when fewer than two samples or no sampled time fall in the span."""
    if len(series) < 2:
        return None
    start, end = max(start, series[0][0]), min(end, series[-1][0])
    if end <= start:
        return None
    return (_counter_at(series, end) - _counter_at(series, start)) / (end - start) * 100.0


def max_pct(series: Sequence[tuple[float, float]], start: float, end: float) -> float | None:
    """Highest CPU over one sample interval that overlaps ``[start, end]``, in percent of one core; ``None``
    when there is no such interval.

    Every interval the span touches counts, so the peak is never below :func:`mean_pct` over the same span
    (a weighted mean of those intervals' rates), however the span falls between samples.
    """
    first = max(0, bisect.bisect_left(series, start, key=lambda sample: sample[0]) - 1)
    last = bisect.bisect_right(series, end, key=lambda sample: sample[0]) + 1
    rates = [
        (c1 - c0) / (t1 - t0) * 100.0
        for (t0, c0), (t1, c1) in itertools.pairwise(series[first:last])
        if t1 > t0 and t1 > start and t0 < end
    ]
    return max(rates) if rates else None
