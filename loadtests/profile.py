"""How the Locust run behaves, read from ``LOADTEST_*`` environment variables.

The gate starts Locust as a subprocess and passes everything the locustfile needs through these variables,
so the locustfile can also be run by hand (``locust -f loadtests/locustfile.py``) with the same knobs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

from loadtests.mix import parse_forms

ENV_PREFIX = "LOADTEST_"
"""Prefix of the environment variables read by :meth:`LoadProfile.from_env`."""

SHAPES = ("none", "step", "soak")
"""Accepted values of ``LOADTEST_SHAPE``: plain ``-u/-r/-t`` load, the step ramp, the soak."""


@dataclass(frozen=True)
class LoadProfile:
    """Knobs of one Locust run; each field is read from ``LOADTEST_<FIELD>`` in upper case."""

    applicants: str = ""
    """JSON file of feature vectors to sample (a list of ``{"id", "features"}``); empty = sample from
    ``/spec``."""
    applicant_documents: str = ""
    """JSON file of applicant documents to sample (``{"applicants": [{"id", "applicant"}, ...]}``);
    empty = the committed ``loadtests/example_applicants.json``."""
    forms: str = "applicant,features"
    """Input forms whose scenarios are sent, comma-separated (``applicant``, ``features``)."""
    user_rps: float = 2.0
    """Requests per second each simulated user tries to send (Locust's ``constant_throughput``)."""
    batch_min: int = 10
    """Smallest batch of feature vectors the ``/score batch (features)`` scenario sends."""
    batch_max: int = 100
    """Largest batch of feature vectors (must stay within the service's batch limit)."""
    applicant_batch_min: int = 5
    """Smallest batch of applicant documents the ``/score batch (applicant)`` scenario sends."""
    applicant_batch_max: int = 25
    """Largest batch of applicant documents; a batch is also cut to half the service's request body limit
    (a document is tens of kilobytes, a feature vector a few hundred bytes)."""
    explain_k: int = 3
    """Reasons asked per applicant by the ``/score`` with explanations scenario."""
    shape: str = "none"
    """Load shape: ``none`` (use ``-u``/``-r``/``-t``), ``step`` (step ramp) or ``soak``."""
    step_users: str = "8,16,32,64,80,96,112,128,144,160"
    """Users of each step of the step ramp, comma-separated, ascending."""
    step_seconds: float = 15.0
    """Duration of each step of the step ramp."""
    soak_users: int = 10
    """Users held during the soak."""
    soak_seconds: float = 600.0
    """Duration of the soak."""
    spawn_rate: float = 10.0
    """Users started per second by the step ramp and the soak."""
    window_seconds: float = 10.0
    """Width of the timeline windows written for the soak (the step ramp uses one window per step)."""
    settle_seconds: float = 2.0
    """Seconds ignored at the start of each step ramp step while users spawn and queues settle."""
    timeline_out: str = ""
    """Where to write per-window latency and throughput as JSON; empty = not written."""
    max_users: int = 200
    """Hard cap on simulated users: a larger ``-u`` or step is cut to it (a typo never floods a host)."""
    max_run_seconds: float = 3600.0
    """Run time applied when ``-t`` is not given, and the longest ``-t`` accepted."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LoadProfile:
        """Read the profile from the ``LOADTEST_*`` variables of ``environ`` (default: ``os.environ``)."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for spec in fields(cls):
            raw = env.get(ENV_PREFIX + spec.name.upper())
            if raw is None or raw == "":
                continue
            kind = type(getattr(cls, spec.name))
            try:
                values[spec.name] = kind(raw)
            except ValueError as exc:
                raise ValueError(f"{ENV_PREFIX}{spec.name.upper()}: {exc}") from None
        profile = cls(**values)  # type: ignore[arg-type]
        profile.check()
        return profile

    def to_env(self) -> dict[str, str]:
        """The ``LOADTEST_*`` variables that reproduce this profile in a Locust subprocess."""
        return {ENV_PREFIX + spec.name.upper(): str(getattr(self, spec.name)) for spec in fields(self)}

    def form_list(self) -> tuple[str, ...]:
        """The input forms whose scenarios are sent."""
        return parse_forms(self.forms)

    def steps(self) -> list[int]:
        """Users of each step of the step ramp."""
        return [int(part) for part in self.step_users.split(",") if part.strip()]

    def check(self) -> None:
        """Raise ``ValueError`` naming the first field that cannot work."""
        if self.shape not in SHAPES:
            raise ValueError(f"{ENV_PREFIX}SHAPE must be one of {', '.join(SHAPES)}")
        if self.user_rps <= 0:
            raise ValueError(f"{ENV_PREFIX}USER_RPS must be > 0")
        if not 1 <= self.batch_min <= self.batch_max:
            raise ValueError(f"{ENV_PREFIX}BATCH_MIN must be >= 1 and <= {ENV_PREFIX}BATCH_MAX")
        if not 1 <= self.applicant_batch_min <= self.applicant_batch_max:
            raise ValueError(
                f"{ENV_PREFIX}APPLICANT_BATCH_MIN must be >= 1 and <= {ENV_PREFIX}APPLICANT_BATCH_MAX"
            )
        try:
            parse_forms(self.forms)
        except ValueError as exc:
            raise ValueError(f"{ENV_PREFIX}FORMS: {exc}") from None
        if self.explain_k < 1:
            raise ValueError(f"{ENV_PREFIX}EXPLAIN_K must be >= 1")
        steps = self.steps()
        if not steps or any(u < 1 for u in steps) or steps != sorted(steps):
            raise ValueError(f"{ENV_PREFIX}STEP_USERS must list ascending positive user counts")
        if self.step_seconds <= self.settle_seconds or self.settle_seconds < 0:
            raise ValueError(f"{ENV_PREFIX}STEP_SECONDS must exceed {ENV_PREFIX}SETTLE_SECONDS (>= 0)")
        if self.max_users < 1 or self.max_run_seconds <= 0:
            raise ValueError(f"{ENV_PREFIX}MAX_USERS and {ENV_PREFIX}MAX_RUN_SECONDS must be positive")
        if self.soak_users < 1 or self.soak_seconds <= 0 or self.window_seconds <= 0 or self.spawn_rate <= 0:
            raise ValueError(f"{ENV_PREFIX}SOAK_*, WINDOW_SECONDS and SPAWN_RATE must be positive")
