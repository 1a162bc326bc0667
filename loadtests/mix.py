"""The scenarios and their mix: which scenario each simulated user sends next (no Locust import).

Every kind of request (single ``/score``, batch ``/score``, ``/score`` with reasons, ``/explain``) is sent
with applicant documents, the form clients use (:data:`APPLICANT`); single and batch ``/score`` are also
sent with the model's feature vectors (:data:`FEATURES`), the form that stays for callers who compute
features themselves. The request kinds keep the shares they had before the applicant form existed (6 single,
2 batches, 1 with reasons, 1 ``/explain`` in ten requests), so the gate offers the service the same work
per kind; seven in ten requests carry documents.

Locust's ``@task(weight)`` draws every task at random, so over a short gate run a scenario of weight 1 in 10
can get half its share by chance and miss its ``min_rps`` with nothing wrong in the service. Here every
user walks the same fixed cycle in which each scenario appears exactly ``weight`` times, spread out evenly
(smooth weighted round-robin), and successive users start at successive positions of the cycle. After
``n`` requests from ``u`` users each scenario's count is within ``u`` of its exact share.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

APPLICANT = "applicant"
"""Input form: the applicant document (application and credit history with Kaggle's names)."""
FEATURES = "features"
"""Input form: the model's feature vector, by feature name."""
FORMS = (APPLICANT, FEATURES)
"""Every input form, in the order the scenarios list them."""


@dataclass(frozen=True)
class Scenario:
    """One Locust request name: a kind of request sent in one input form, and its share of the cycle."""

    kind: str
    """``/score single``, ``/score batch``, ``/score explain`` (``/score`` with reasons) or ``/explain``."""
    form: str
    """Input form of its applicants: :data:`APPLICANT` or :data:`FEATURES`."""
    weight: int
    """Requests of this scenario per cycle."""
    return_features: bool = False
    """Whether it asks for the feature row the model saw (``"return_features": true``) and checks it."""

    @property
    def name(self) -> str:
        """The Locust request name the results and the SLO file use, e.g. ``/score single (applicant)``."""
        return scenario_name(self.kind, self.form)


def scenario_name(kind: str, form: str) -> str:
    """Request name of ``kind`` sent in ``form``: ``"/score single (applicant)"``."""
    return f"{kind} ({form})"


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("/score single", APPLICANT, 4),
    Scenario("/score batch", APPLICANT, 1),
    Scenario("/score explain", APPLICANT, 1, return_features=True),
    Scenario("/explain", APPLICANT, 1, return_features=True),
    Scenario("/score single", FEATURES, 2),
    Scenario("/score batch", FEATURES, 1),
)
"""Every scenario the locustfile sends, in cycle-listing order."""

SCENARIO_WEIGHTS: dict[str, int] = {scenario.name: scenario.weight for scenario in SCENARIOS}
"""Requests of each scenario per cycle of ten; keys are the Locust request names the SLO file uses."""

BY_NAME: dict[str, Scenario] = {scenario.name: scenario for scenario in SCENARIOS}
"""Scenarios by request name."""


def parse_forms(text: str) -> tuple[str, ...]:
    """The forms of a comma-separated list (``"applicant,features"``), in :data:`FORMS` order.

    Raises ``ValueError`` for an unknown or empty list.
    """
    asked = {part.strip() for part in text.split(",") if part.strip()}
    unknown = asked - set(FORMS)
    if unknown or not asked:
        raise ValueError(f"forms must be a comma-separated subset of {', '.join(FORMS)}, got {text!r}")
    return tuple(form for form in FORMS if form in asked)


def scenarios_of(forms: Iterable[str]) -> tuple[Scenario, ...]:
    """The scenarios sent in any of ``forms``."""
    wanted = set(forms)
    return tuple(scenario for scenario in SCENARIOS if scenario.form in wanted)


def scenario_weights(forms: Iterable[str] = FORMS) -> dict[str, int]:
    """Weights of the scenarios sent in ``forms`` (the cycle when the other forms are not sent)."""
    return {scenario.name: scenario.weight for scenario in scenarios_of(forms)}


def interleave(weights: Mapping[str, int]) -> tuple[str, ...]:
    """One cycle holding each name ``weight`` times, each spread as evenly as the others allow.

    Smooth weighted round-robin: at every position each name gains its weight, and the name with the
    largest credit is taken and pays back the cycle's length. Ties go to the name listed first.
    """
    if not weights:
        raise ValueError("no scenarios to interleave")
    for name, weight in weights.items():
        if not isinstance(weight, int) or weight < 1:
            raise ValueError(f"weight of {name!r} must be a positive integer, got {weight!r}")
    total = sum(weights.values())
    credit = dict.fromkeys(weights, 0)
    cycle: list[str] = []
    for _ in range(total):
        for name, weight in weights.items():
            credit[name] += weight
        chosen = max(credit, key=credit.__getitem__)
        credit[chosen] -= total
        cycle.append(chosen)
    return tuple(cycle)


class ScenarioCycle:
    """Hands each new user an endless walk through :func:`interleave`, starting one position further on."""

    def __init__(self, weights: Mapping[str, int] = SCENARIO_WEIGHTS) -> None:
        self.cycle = interleave(weights)
        self._next_start = itertools.count()

    def walk(self) -> itertools.islice[str]:
        """The scenario names of one new user, in order, forever."""
        start = next(self._next_start) % len(self.cycle)
        return itertools.islice(itertools.cycle(self.cycle), start, None)
