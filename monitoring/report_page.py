"""``GET /report`` of the sidecar: Evidently's HTML drift report of the current window, on demand.

Rendering takes seconds of CPU (Evidently's preset and its plotly figures), so it is bounded three ways:

- one page is rendered at a time and then reused: while ``min_interval_seconds`` have not passed since it was
  rendered, and after that for as long as the window it was rendered from is unchanged (``state``);
- a rendering that fails is not tried again before ``min_interval_seconds`` have passed: requests meanwhile
  get :class:`ReportRateLimitedError` (a 429 with ``Retry-After``) instead of starting Evidently again;
- requests that arrive during a rendering wait for it and get its page, at most ``max_concurrent`` requests
  at a time (the rendering's included); more get :class:`ReportRateLimitedError` at once, so waiting
  requests never take every thread of the HTTP server.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable

BUSY_RETRY_AFTER_SECONDS = 5.0
"""``Retry-After`` of a request refused because too many wait for a rendering."""


class ReportUnavailableError(Exception):
    """No report can be rendered yet; the message says why (shown to the caller with a 503)."""


class ReportRateLimitedError(Exception):
    """Rendering now is not allowed; the message says why (shown to the caller with a 429)."""

    def __init__(self, reason: str, retry_after: float) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        """Seconds after which a new request may succeed."""


class ReportPage:
    """The last rendered report page, re-rendered at most once per ``min_interval_seconds``."""

    def __init__(
        self,
        render: Callable[[], bytes],
        min_interval_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        state: Callable[[], Hashable | None] | None = None,
        max_concurrent: int | None = None,
    ) -> None:
        self._render = render
        self.min_interval_seconds = min_interval_seconds
        """A page younger than this is served again instead of rendering a new one; a failed rendering is not
        retried before this long."""
        self._clock = clock
        self._state = state
        """The window's state (``None``: unknown); a page rendered from the current state stays valid."""
        self._slots = threading.BoundedSemaphore(max_concurrent) if max_concurrent else None
        self._lock = threading.Lock()
        self._page: bytes | None = None
        self._page_state: Hashable | None = None
        self._rendered_at = 0.0
        self._failed_at: float | None = None

    def get(self) -> bytes:
        """The HTML page: the cached one when still valid, else a new rendering.

        Raises :class:`ReportUnavailableError` (from the renderer) when there is nothing to report yet, and
        :class:`ReportRateLimitedError` within ``min_interval_seconds`` of a failed rendering or when
        ``max_concurrent`` requests are already waiting; any other error of the renderer propagates, and the
        previous page, if any, stays cached.
        """
        if self._slots is not None and not self._slots.acquire(blocking=False):
            raise ReportRateLimitedError(
                "a report is being rendered for other requests", BUSY_RETRY_AFTER_SECONDS
            )
        try:
            with self._lock:
                return self._get_locked()
        finally:
            if self._slots is not None:
                self._slots.release()

    def _get_locked(self) -> bytes:
        now = self._clock()
        state = self._state() if self._state is not None else None
        if self._page is not None:
            unchanged = state is not None and state == self._page_state
            if unchanged or now - self._rendered_at < self.min_interval_seconds:
                return self._page
        if self._failed_at is not None:
            wait = self.min_interval_seconds - (now - self._failed_at)
            if wait > 0:
                raise ReportRateLimitedError(
                    f"the last rendering failed {now - self._failed_at:.0f} s ago; the next one is allowed "
                    f"in {wait:.0f} s",
                    wait,
                )
        try:
            page = self._render()
        except ReportUnavailableError:
            raise
        except Exception:
            self._failed_at = self._clock()
            raise
        self._page, self._page_state = page, state
        self._rendered_at, self._failed_at = self._clock(), None
        return page
