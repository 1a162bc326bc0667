"""Locust load shapes: a step ramp to find the knee and a soak to watch drift, both ending on their own.

Imported into the locustfile only when ``LOADTEST_SHAPE`` selects them (Locust runs the first shape class it
finds there). The timing lives in ``loadtests/plans.py``; these classes hand it Locust's run time.
"""

from __future__ import annotations

from locust import LoadTestShape

from loadtests.plans import SoakPlan, StepPlan, Window
from loadtests.profile import LoadProfile


class StepRamp(LoadTestShape):
    """Holds each user count of ``LOADTEST_STEP_USERS`` for ``LOADTEST_STEP_SECONDS``, then stops."""

    def __init__(self) -> None:
        super().__init__()
        self.plan = StepPlan(LoadProfile.from_env())
        self.started: dict[int, float] = {}
        """Run time at which each step was first ticked, i.e. its users asked for."""

    def tick(self) -> tuple[int, float] | None:
        """Users and spawn rate for the current step; ``None`` (stop) after the last one."""
        run_time = self.get_run_time()
        step = self.plan.step_at(run_time)
        if step is not None:
            self.started.setdefault(step, run_time)
        return self.plan.tick(run_time)

    def window(self, run_time: float) -> Window | None:
        """The timeline window (step) of ``run_time``, settling from when the step was actually ticked."""
        return self.plan.window(run_time, self.started)


class Soak(LoadTestShape):
    """Holds ``LOADTEST_SOAK_USERS`` for ``LOADTEST_SOAK_SECONDS``, then stops."""

    def __init__(self) -> None:
        super().__init__()
        self.plan = SoakPlan(LoadProfile.from_env())

    def tick(self) -> tuple[int, float] | None:
        """The soak's users until its time is up, then ``None`` (stop)."""
        return self.plan.tick(self.get_run_time())

    def window(self, run_time: float) -> Window | None:
        """The timeline window of ``run_time``."""
        return self.plan.window(run_time)
