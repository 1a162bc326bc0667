"""Supervised child processes for ``python -m deploy local``: start in their own group, stop all of it.

A child runs in its own session and process group, so a Ctrl-C in the terminal reaches only the launcher.
Some children start processes in groups of their own (BentoML's workers call ``setsid``), so stopping a
group is not enough: the launcher remembers each child's process tree (psutil) and stops every
process of it, SIGTERM first, SIGKILL after a grace period. A process is identified by its pid and creation
time, so a recycled pid is never signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ProcessKey = tuple[int, float]
"""(pid, creation time as psutil reports it): one process, even if its pid is reused later."""

KILL_WAIT_SECONDS = 10.0
"""Longest wait for SIGKILLed processes to disappear (a zombie whose parent never reaps it stays)."""


def _live(process: psutil.Process) -> bool:
    """Whether ``process`` (a handle psutil created) still exists and is not a zombie."""
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _process(key: ProcessKey) -> psutil.Process | None:
    """The running process ``key`` (same pid and creation time, not a zombie), or ``None``."""
    try:
        process = psutil.Process(key[0])
        same = process.create_time() == key[1]
    except psutil.Error:
        return None
    return process if same and _live(process) else None


def is_running(key: ProcessKey) -> bool:
    """Whether the process ``key`` exists and is not a zombie."""
    return _process(key) is not None


def process_tree(root: int) -> set[ProcessKey]:
    """``root`` and all its descendants that are running now (empty when ``root`` is gone)."""
    try:
        top = psutil.Process(root)
        processes = [top, *top.children(recursive=True)]
    except psutil.Error:
        return set()
    tree: set[ProcessKey] = set()
    for process in processes:
        with contextlib.suppress(psutil.Error):
            if _live(process):
                tree.add((process.pid, process.create_time()))
    return tree


def group_alive(group: int) -> bool:
    """Whether any process of process group ``group`` still exists."""
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal_group(group: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, sig)


def _signal_process(key: ProcessKey, sig: signal.Signals) -> None:
    process = _process(key)
    if process is not None:
        with contextlib.suppress(psutil.Error):
            process.send_signal(sig)


def _terminate_with_parent() -> None:
    """In the child: ask Linux to send SIGTERM if the launcher dies without stopping it (best effort)."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


@dataclass
class Child:
    """One supervised process: how to start it, how to tell it is ready, and what it is running."""

    name: str
    """Short name (``service``, ``sidecar``, ``prometheus``)."""
    argv: list[str]
    """Command line."""
    env: dict[str, str]
    """Full environment."""
    cwd: Path
    """Working directory."""
    log: Path
    """File receiving its standard output and error."""
    ready_url: str
    """URL that answers 200 once the process is ready."""
    process: subprocess.Popen | None = None
    """The running process (leader of its own session and process group)."""
    restarts: int = 0
    """Restarts after unexpected exits."""
    pids: list[int] = field(default_factory=list)
    """Every process id it had (one per start)."""
    known: set[ProcessKey] = field(default_factory=set)
    """Every process of its tree seen so far (refreshed by :meth:`remember_tree`)."""

    def start(self) -> None:
        """Start the process in a new session, its output appended to the log."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_terminate_with_parent,
            )
        self.pids.append(self.process.pid)
        self.remember_tree()

    def remember_tree(self) -> None:
        """Add the processes the child runs now to :attr:`known` (call it regularly while it runs)."""
        if self.process is not None and self.process.poll() is None:
            self.known |= process_tree(self.process.pid)

    def exited(self) -> bool:
        """Whether the process is not running (never started, or ended)."""
        return self.process is None or self.process.poll() is not None

    def leftovers(self) -> set[ProcessKey]:
        """Processes of its tree still running (e.g. workers that outlived a killed parent)."""
        return {key for key in self.known if is_running(key)}

    def _running(self) -> bool:
        assert self.process is not None
        return self.process.poll() is None or group_alive(self.process.pid) or bool(self.leftovers())

    def stop(self, grace_seconds: float, log: Callable[[str], None] = print) -> None:
        """SIGTERM its group and every process of its tree; SIGKILL whatever remains after the grace."""
        if self.process is None:
            return
        self.remember_tree()
        group = self.process.pid
        _signal_group(group, signal.SIGTERM)
        for key in self.leftovers():
            _signal_process(key, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        while time.monotonic() < deadline and self._running():
            time.sleep(0.1)
        if self._running():
            log(f"{self.name} still running {grace_seconds:g} s after SIGTERM; sending SIGKILL")
            deadline = time.monotonic() + KILL_WAIT_SECONDS
            while self._running() and time.monotonic() < deadline:
                _signal_group(group, signal.SIGKILL)
                for key in self.leftovers():
                    _signal_process(key, signal.SIGKILL)
                time.sleep(0.05)
        self.process.wait()
        self.known.clear()
