"""Locust scenarios for the credit-scoring service: weighted ``/score`` and ``/explain`` traffic, validated.

Run by the gate (``python -m loadtests.gate``), or by hand against a local service::

    locust -f loadtests/locustfile.py --headless -u 10 -r 5 -t 30s

Scenarios (request names in Locust's stats, which the SLO file refers to), in a fixed interleaved cycle of
ten requests per user (``loadtests/mix.py``), so each gets its exact share even in a short run; the suffix
names the input form:

``/score single (applicant)`` (weight 4)
    one applicant document, no reasons.
``/score batch (applicant)`` (weight 1)
    ``LOADTEST_APPLICANT_BATCH_MIN`` to ``LOADTEST_APPLICANT_BATCH_MAX`` documents in one request, cut to
    half the service's request body limit.
``/score explain (applicant)`` (weight 1)
    one document with ``LOADTEST_EXPLAIN_K`` reasons and ``return_features``: the answer's feature row must
    hold the model's features and the values its reasons quote.
``/explain (applicant)`` (weight 1)
    one document, every feature's contribution, with ``return_features``.
``/score single (features)`` (weight 2)
    one feature vector.
``/score batch (features)`` (weight 1)
    ``LOADTEST_BATCH_MIN`` to ``LOADTEST_BATCH_MAX`` feature vectors in one request.

``LOADTEST_FORMS`` chooses the forms sent (the gate leaves out ``applicant`` when ``GET /spec`` says the
service cannot score documents with this model; sent anyway, those requests fail saying so).

Feature vectors are real rows of the bundle's reference sample (``LOADTEST_APPLICANTS``, exported by the
gate) or, failing that, drawn from the distributions ``GET /spec`` publishes. Documents are the bundle's
example applicants (``LOADTEST_APPLICANT_DOCUMENTS``, exported by the gate) or the committed
``loadtests/example_applicants.json``. Every answer is checked for status, schema, probability range and
the decision the threshold from ``GET /spec`` implies; a wrong answer is a failure named after its scenario
and the broken rule. Users and run time are always bounded (see ``LOADTEST_MAX_USERS`` and
``LOADTEST_MAX_RUN_SECONDS`` in ``loadtests/profile.py``).
"""

from __future__ import annotations

import json
import logging
import random
import time
import urllib.request
from collections.abc import Callable
from functools import partial
from typing import Any

import gevent
from locust import FastHttpUser, constant_throughput, events, task
from locust.runners import MasterRunner, WorkerRunner

from loadtests.applicants import (
    FALLBACK_DOCUMENTS,
    Item,
    encode_items,
    load_applicants,
    load_documents,
    request_body,
    sample_from_spec,
    within_body_limit,
)
from loadtests.checks import ServiceSpec, check_explain_response, check_score_response
from loadtests.mix import APPLICANT, FEATURES, Scenario, ScenarioCycle, scenario_weights, scenarios_of
from loadtests.profile import LoadProfile
from loadtests.recording import TIMELINE_REPORT_KEY, TimelineRecorder
from loadtests.timeline import Timeline

PROFILE = LoadProfile.from_env()
"""The run's knobs, from ``LOADTEST_*`` variables."""

if PROFILE.shape == "step":
    from loadtests.shapes import StepRamp  # noqa: F401  (Locust picks up shape classes found here)
elif PROFILE.shape == "soak":
    from loadtests.shapes import Soak  # noqa: F401

DEFAULT_HOST = "http://127.0.0.1:3000"
"""Target when neither ``--host`` nor the gate says otherwise: a local ``bentoml serve``."""

SPEC_SAMPLE_SIZE = 2000
"""Applicants drawn from ``GET /spec`` when no applicants file is given."""

BATCH_BODY_SHARE = 0.5
"""Largest share of the service's request body limit a batch of documents may fill."""

logger = logging.getLogger(__name__)


class RunContext:
    """What every user shares: the service's spec, the applicants to send, the timeline being recorded."""

    def __init__(self) -> None:
        self.spec: ServiceSpec | None = None
        self.items: dict[str, list[Item]] = {APPLICANT: [], FEATURES: []}
        """Applicants to sample, encoded, per input form."""
        self.timeline = Timeline()
        self.started = time.perf_counter()


CONTEXT = RunContext()

RECORDER = TimelineRecorder(CONTEXT.timeline, PROFILE.window_seconds)
"""Puts requests into timeline windows: here, or (``--processes``) in the master from the workers' reports."""

SCENARIOS = ScenarioCycle(scenario_weights(PROFILE.form_list()))
"""The scenario order every user follows, each from its own starting point (forms: ``LOADTEST_FORMS``)."""


def fetch_spec(host: str, timeout_s: float = 10.0) -> dict[str, Any]:
    """``GET {host}/spec`` as JSON."""
    with urllib.request.urlopen(f"{host.rstrip('/')}/spec", timeout=timeout_s) as answer:
        return json.loads(answer.read())


@events.init.add_listener
def bound_the_run(environment: Any, **_: Any) -> None:
    """Cap users and give every run without a shape a run time, before Locust reads its options."""
    options = environment.parsed_options
    if options is None:
        return
    if options.num_users is not None and options.num_users > PROFILE.max_users:
        logger.warning("users cut from %s to LOADTEST_MAX_USERS=%s", options.num_users, PROFILE.max_users)
        options.num_users = PROFILE.max_users
    if environment.shape_class is None and (
        not options.run_time or options.run_time > PROFILE.max_run_seconds
    ):
        logger.warning("run time set to LOADTEST_MAX_RUN_SECONDS=%s", PROFILE.max_run_seconds)
        options.run_time = int(PROFILE.max_run_seconds)


@events.test_start.add_listener
def load_spec_and_applicants(environment: Any, **_: Any) -> None:
    """Read ``GET /spec`` and the applicants once, before any user starts."""
    CONTEXT.started = time.perf_counter()
    spec_body = fetch_spec(environment.host or DEFAULT_HOST)
    CONTEXT.spec = ServiceSpec.from_json(spec_body)
    forms = PROFILE.form_list()
    if FEATURES in forms:
        vectors = (
            load_applicants(PROFILE.applicants)
            if PROFILE.applicants
            else sample_from_spec(spec_body["features"], SPEC_SAMPLE_SIZE)
        )
        CONTEXT.items[FEATURES] = encode_items(vectors)
    if APPLICANT in forms:
        CONTEXT.items[APPLICANT] = encode_items(
            load_documents(PROFILE.applicant_documents or FALLBACK_DOCUMENTS)
        )
        if not CONTEXT.spec.applicant_available:
            logger.warning(
                "the service cannot score applicant documents (%s): the applicant scenarios will fail; "
                "LOADTEST_FORMS=features leaves them out",
                CONTEXT.spec.applicant_unavailable_reason,
            )
    logger.info(
        "model %s, %d feature vectors and %d applicant documents to sample",
        CONTEXT.spec.model_tag,
        len(CONTEXT.items[FEATURES]),
        len(CONTEXT.items[APPLICANT]),
    )


@events.request.add_listener
def record_in_timeline(
    request_type: str, name: str, response_time: float, exception: Any = None, **_: Any
) -> None:
    """Add every request to the timeline window of the current step or soak window (a worker holds it for
    its master)."""
    if not PROFILE.timeline_out:
        return
    runner = _ENVIRONMENT[0].runner if _ENVIRONMENT else None
    if isinstance(runner, WorkerRunner):
        RECORDER.hold(name, response_time, exception is not None)
    else:
        RECORDER.record(name, response_time, exception is not None, runner.user_count if runner else 0)


_ENVIRONMENT: list[Any] = []


@events.init.add_listener
def remember_environment(environment: Any, runner: Any = None, **_: Any) -> None:
    """Keep the environment so the request listener can read the runner; with several Locust processes,
    have the workers ship their requests to the master's timeline."""
    _ENVIRONMENT.append(environment)
    if not PROFILE.timeline_out:
        return
    if isinstance(runner, WorkerRunner):
        environment.events.report_to_master.add_listener(
            lambda data, **_: data.update({TIMELINE_REPORT_KEY: RECORDER.ship()})
        )
        for stopping in (environment.events.test_stopping, environment.events.test_stop):  # the master
            # waits only half a second for the workers' last words: ship before waiting for slow requests
            stopping.add_listener(lambda **_: runner.send_message(TIMELINE_REPORT_KEY, RECORDER.ship()))
    elif isinstance(runner, MasterRunner):
        environment.events.worker_report.add_listener(
            lambda data, **_: RECORDER.receive(data.get(TIMELINE_REPORT_KEY))
        )
        runner.register_message(TIMELINE_REPORT_KEY, lambda msg, **_: RECORDER.receive(msg.data))


@events.test_start.add_listener
def start_timeline(environment: Any, **_: Any) -> None:
    """Start the timeline's clock; the master also notes its total user count into the windows."""
    RECORDER.start(environment.shape_class)
    runner = environment.runner
    if PROFILE.timeline_out and isinstance(runner, MasterRunner):
        runner.greenlet.spawn(_note_users, runner)


def _note_users(runner: Any) -> None:
    while True:
        RECORDER.note_users(runner.user_count)
        gevent.sleep(0.5)


@events.quitting.add_listener
def write_timeline(environment: Any, **_: Any) -> None:
    """Write the timeline JSON when the run ends (a worker has none: its requests went to the master)."""
    if PROFILE.timeline_out and not isinstance(environment.runner, WorkerRunner):
        CONTEXT.timeline.to_json(PROFILE.timeline_out)


class CreditScoringUser(FastHttpUser):
    """A client of the scoring service sending the scenarios at their weights, in a fixed cycle."""

    host = DEFAULT_HOST
    wait_time = constant_throughput(PROFILE.user_rps)
    network_timeout = 30.0
    connection_timeout = 10.0

    def _fail(self, name: str, reason: str) -> None:
        self.environment.events.request.fire(
            request_type="POST",
            name=name,
            response_time=0.0,
            response_length=0,
            response=None,
            context={},
            exception=RuntimeError(reason),
        )

    def _ready(self, scenario: Scenario) -> bool:
        """Whether the run can send ``scenario``; if not, count a failure for it and say no."""
        if CONTEXT.spec is None or not CONTEXT.items[scenario.form]:
            self._fail(
                scenario.name, "no service spec or applicants (GET /spec or the applicants file failed)"
            )
            return False
        if scenario.form == APPLICANT and not CONTEXT.spec.applicant_available:
            self._fail(scenario.name, "GET /spec says the service cannot score applicant documents")
            return False
        return True

    def _post(self, path: str, name: str, body: bytes, check: Callable[[Any], str | None]) -> None:
        with self.client.post(
            path, data=body, headers={"Content-Type": "application/json"}, name=name, catch_response=True
        ) as response:
            if response.status_code == 0 or response.status_code is None:
                response.failure(f"connection error: {type(response.error).__name__}")
            elif response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
            else:
                try:
                    answer = response.json()
                except ValueError:
                    response.failure("body is not JSON")
                    return
                problem = check(answer)
                if problem is None:
                    response.success()
                else:
                    response.failure(problem)

    def on_start(self) -> None:
        """Take this user's walk through the scenario cycle."""
        self._scenarios = SCENARIOS.walk()
        senders: dict[str, Callable[[Scenario], None]] = {
            "/score single": self.score_single,
            "/score batch": self.score_batch,
            "/score explain": self.score_with_reasons,
            "/explain": self.explain,
        }
        self._send = {
            scenario.name: partial(senders[scenario.kind], scenario)
            for scenario in scenarios_of(PROFILE.form_list())
        }

    @task
    def next_scenario(self) -> None:
        """Send the next scenario of this user's cycle."""
        self._send[next(self._scenarios)]()

    def _one(self, scenario: Scenario) -> Item:
        return random.choice(CONTEXT.items[scenario.form])

    def score_single(self, scenario: Scenario) -> None:
        """One applicant on ``/score``."""
        if not self._ready(scenario):
            return
        item = self._one(scenario)
        rf = scenario.return_features
        self._post(
            "/score",
            scenario.name,
            request_body([item], single=True, return_features=rf),
            lambda body: check_score_response(body, CONTEXT.spec, [item[0]], True, 0, rf),
        )

    def score_batch(self, scenario: Scenario) -> None:
        """A batch of applicants on ``/score``."""
        if not self._ready(scenario):
            return
        spec = CONTEXT.spec
        assert spec is not None
        if scenario.form == APPLICANT:
            low, high = PROFILE.applicant_batch_min, PROFILE.applicant_batch_max
        else:
            low, high = PROFILE.batch_min, PROFILE.batch_max
        high = max(1, min(high, spec.max_batch_size))
        size = random.randint(min(low, high), high)
        drawn = random.choices(CONTEXT.items[scenario.form], k=size)
        batch = within_body_limit(drawn, int(spec.max_body_bytes * BATCH_BODY_SHARE))
        items = [(f"{applicant_id}#{i}", encoded) for i, (applicant_id, encoded) in enumerate(batch)]
        ids = [applicant_id for applicant_id, _ in items]
        rf = scenario.return_features
        self._post(
            "/score",
            scenario.name,
            request_body(items, single=False, return_features=rf),
            lambda body: check_score_response(body, spec, ids, False, 0, rf),
        )

    def score_with_reasons(self, scenario: Scenario) -> None:
        """One applicant on ``/score`` with the strongest reasons."""
        if not self._ready(scenario):
            return
        item = self._one(scenario)
        k, rf = PROFILE.explain_k, scenario.return_features
        self._post(
            "/score",
            scenario.name,
            request_body([item], single=True, explain=k, return_features=rf),
            lambda body: check_score_response(body, CONTEXT.spec, [item[0]], True, k, rf),
        )

    def explain(self, scenario: Scenario) -> None:
        """One applicant on ``/explain``: every feature's contribution."""
        if not self._ready(scenario):
            return
        item = self._one(scenario)
        rf = scenario.return_features
        self._post(
            "/explain",
            scenario.name,
            request_body([item], single=True, return_features=rf),
            lambda body: check_explain_response(body, CONTEXT.spec, [item[0]], True, rf),
        )
