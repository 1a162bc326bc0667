"""``GET /report`` of the sidecar: Evidently's HTML drift report of the current window, on demand.

Rendering takes seconds (Evidently's preset and its plotly figures), so one page is rendered at a time and
then reused for ``min_interval_seconds``: people refreshing or opening the page together cost one
rendering, and the endpoint cannot be used to keep a core busy. Requests that arrive during a rendering
wait for it and get its page.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class ReportUnavailableError(Exception):
    """No report can be rendered yet; the message says why (shown to the caller with a 503)."""


class ReportPage:
    """The last rendered report page, re-rendered at most once per ``min_interval_seconds``."""

    def __init__(
        self,
        render: Callable[[], bytes],
        min_interval_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._render = render
        self.min_interval_seconds = min_interval_seconds
        """A page younger than this is served again instead of rendering a new one."""
        self._clock = clock
        self._lock = threading.Lock()
        self._page: bytes | None = None
        self._rendered_at = 0.0

    def get(self) -> bytes:
        """The HTML page: the cached one when young enough, else a new rendering.

        Raises :class:`ReportUnavailableError` (from the renderer) when there is nothing to report yet; any
        other error of the renderer propagates and the previous page, if any, stays cached.
        """
        with self._lock:
            if self._page is not None and self._clock() - self._rendered_at < self.min_interval_seconds:
                return self._page
            page = self._render()
            self._page, self._rendered_at = page, self._clock()
            return page
