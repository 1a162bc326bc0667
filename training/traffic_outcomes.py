"""The outcomes of the demo traffic: whether each accepted applicant defaulted, sent after a simulated delay.

The generator draws every applicant's outcome (``TARGET``) with its application; the service never sees it.
Once a phase of ``python -m training traffic`` is scored, and ``--outcomes-after`` seconds later (months, in
a lender's life), the outcomes of the accepted applicants whose loans have "matured" are posted to the
sidecar's ``POST /outcomes`` by request id, the id the ``/score`` answer returned, as a lender's systems
would send them (``docs/outcomes.md``). Refused applicants never get an outcome (no loan was granted), so
the realized performance is that of accepted applicants only. A share of the accepted applicants
(``--outcomes-share``) gets an outcome; the others stay awaiting, which keeps the label-free estimate beside
the realized figures.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from training.http_retry import Backoff, post_retrying

DEFAULT_OUTCOMES_URL = "http://127.0.0.1:9108"
"""Where outcomes go by default: the drift sidecar of ``python -m deploy local`` on its default port."""

DEFAULT_OUTCOMES_SHARE = 0.5
"""Share of accepted applicants whose outcome is sent by default; the others stay awaiting an outcome."""

DEFAULT_OUTCOMES_BATCH = 2_000
"""Outcomes per ``POST /outcomes`` request by default (about 100 kB of JSON; the limit is 8 MiB)."""

OUTCOMES_BACKOFF = Backoff(retries=10, first_pause_s=0.2, max_pause_s=5.0)
"""How a batch of outcomes answered 429 or 503, or not answered, is sent again (loads are idempotent)."""


@dataclass
class OutcomesReport:
    """What sending the outcomes of one phase did."""

    phase: str
    """The traffic phase the outcomes belong to."""
    scored: int = 0
    """Applicants of the phase the service scored."""
    refused: int = 0
    """Refused applicants of the phase: they never get an outcome."""
    accepted: int = 0
    """Accepted applicants of the phase (with a request id)."""
    sent: int = 0
    """Outcomes posted (each counted once, however often its batch was retried)."""
    defaulted: int = 0
    """Sent outcomes that say the loan defaulted."""
    stored: int = 0
    """Outcomes the endpoint stored new (``stored`` of its answers); a repeat run stores none."""
    statuses: Counter = field(default_factory=Counter)
    """HTTP status of every answer, retries included."""
    failed: int = 0
    """Outcomes of batches that were refused or never answered 200 after the retries."""
    first_error: str | None = None
    """The first non-200 answer (or connection error), to show why batches fail."""

    def summary(self) -> str:
        """One line for the terminal."""
        codes = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items(), key=str))
        line = (
            f"{self.phase} outcomes: {self.sent - self.failed:,}/{self.sent:,} sent for {self.accepted:,} "
            f"accepted applicants ({self.defaulted:,} defaulted, {self.stored:,} new; answers "
            f"{codes or 'none'}); {self.refused:,} refused applicants get none (no loan was granted)"
        )
        if self.failed:
            line += f"; {self.failed:,} not loaded, first error: {self.first_error}"
        return line


def outcome_records(
    accepted: Mapping[str, str],
    targets: Mapping[str, int | None],
    *,
    share: float,
    observed_at: datetime,
) -> list[dict]:
    """``{"request_id", "defaulted", "observed_at"}`` for the first ``share`` of ``accepted`` applicants
    (applicant id -> request id, in the order they were scored) whose outcome is known in ``targets``
    (applicant id -> 1, 0, or ``None`` for an applicant without one)."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must be between 0 and 1, got {share}")
    known = [
        (request_id, targets[caller])
        for caller, request_id in accepted.items()
        if targets.get(caller) is not None
    ]
    stamp = observed_at.astimezone(UTC).isoformat(timespec="seconds")
    return [
        {"request_id": request_id, "defaulted": int(target), "observed_at": stamp}
        for request_id, target in known[: round(share * len(known))]
    ]


def _chunks(records: Sequence[dict], size: int) -> Iterator[Sequence[dict]]:
    for start in range(0, len(records), size):
        yield records[start : start + size]


def send_outcomes(
    url: str,
    records: Sequence[dict],
    report: OutcomesReport,
    *,
    batch_size: int = DEFAULT_OUTCOMES_BATCH,
) -> OutcomesReport:
    """Post ``records`` to ``{url}/outcomes`` as JSON in batches of ``batch_size``, counting into ``report``.

    Batches answered 429 or 503 (the store is busy or down) are sent again after a pause, as are batches
    that got no answer; other errors are counted, never raised, so a demo keeps going.
    """
    if batch_size <= 0:
        raise ValueError("batch_size must be positive")
    endpoint = f"{url.rstrip('/')}/outcomes"
    with httpx.Client(timeout=60.0, headers={"content-type": "application/json"}) as client:
        for chunk in _chunks(records, batch_size):
            report.sent += len(chunk)
            report.defaulted += sum(record["defaulted"] == 1 for record in chunk)
            _post(client, endpoint, json.dumps(list(chunk)), len(chunk), report)
    return report


def _post(client: httpx.Client, endpoint: str, body: str, count: int, report: OutcomesReport) -> None:
    answer, error = post_retrying(client, endpoint, body, OUTCOMES_BACKOFF, report.statuses)
    report.first_error = report.first_error or error
    if answer is None:
        report.failed += count
    else:
        report.stored += int(answer.json().get("stored", 0))


@dataclass
class OutcomesPlan:
    """When and where ``python -m training traffic`` sends outcomes."""

    after_seconds: float
    """Simulated delay between the end of a phase and its outcomes (months, in a lender's life)."""
    url: str = DEFAULT_OUTCOMES_URL
    """Base URL of a process serving ``POST /outcomes`` (the sidecar, or the performance job)."""
    share: float = DEFAULT_OUTCOMES_SHARE
    """Share of accepted applicants with a known outcome that gets it sent."""
    batch_size: int = DEFAULT_OUTCOMES_BATCH
    """Outcomes per request."""


class DelayedOutcomes:
    """Sends each phase's outcomes ``after_seconds`` after the phase, in a thread, while traffic goes on."""

    def __init__(self, plan: OutcomesPlan, log: Callable[[str], None] = print) -> None:
        self.plan = plan
        self.log = log
        self.reports: list[OutcomesReport] = []
        self._threads: list[threading.Thread] = []

    def schedule(
        self,
        phase: str,
        scored: int,
        refused: int,
        accepted: Mapping[str, str],
        targets: Mapping[str, int | None],
    ) -> OutcomesReport:
        """Send the outcomes of ``phase`` once its delay has passed (from now); the report it fills."""
        report = OutcomesReport(phase, scored=scored, refused=refused, accepted=len(accepted))
        self.reports.append(report)
        due = time.monotonic() + self.plan.after_seconds
        self.log(
            f"{phase}: outcomes of accepted applicants go to {self.plan.url}/outcomes in "
            f"{self.plan.after_seconds:g} s; the {refused:,} refused applicants never get one"
        )

        def deliver() -> None:
            time.sleep(max(0.0, due - time.monotonic()))
            records = outcome_records(accepted, targets, share=self.plan.share, observed_at=datetime.now(UTC))
            send_outcomes(self.plan.url, records, report, batch_size=self.plan.batch_size)
            self.log(report.summary())

        thread = threading.Thread(target=deliver, name=f"outcomes-{phase}")
        thread.start()
        self._threads.append(thread)
        return report

    def wait(self) -> list[OutcomesReport]:
        """Wait until every scheduled phase's outcomes are sent; their reports."""
        for thread in self._threads:
            thread.join()
        return self.reports
