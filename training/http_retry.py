"""One POST, sent again while the answer says "try again later": the demo traffic's delivery rule.

``python -m training traffic`` posts applicants to ``/score`` and outcomes to ``/outcomes`` the same way: a
request that gets no answer, or 429 (over capacity) or 503 (not ready, store down), is sent again after a
pause that doubles up to a cap; any other answer ends it. Every answer's status is counted, so the caller's
summary line shows what the service said.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

import httpx

RETRY_STATUSES = (429, 503)
"""Answers that mean "try again later"; the request is sent again, unchanged."""


@dataclass(frozen=True)
class Backoff:
    """How often and how patiently a request is sent again."""

    retries: int
    """Most times the request is sent again after the first attempt."""
    first_pause_s: float
    """Pause before the first retry; each further pause doubles it."""
    max_pause_s: float
    """Longest pause between two attempts."""

    def pause(self, attempt: int) -> None:
        """Sleep before retry number ``attempt + 1``."""
        time.sleep(min(self.max_pause_s, self.first_pause_s * 2**attempt))


def post_retrying(
    client: httpx.Client, url: str, content: str, backoff: Backoff, statuses: Counter
) -> tuple[httpx.Response | None, str | None]:
    """POST ``content`` to ``url`` under ``backoff``, counting each answer's status (or ``"no answer"``) in
    ``statuses``. Returns the 200 answer (``None`` when there was none) and the first error seen (``None``
    when the first attempt succeeded): a status with the start of its body, or ``url: <exception>``."""
    first_error = None
    for attempt in range(backoff.retries + 1):
        try:
            answer = client.post(url, content=content)
        except httpx.HTTPError as exc:
            statuses["no answer"] += 1
            first_error = first_error or f"{url}: {exc}"
            backoff.pause(attempt)
            continue
        statuses[answer.status_code] += 1
        if answer.status_code == 200:
            return answer, first_error
        first_error = first_error or f"{answer.status_code} {answer.text[:300]}"
        if answer.status_code not in RETRY_STATUSES:
            break
        backoff.pause(attempt)
    return None, first_error
