"""When each load shape adds users and when it stops, as plain functions of run time (no Locust import).

Locust monkey-patches the standard library with gevent on import, so this logic lives apart from the
``LoadTestShape`` classes in ``loadtests/shapes.py``: the gate and the tests use it without importing Locust.
"""

from __future__ import annotations

import math
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

    def tick(self, run_time: float) -> tuple[int, float] | None:
        """Users and spawn rate at ``run_time``; ``None`` (stop) after the last step."""
        step = int(run_time // self.profile.step_seconds)
        users = self.users
        return None if step >= len(users) else (users[step], self.profile.spawn_rate)

    def window(self, run_time: float) -> Window | None:
        """The step at ``run_time``, or ``None`` while the step settles or after the end."""
        length = self.profile.step_seconds
        step = int(run_time // length)
        start = step * length + self.profile.settle_seconds
        if step >= len(self.users) or run_time < start:
            return None
        return step, start, (step + 1) * length


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
