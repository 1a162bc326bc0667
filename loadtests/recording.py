"""Putting every request of a run into its timeline window, in whichever Locust process hears of it.

One Locust process (the gate's default): each request goes straight into the timeline, in the window of the
load shape's run time, with the process's user count.

Several processes (``--locust-processes N``, Locust's ``--processes N``): the requests happen in the worker
processes, the load shape and the total user count live in the master. Each worker stamps its requests with
the wall clock (the processes share the machine's clock) and ships them to the master with Locust's periodic
worker report, and the rest when it stops; the master puts them into windows by its own shape's run time and
notes its total user count per window, so the timeline it writes is the same as one process would write.

No Locust import here (Locust monkey-patches the standard library with gevent on import): the locustfile
wires these methods to Locust's events, and the tests drive them directly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from loadtests.plans import Window
from loadtests.timeline import Timeline

TIMELINE_REPORT_KEY = "loadtest_timeline"
"""Key of the shipped requests in a worker's report, and the type of the custom message of its last ones."""

_FIELDS = ("at", "name", "ms", "failed")


class WindowedShape(Protocol):
    """A load shape of ``loadtests/shapes.py``: its run time and the timeline window of a run time."""

    def get_run_time(self) -> float:
        """Seconds since the shape started."""
        ...

    def window(self, run_time: float) -> Window | None:
        """The window holding ``run_time``, or ``None`` (settling, or after the end)."""
        ...


class TimelineRecorder:
    """Feeds a :class:`Timeline` from a single Locust process, or from workers through their master."""

    def __init__(
        self, timeline: Timeline, window_seconds: float, clock: Callable[[], float] = time.time
    ) -> None:
        self.timeline = timeline
        """Where the requests go (written by the single process or the master at the end)."""
        self.window_seconds = window_seconds
        """Width of the fixed windows used when the run has no load shape."""
        self.clock = clock
        """Wall clock shared by all processes of the run (``time.time``)."""
        self.shape: WindowedShape | None = None
        self.started = clock()
        self._held: dict[str, list[Any]] = {name: [] for name in _FIELDS}

    def start(self, shape: Any) -> None:
        """The run begins now (Locust's ``test_start``); ``shape`` is its load shape, or ``None``.

        A shape without a ``window`` method (or none) means fixed windows of ``window_seconds`` from now.
        """
        self.shape = shape if shape is not None and hasattr(shape, "window") else None
        self.started = self.clock()

    def _run_time(self, at: float) -> float:
        if self.shape is None:
            return at - self.started
        return self.shape.get_run_time() - (self.clock() - at)

    def _window(self, run_time: float) -> Window | None:
        if run_time < 0:
            return None
        if self.shape is not None:
            return self.shape.window(run_time)
        key = int(run_time // self.window_seconds)
        return key, key * self.window_seconds, (key + 1) * self.window_seconds

    def record(
        self, name: str, response_ms: float, failed: bool, users: int, at: float | None = None
    ) -> None:
        """Single process or master: put one request that ended at wall-clock ``at`` (default: now) into its
        window, counting ``users`` as running then."""
        at = self.clock() if at is None else at
        run_time = self._run_time(at)
        if self.timeline.origin_epoch is None:
            self.timeline.origin_epoch = at - run_time
        window = self._window(run_time)
        if window is not None:
            key, start, end = window
            self.timeline.add(key, start, end, users, name, response_ms, failed, at=at)

    def hold(self, name: str, response_ms: float, failed: bool) -> None:
        """Worker: keep one request, stamped with the wall clock, until the next :meth:`ship`."""
        held = self._held
        held["at"].append(self.clock())
        held["name"].append(name)
        held["ms"].append(response_ms)
        held["failed"].append(failed)

    def ship(self) -> dict[str, list[Any]]:
        """Worker: the requests held since the last shipment, as a message payload (forgotten here)."""
        shipped, self._held = self._held, {name: [] for name in _FIELDS}
        return shipped

    def receive(self, payload: Mapping[str, list[Any]] | None) -> None:
        """Master: put the requests a worker shipped into their windows (``None`` or empty: nothing)."""
        if not payload:
            return
        for at, name, ms, failed in zip(*(payload[field] for field in _FIELDS), strict=True):
            self.record(name, ms, bool(failed), 0, at=at)

    def note_users(self, users: int) -> None:
        """Master: ``users`` run now in total; the current window (if any) counts at least as many.

        Only the master knows the total (a worker knows its own share), so it notes it every moment or so.
        """
        if users <= 0:
            return
        window = self._window(self._run_time(self.clock()))
        if window is not None:
            key, start, end = window
            self.timeline.note_users(key, start, end, users)
