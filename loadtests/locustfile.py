"""Locust scenarios for the credit-scoring service: weighted ``/score`` and ``/explain`` traffic, validated.

Run by the gate (``python -m loadtests.gate``), or by hand against a local service::

    locust -f loadtests/locustfile.py --headless -u 10 -r 5 -t 30s

Scenarios (request names in Locust's stats, which the SLO file refers to), in a fixed interleaved cycle of
ten requests per user (``loadtests/mix.py``), so each gets its exact share even in a short run:

``/score single`` (weight 6)
    one applicant, no reasons.
``/score batch`` (weight 2)
    ``LOADTEST_BATCH_MIN`` to ``LOADTEST_BATCH_MAX`` applicants in one request.
``/score explain`` (weight 1)
    one applicant with ``LOADTEST_EXPLAIN_K`` reasons.
``/explain`` (weight 1)
    one applicant, every feature's contribution.

Applicants are real rows of the bundle's reference sample (``LOADTEST_APPLICANTS``, exported by the gate)
or, failing that, drawn from the distributions ``GET /spec`` publishes. Every answer is checked for status,
schema, probability range and the decision the threshold from ``GET /spec`` implies; a wrong answer is a
failure named after its scenario and the broken rule. Users and run time are always bounded (see
``LOADTEST_MAX_USERS`` and ``LOADTEST_MAX_RUN_SECONDS`` in ``loadtests/profile.py``).
"""

from __future__ import annotations

import json
import logging
import random
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from locust import FastHttpUser, constant_throughput, events, task

from loadtests.applicants import Applicant, load_applicants, sample_from_spec
from loadtests.checks import ServiceSpec, check_explain_response, check_score_response
from loadtests.mix import ScenarioCycle
from loadtests.profile import LoadProfile
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

logger = logging.getLogger(__name__)


class RunContext:
    """What every user shares: the service's spec, the applicants to send, the timeline being recorded."""

    def __init__(self) -> None:
        self.spec: ServiceSpec | None = None
        self.applicants: list[Applicant] = []
        self.timeline = Timeline()
        self.started = time.perf_counter()


CONTEXT = RunContext()

SCENARIOS = ScenarioCycle()
"""The scenario order every user follows, each from its own starting point."""


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
    if PROFILE.applicants:
        CONTEXT.applicants = load_applicants(PROFILE.applicants)
    else:
        CONTEXT.applicants = sample_from_spec(spec_body["features"], SPEC_SAMPLE_SIZE)
    logger.info("model %s, %d applicants to sample", CONTEXT.spec.model_tag, len(CONTEXT.applicants))


@events.request.add_listener
def record_in_timeline(
    request_type: str, name: str, response_time: float, exception: Any = None, **_: Any
) -> None:
    """Add every request to the timeline window of the current step or soak window."""
    if not PROFILE.timeline_out:
        return
    environment = _ENVIRONMENT[0] if _ENVIRONMENT else None
    shape = environment.shape_class if environment is not None else None
    users = environment.runner.user_count if environment is not None and environment.runner else 0
    if shape is not None and hasattr(shape, "window"):
        window = shape.window(shape.get_run_time())
    else:
        elapsed = time.perf_counter() - CONTEXT.started
        key = int(elapsed // PROFILE.window_seconds)
        window = (key, key * PROFILE.window_seconds, (key + 1) * PROFILE.window_seconds)
    if window is not None:
        key, start, end = window
        CONTEXT.timeline.add(key, start, end, users, name, response_time, exception is not None)


_ENVIRONMENT: list[Any] = []


@events.init.add_listener
def remember_environment(environment: Any, **_: Any) -> None:
    """Keep the environment so the request listener can read the shape and user count."""
    _ENVIRONMENT.append(environment)


@events.quitting.add_listener
def write_timeline(**_: Any) -> None:
    """Write the timeline JSON when the run ends."""
    if PROFILE.timeline_out:
        CONTEXT.timeline.to_json(PROFILE.timeline_out)


class CreditScoringUser(FastHttpUser):
    """A client of the scoring service sending the four scenarios at their weights, in a fixed cycle."""

    host = DEFAULT_HOST
    wait_time = constant_throughput(PROFILE.user_rps)
    network_timeout = 30.0
    connection_timeout = 10.0

    def _ready(self, name: str) -> bool:
        """Whether the run has a spec and applicants; if not, count a failure for ``name`` and say no."""
        if CONTEXT.spec is not None and CONTEXT.applicants:
            return True
        self.environment.events.request.fire(
            request_type="POST",
            name=name,
            response_time=0.0,
            response_length=0,
            response=None,
            context={},
            exception=RuntimeError("no service spec or applicants (GET /spec failed at start)"),
        )
        return False

    def _post(
        self, path: str, name: str, payload: dict[str, Any], check: Callable[[Any], str | None]
    ) -> None:
        with self.client.post(path, json=payload, name=name, catch_response=True) as response:
            if response.status_code == 0 or response.status_code is None:
                response.failure(f"connection error: {type(response.error).__name__}")
            elif response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
            else:
                try:
                    body = response.json()
                except ValueError:
                    response.failure("body is not JSON")
                    return
                problem = check(body)
                if problem is None:
                    response.success()
                else:
                    response.failure(problem)

    def on_start(self) -> None:
        """Take this user's walk through the scenario cycle."""
        self._scenarios = SCENARIOS.walk()
        self._send = {
            "/score single": self.score_single,
            "/score batch": self.score_batch,
            "/score explain": self.score_with_reasons,
            "/explain": self.explain,
        }

    @task
    def next_scenario(self) -> None:
        """Send the next scenario of this user's cycle."""
        self._send[next(self._scenarios)]()

    def _one(self) -> Applicant:
        return random.choice(CONTEXT.applicants)

    def score_single(self) -> None:
        """One applicant on ``/score``."""
        if not self._ready("/score single"):
            return
        applicant = self._one()
        self._post(
            "/score",
            "/score single",
            {"id": applicant["id"], "features": applicant["features"]},
            lambda body: check_score_response(body, CONTEXT.spec, [applicant["id"]], True, 0),
        )

    def score_batch(self) -> None:
        """A batch of applicants on ``/score``."""
        if not self._ready("/score batch"):
            return
        limit = CONTEXT.spec.max_batch_size if CONTEXT.spec else PROFILE.batch_max
        size = random.randint(PROFILE.batch_min, min(PROFILE.batch_max, limit))
        batch = random.choices(CONTEXT.applicants, k=size)
        ids = [f"{applicant['id']}#{i}" for i, applicant in enumerate(batch)]
        self._post(
            "/score",
            "/score batch",
            {"applicants": [{"id": i, "features": a["features"]} for i, a in zip(ids, batch, strict=True)]},
            lambda body: check_score_response(body, CONTEXT.spec, ids, False, 0),
        )

    def score_with_reasons(self) -> None:
        """One applicant on ``/score`` with the strongest reasons."""
        if not self._ready("/score explain"):
            return
        applicant = self._one()
        k = PROFILE.explain_k
        self._post(
            "/score",
            "/score explain",
            {"id": applicant["id"], "features": applicant["features"], "explain": k},
            lambda body: check_score_response(body, CONTEXT.spec, [applicant["id"]], True, k),
        )

    def explain(self) -> None:
        """One applicant on ``/explain``: every feature's contribution."""
        if not self._ready("/explain"):
            return
        applicant = self._one()
        self._post(
            "/explain",
            "/explain",
            {"id": applicant["id"], "features": applicant["features"]},
            lambda body: check_explain_response(body, CONTEXT.spec, [applicant["id"]], True),
        )
