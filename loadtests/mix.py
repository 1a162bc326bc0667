"""The scenario mix: which scenario each simulated user sends next (no Locust import).

Locust's ``@task(weight)`` draws every task at random, so over a short gate run a scenario of weight 1 in 10
can get half its share by chance and miss its ``min_rps`` with nothing wrong in the service. Here every
user walks the same fixed cycle in which each scenario appears exactly ``weight`` times, spread out evenly
(smooth weighted round-robin), and successive users start at successive positions of the cycle. After
``n`` requests from ``u`` users each scenario's count is within ``u`` of its exact share.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

SCENARIO_WEIGHTS: dict[str, int] = {
    "/score single": 6,
    "/score batch": 2,
    "/score explain": 1,
    "/explain": 1,
}
"""Requests of each scenario per cycle of ten; keys are the Locust request names the SLO file uses."""


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
