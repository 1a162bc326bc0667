"""The CPU sampler on real processes: a busy grandchild counts in its tree, an idle process does not."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadtests.cpu import MACHINE, CpuSampler, ProcessTree, max_pct, mean_pct

BURN_CPU_S = 0.6
"""CPU seconds the busy grandchild burns (measured by its own process clock, so load on the machine only
makes it take longer, never changes the amount)."""

BUSY_TREE = f"""
import subprocess, sys
sys.stdin.readline()
burn = (
    "import time\\n"
    "t = time.process_time()\\n"
    "while time.process_time() - t < {BURN_CPU_S}:\\n"
    "    pass\\n"
    "print('burnt', flush=True)\\n"
    "time.sleep(120)\\n"
)
subprocess.run([sys.executable, "-c", burn])
"""
"""A parent that, once told on its standard input, starts a grandchild burning ``BURN_CPU_S`` of CPU, which
then says so and sleeps (alive, so its CPU time can still be read)."""


@pytest.fixture
def busy_tree() -> Iterator[subprocess.Popen[str]]:
    """The parent of :data:`BUSY_TREE`, in its own process group, killed with its grandchild afterwards."""
    process = subprocess.Popen(
        [sys.executable, "-c", BUSY_TREE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    yield process
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def burn(tree: subprocess.Popen[str]) -> None:
    """Tell the busy tree to burn its CPU and wait until its grandchild has."""
    assert tree.stdin is not None and tree.stdout is not None
    tree.stdin.write("go\n")
    tree.stdin.flush()
    assert tree.stdout.readline().strip() == "burnt"


@pytest.fixture
def idle_process() -> Iterator[subprocess.Popen[bytes]]:
    """A process that only sleeps."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield process
    process.kill()
    process.wait(timeout=10)


def test_a_busy_grandchild_counts_in_its_tree(busy_tree: subprocess.Popen[str]) -> None:
    tree = ProcessTree(busy_tree.pid)
    assert tree.read()  # the starting point: the parent's own start-up does not count
    burn(busy_tree)
    assert tree.read()
    # The grandchild appeared after the first read, so all of its CPU counts (a little start-up besides).
    assert BURN_CPU_S * 0.95 <= tree.cpu_seconds <= BURN_CPU_S + 1.5


def test_an_idle_process_uses_next_to_nothing(idle_process: subprocess.Popen[bytes]) -> None:
    tree = ProcessTree(idle_process.pid)
    assert tree.read()
    time.sleep(0.5)
    assert tree.read()
    assert tree.cpu_seconds < 0.1


def test_a_gone_process_reads_false() -> None:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(timeout=30)
    assert not ProcessTree(process.pid).read()


def test_sampler_series_and_csv(busy_tree: subprocess.Popen[str], tmp_path: Path) -> None:
    sampler = CpuSampler(interval_s=0.05)
    sampler.start()
    sampler.watch("busy", busy_tree.pid)
    burn(busy_tree)
    sampler.stop()
    series = sampler.series["busy"]
    assert len(series) >= 2 and len(sampler.series[MACHINE]) >= 2
    assert [t for t, _ in series] == sorted(t for t, _ in series)
    start, end = series[0][0], series[-1][0]
    used = series[-1][1]
    assert used >= BURN_CPU_S * 0.95
    mean = sampler.mean_pct("busy", start, end)
    assert mean == pytest.approx(used / (end - start) * 100.0)
    peak = sampler.max_pct("busy", start, end)
    assert peak is not None and peak >= mean
    # The machine was at least as busy as the tree on it.
    machine = sampler.mean_pct(MACHINE, start, end)
    assert machine is not None and machine >= mean * 0.9
    sampler.write_csv(tmp_path / "cpu.csv")
    with (tmp_path / "cpu.csv").open() as rows:
        table = list(csv.DictReader(rows))
    assert set(table[0]) == {"seconds", "machine_cpu_pct", "busy_cpu_pct"}
    assert len(table) == len(sampler.series[MACHINE]) - 1
    assert max(float(row["busy_cpu_pct"]) for row in table if row["busy_cpu_pct"]) == pytest.approx(
        peak, 0.01
    )


SERIES = [(0.0, 0.0), (1.0, 0.5), (2.0, 1.5), (3.0, 1.5)]
"""Half a core busy, then a full core, then idle: CPU seconds at each second."""


def test_mean_is_interpolated_between_samples() -> None:
    assert mean_pct(SERIES, 0.0, 3.0) == pytest.approx(50.0)
    assert mean_pct(SERIES, 1.0, 2.0) == pytest.approx(100.0)
    assert mean_pct(SERIES, 0.5, 1.5) == pytest.approx(75.0)
    assert mean_pct(SERIES, -5.0, 1.0) == pytest.approx(50.0)  # cut to the sampled time
    assert mean_pct(SERIES, 4.0, 5.0) is None
    assert mean_pct(SERIES[:1], 0.0, 1.0) is None


def test_peak_is_the_busiest_interval_within_the_span() -> None:
    assert max_pct(SERIES, 0.0, 3.0) == pytest.approx(100.0)
    assert max_pct(SERIES, 2.0, 3.0) == pytest.approx(0.0)
    assert max_pct(SERIES, 0.0, 1.0) == pytest.approx(50.0)
    assert max_pct(SERIES, 3.2, 4.0) is None


def test_peak_is_never_below_the_mean_of_a_span_between_samples() -> None:
    """A span that cuts the busy interval off its middle still sees it (a short run failed on this)."""
    for start, end in ((0.2, 1.4), (0.6, 1.4), (1.1, 1.3), (1.6, 2.9)):
        assert max_pct(SERIES, start, end) >= mean_pct(SERIES, start, end)
