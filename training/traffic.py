"""Demo traffic for a running scoring service: generated applicants posted to ``/score`` at a bounded rate.

``python -m training traffic --url URL`` draws applicants with the synthetic generator (the training
distribution, with a seed the model never saw) and posts them in batches to ``POST /score`` as a lender's
systems would: one applicant document each, the application and its whole credit history with Kaggle's
column names (raw, Kaggle's ``365243`` and ``XNA`` included; :mod:`training.documents`). The service computes
the model's features. With ``--scenario`` a second phase follows with applicants from that drift scenario,
so the drift sidecar's gauges and the alerts can be watched as they change. ``--form features`` sends the
model's feature vectors instead, built by training's code (names from the service's ``GET /spec``), as a
caller with a feature store would. With ``--outcomes-after SECONDS``, the outcomes the generator drew for
the accepted applicants follow each phase after that simulated delay (:mod:`training.traffic_outcomes`).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import httpx
import numpy as np
import pandas as pd

from training.http_retry import Backoff, post_retrying
from training.traffic_outcomes import DelayedOutcomes, OutcomesPlan, OutcomesReport

DEFAULT_RATE = 200.0
"""Applicants per second sent by default."""

DEFAULT_BATCH_SIZE = 50
"""Applicants per ``POST /score`` request by default."""

MAX_BATCH_BYTES = 2 * 1024 * 1024
"""A batch is cut earlier when its body would exceed this many bytes (the service's default limit is 4 MiB;
applicants with a long credit history take 100-300 kB each)."""

FORMS = ("applicant", "features")
"""Input forms the traffic can use: applicant documents (default) or the model's feature vectors."""

DEFAULT_EXPLAIN_EVERY = 10
"""By default every tenth request asks for the three strongest reasons (``explain: 3``)."""

SCORING_BACKOFF = Backoff(retries=20, first_pause_s=0.1, max_pause_s=2.0)
"""How a batch of applicants answered 429 or 503, or not answered, is sent again before it counts failed."""


@dataclass
class TrafficReport:
    """What one phase of traffic did."""

    phase: str
    """``baseline`` or the scenario's name."""
    sent: int = 0
    """Applicants posted (each counted once, however often its batch was retried)."""
    scored: int = 0
    """Applicants the service scored (results of 200 answers)."""
    refused: int = 0
    """Scored applicants whose decision was ``refuse``."""
    statuses: Counter = field(default_factory=Counter)
    """HTTP status of every answer, retries included."""
    failed: int = 0
    """Applicants of batches that were rejected (4xx) or never answered 200 after the retries."""
    first_error: str | None = None
    """Body of the first non-200 answer, to show why batches fail."""
    seconds: float = 0.0
    """Wall-clock duration of the phase."""
    example_refusal: dict | None = None
    """The first refused result that carried principal reasons, to show what an applicant is told."""
    accepted: dict[str, str] = field(default_factory=dict)
    """Request id the service gave each accepted applicant, by the applicant's id (what the outcomes are
    sent by, :mod:`training.traffic_outcomes`)."""
    outcomes: OutcomesReport | None = None
    """What sending the phase's outcomes did, when they were sent."""

    def summary(self) -> str:
        """One line for the terminal."""
        refused = f"{self.refused / self.scored:.1%}" if self.scored else "-"
        codes = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items()))
        line = (
            f"{self.phase}: {self.scored:,}/{self.sent:,} applicants scored in {self.seconds:.1f} s "
            f"(refused {refused}; answers {codes or 'none'})"
        )
        if self.failed:
            line += f"; {self.failed:,} not scored, first error: {self.first_error}"
        if self.example_refusal is not None:
            reasons = "; ".join(
                f"{reason['code']} {reason['reason']}" for reason in self.example_refusal["principal_reasons"]
            )
            line += f"\n  e.g. {self.example_refusal['id']} was refused: {reasons}"
        return line


def feature_names_from_spec(url: str, timeout_s: float = 60.0) -> list[str]:
    """The model's feature names in order, from the service's ``GET /spec`` (waits while it is not ready)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            answer = httpx.get(f"{url.rstrip('/')}/spec", timeout=10.0)
            if answer.status_code == 200:
                return [feature["name"] for feature in answer.json()["features"]]
            problem = f"answered {answer.status_code}"
        except httpx.HTTPError as exc:
            problem = str(exc)
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url}/spec is not available ({problem})")
        time.sleep(1.0)


def generated_features(
    n_applicants: int, feature_names: Sequence[str], *, seed: int, scenario: str | None = None
) -> pd.DataFrame:
    """Features of ``n_applicants`` freshly generated applicants, model columns only, one row each.

    Applicants come from both the labelled and the unlabelled application tables of the generator (the
    service never sees labels); features are built with the training code, so traffic and training agree.
    """
    from service.applicant.schema import CHILD_TABLES
    from training.features import build_features
    from training.loader import clean_table
    from training.synthetic import generate

    dataset = generate(n_applicants, seed=seed, scenario=scenario)
    tables = {name: clean_table(name, table) for name, table in dataset.tables.items()}
    applications = pd.concat(
        [tables["application_train"].drop(columns="TARGET"), tables["application_test"]], ignore_index=True
    )
    features = build_features({"application": applications, **{n: tables[n] for n in CHILD_TABLES}})
    missing = [name for name in feature_names if name not in features.columns]
    if missing:
        raise ValueError(f"the model uses features the training code does not build: {missing[:5]}")
    return features.reindex(columns=list(feature_names)).head(n_applicants)


def generated_applicants(
    n_applicants: int, *, seed: int, scenario: str | None = None
) -> tuple[list[dict], list[int | None]]:
    """Applicant documents of ``n_applicants`` freshly generated applicants, raw as a lender would send them,
    with each applicant's outcome as the generator drew it (its ``TARGET``: 1 defaulted, 0 repaid; ``None``
    for an applicant of the unlabelled table).

    Applicants come from the labelled application table first, then the unlabelled one, as for
    :func:`generated_features`. The documents never carry the outcome: the service never sees labels; it is
    what :mod:`training.traffic_outcomes` reports later.
    """
    from training.documents import tables_to_documents
    from training.synthetic import generate

    tables = generate(n_applicants, seed=seed, scenario=scenario).tables
    documents = tables_to_documents(tables, keep_ids=False)
    targets: list[int | None] = [int(t) for t in tables["application_train"]["TARGET"]]
    documents += tables_to_documents(tables, application="application_test", keep_ids=False)
    targets += [None] * (len(documents) - len(targets))
    return documents[:n_applicants], targets[:n_applicants]


def document_requests(documents: Sequence[dict], id_prefix: str) -> list[dict]:
    """``{"id", "applicant"}`` per document, ids ``<prefix>-<position>``."""
    return [{"id": f"{id_prefix}-{i}", "applicant": document} for i, document in enumerate(documents)]


def feature_vectors(frame: pd.DataFrame, id_prefix: str) -> list[dict]:
    """``{"id", "features"}`` per row; NaN and infinities become ``None`` (JSON null), whole numbers ints."""
    names = list(frame.columns)
    values = frame.to_numpy(dtype=np.float64)
    ids = frame.index.tolist()
    applicants = []
    for key, row in zip(ids, values.tolist(), strict=True):
        features = {
            name: (None if not math.isfinite(v) else int(v) if v.is_integer() and abs(v) < 2**53 else v)
            for name, v in zip(names, row, strict=True)
        }
        applicants.append({"id": f"{id_prefix}-{key}", "features": features})
    return applicants


def batches(
    applicants: Sequence[dict], batch_size: int, explain_every: int, max_bytes: int = MAX_BATCH_BYTES
) -> Iterator[tuple[str, int]]:
    """JSON bodies of at most ``batch_size`` applicants and about ``max_bytes`` bytes (a single applicant may
    exceed it), with their applicant counts; every ``explain_every``-th asks for the 3 strongest reasons."""
    number = 0
    start = 0
    while start < len(applicants):
        sizes: list[int] = []
        total = 0
        for item in applicants[start : start + batch_size]:
            size = len(json.dumps(item, allow_nan=False)) + 1
            if sizes and total + size > max_bytes:
                break
            sizes.append(size)
            total += size
        number += 1
        body: dict = {"applicants": list(applicants[start : start + len(sizes)])}
        if explain_every > 0 and number % explain_every == 0:
            body["explain"] = 3
        yield json.dumps(body, allow_nan=False), len(sizes)
        start += len(sizes)


def send(
    url: str,
    applicants: Sequence[dict],
    *,
    phase: str,
    rate: float = DEFAULT_RATE,
    batch_size: int = DEFAULT_BATCH_SIZE,
    explain_every: int = DEFAULT_EXPLAIN_EVERY,
    stop: threading.Event | None = None,
    on_batch: Callable[[TrafficReport], None] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> TrafficReport:
    """Post ``applicants`` to ``{url}/score`` in batches, at most ``rate`` applicants per second.

    Batches answered 429 or 503 are retried after a pause; other errors are counted, never raised, so a
    demo keeps going. ``stop`` ends the phase early; ``on_batch`` sees the report after every batch;
    ``transport`` replaces the network (tests).
    """
    if rate <= 0:
        raise ValueError("rate must be positive")
    report = TrafficReport(phase)
    started = time.monotonic()
    endpoint = f"{url.rstrip('/')}/score"
    headers = {"content-type": "application/json"}
    with httpx.Client(timeout=30.0, headers=headers, transport=transport) as client:
        for body, count in batches(applicants, batch_size, explain_every):
            if stop is not None and stop.is_set():
                break
            pause = started + report.sent / rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            report.sent += count
            _post_batch(client, endpoint, body, count, report)
            if on_batch is not None:
                on_batch(report)
    report.seconds = time.monotonic() - started
    return report


def _post_batch(client: httpx.Client, endpoint: str, content: str, count: int, report: TrafficReport) -> None:
    answer, error = post_retrying(client, endpoint, content, SCORING_BACKOFF, report.statuses)
    report.first_error = report.first_error or error
    if answer is None:
        report.failed += count
        return
    results = answer.json()["results"]
    report.scored += len(results)
    report.refused += sum(result["decision"] == "refuse" for result in results)
    report.accepted.update(
        (result["id"], result["request_id"])
        for result in results
        if result["decision"] == "accept" and "request_id" in result
    )
    if report.example_refusal is None:
        report.example_refusal = next((r for r in results if r.get("principal_reasons")), None)


@dataclass
class TrafficPlan:
    """What ``python -m training traffic`` sends."""

    url: str
    """Base URL of the scoring service."""
    applicants: int = 12_000
    """Applicants of the drift-scenario phase: twice the baseline's by default, so that drifted applicants
    are two thirds of the hour the stability index (PSI) reads once the demo is over; with equal phases the
    age PSI of young_high_income stays at about 0.22, under the critical band."""
    baseline_applicants: int = 6_000
    """Applicants of the baseline phase (more than the sidecar's 5,000-record window); 0 skips it."""
    scenario: str | None = None
    """Drift scenario of the second phase; ``None`` sends the baseline only."""
    rate: float = DEFAULT_RATE
    """Applicants per second."""
    batch_size: int = DEFAULT_BATCH_SIZE
    """Applicants per request."""
    explain_every: int = DEFAULT_EXPLAIN_EVERY
    """Every N-th request asks for reasons (0: never)."""
    seed: int = 1
    """Seed of the generator (training uses 0 by default, so these are applicants the model never saw)."""
    form: str = "applicant"
    """``applicant``: applicant documents; ``features``: the model's feature vectors (see :data:`FORMS`)."""
    outcomes: OutcomesPlan | None = None
    """Send the outcomes of accepted applicants after a simulated delay (applicant form only); ``None``
    sends none."""

    def phases(self) -> list[tuple[str, str | None, int]]:
        """(label, scenario, applicants) of each phase, in order."""
        phases: list[tuple[str, str | None, int]] = []
        if self.baseline_applicants > 0:
            phases.append(("baseline", None, self.baseline_applicants))
        if self.scenario is not None:
            phases.append((self.scenario, self.scenario, self.applicants))
        return phases


def run(plan: TrafficPlan, log: Callable[[str], None] = print) -> list[TrafficReport]:
    """Send every phase of ``plan`` and return their reports.

    With ``plan.outcomes``, each phase's outcomes are sent ``after_seconds`` after the phase, while the next
    phase goes on; ``run`` returns once they are all sent.
    """
    if plan.form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {plan.form!r}")
    if plan.outcomes is not None and plan.form != "applicant":
        raise ValueError("outcomes are sent for applicant documents only (--form applicant)")
    names = feature_names_from_spec(plan.url)  # also waits until the service is ready
    outcomes = DelayedOutcomes(plan.outcomes, log) if plan.outcomes is not None else None
    reports = []
    for label, scenario, count in plan.phases():
        targets: dict[str, int | None] = {}
        if plan.form == "applicant":
            log(f"{label}: generating {count:,} applicants with their credit history...")
            documents, drawn = generated_applicants(count, seed=plan.seed, scenario=scenario)
            requests = document_requests(documents, label)
            targets = {request["id"]: target for request, target in zip(requests, drawn, strict=True)}
        else:
            log(f"{label}: generating {count:,} applicants ({len(names)} features)...")
            frame = generated_features(count, names, seed=plan.seed, scenario=scenario)
            requests = feature_vectors(frame, label)
        log(f"{label}: sending them to {plan.url}/score at {plan.rate:g} applicants/s...")
        report = send(
            plan.url,
            requests,
            phase=label,
            rate=plan.rate,
            batch_size=plan.batch_size,
            explain_every=plan.explain_every,
        )
        log(report.summary())
        reports.append(report)
        if outcomes is not None:
            report.outcomes = outcomes.schedule(
                label, report.scored, report.refused, report.accepted, targets
            )
    if outcomes is not None:
        outcomes.wait()
    return reports
