"""When each load shape adds users and when it stops, as plain functions of run time (no Locust import).

Locust monkey-patches the standard library with gevent on import, so this logic lives apart from the
``LoadTestShape`` classes in ``loadtests/shapes.py``: the gate and the tests use it without importing Locust.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from loadtests.profile import LoadProfile

Window = tuple[int, float, float]
"""A timeline window: key, start and end in seconds of run time."""


@dataclass(frozen=True)
class StepPlan:
    """Holds each user count of the profile's ``step_users`` for ``step_seconds``, then stops."""

    profile: LoadProfile
    """Steps, their length, the spawn rate, the settle time and the user cap."""

    @property
    def users(self) -> list[int]:
        """Users of each step, capped at ``max_users``."""
        return [min(users, self.profile.max_users) for users in self.profile.steps()]

    @property
    def total_seconds(self) -> float:
        """Length of the whole ramp."""
        return self.profile.step_seconds * len(self.users)

    def step_at(self, run_time: float) -> int | None:
        """Index of the step planned at ``run_time``; ``None`` after the last one."""
        step = int(run_time // self.profile.step_seconds)
        return None if step >= len(self.users) else step

    def tick(self, run_time: float) -> tuple[int, float] | None:
        """Users and spawn rate at ``run_time``; ``None`` (stop) after the last step."""
        step = self.step_at(run_time)
        return None if step is None else (self.users[step], self.profile.spawn_rate)

    def window(self, run_time: float, started: Mapping[int, float] | None = None) -> Window | None:
        """The step at ``run_time``, or ``None`` while the step settles or after the end.

        ``started`` maps a step to the run time its users were actually asked for, when Locust ticked the
        shape later than planned (a distributed master ticks up to a second late): the step settles from
        there, so its window never holds requests of the previous step's users.
        """
        length = self.profile.step_seconds
        step = self.step_at(run_time)
        if step is None:
            return None
        begun = max(step * length, (started or {}).get(step, step * length))
        start, end = begun + self.profile.settle_seconds, (step + 1) * length
        if run_time < start or start >= end:
            return None
        return step, start, end


@dataclass(frozen=True)
class SoakPlan:
    """Holds ``soak_users`` for ``soak_seconds``, then stops."""

    profile: LoadProfile
    """Users, length, window width, spawn rate and the user cap."""

    @property
    def total_seconds(self) -> float:
        """Length of the soak."""
        return self.profile.soak_seconds

    def tick(self, run_time: float) -> tuple[int, float] | None:
        """The soak's users until its time is up, then ``None`` (stop)."""
        if run_time >= self.profile.soak_seconds:
            return None
        return min(self.profile.soak_users, self.profile.max_users), self.profile.spawn_rate

    def window(self, run_time: float) -> Window | None:
        """The fixed-width window holding ``run_time`` (the last one is cut at the end of the soak)."""
        width = self.profile.window_seconds
        if run_time >= self.profile.soak_seconds:
            return None
        key = math.floor(run_time / width)
        return key, key * width, min((key + 1) * width, self.profile.soak_seconds)
