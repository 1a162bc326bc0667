"""The timeline recorder: with several Locust processes, the master's timeline equals a single process's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadtests.plans import StepPlan, Window
from loadtests.profile import LoadProfile
from loadtests.recording import TimelineRecorder
from loadtests.timeline import Timeline

START = 1_800_000_000.0
"""Wall-clock time the fake run starts at."""


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


class Ramp:
    """A step ramp as the locustfile's shape behaves: run time since it started, windows of its plan."""

    def __init__(self, clock: Clock, profile: LoadProfile) -> None:
        self.clock = clock
        self.start = clock.now
        self.plan = StepPlan(profile)
        self.started: dict[int, float] = {}

    def get_run_time(self) -> float:
        return self.clock.now - self.start

    def window(self, run_time: float) -> Window | None:
        return self.plan.window(run_time, self.started)


PROFILE = LoadProfile(step_users="2,4", step_seconds=10, settle_seconds=2)

REQUESTS = [
    # (seconds into the run, scenario, milliseconds, failed, users running)
    (0.5, "/score single", 5.0, False, 2),  # settling: in no window
    (2.5, "/score single", 6.0, False, 2),
    (4.0, "/score batch", 30.0, False, 2),
    (9.9, "/explain", 12.0, True, 2),
    (10.5, "/score single", 7.0, False, 4),  # the second step settling
    (12.1, "/score single", 8.0, False, 4),
    (15.0, "/score explain", 9.0, False, 4),
    (19.5, "/score single", 6.5, False, 4),
    (20.5, "/score single", 6.5, False, 0),  # after the ramp: in no window
]


def one_process() -> list[dict]:
    """The timeline a single Locust process records for :data:`REQUESTS`."""
    clock = Clock()
    recorder = TimelineRecorder(Timeline(), PROFILE.window_seconds, clock)
    recorder.start(Ramp(clock, PROFILE))
    for offset, name, ms, failed, users in REQUESTS:
        clock.now = START + offset
        recorder.record(name, ms, failed, users)
    return recorder.timeline.summary()


def test_workers_shipping_to_the_master_give_the_same_timeline() -> None:
    clock = Clock()
    master = TimelineRecorder(Timeline(), PROFILE.window_seconds, clock)
    master.start(Ramp(clock, PROFILE))
    workers = [TimelineRecorder(Timeline(), PROFILE.window_seconds, clock) for _ in range(2)]
    for i, (offset, name, ms, failed, users) in enumerate(REQUESTS):
        clock.now = START + offset
        workers[i % 2].hold(name, ms, failed)  # each worker sends its share of the requests
        master.note_users(users)  # the master knows the total
        if i % 3 == 2:  # a worker report now and then, arriving after the requests it carries
            clock.now += 0.7
            master.receive(workers[0].ship())
    clock.now = START + 25.0  # the workers stop: their last requests arrive after the end
    for worker in workers:
        master.receive(worker.ship())
    assert master.timeline.summary() == one_process()


def test_timeline_windows_carry_wall_clock_spans() -> None:
    windows = one_process()
    assert [(w["window"], w["users"], w["lines"]["Aggregated"]["requests"]) for w in windows] == [
        (0, 2, 3),
        (1, 4, 3),
    ]
    first = windows[0]
    assert (first["start_epoch"], first["end_epoch"]) == (START + 2.0, START + 10.0)
    assert (first["first_request_epoch"], first["last_request_epoch"]) == (START + 2.5, START + 9.9)
    assert windows[0]["lines"]["/explain"]["failures"] == 1


def test_shipping_forgets_what_was_shipped_and_nothing_is_a_no_op() -> None:
    clock = Clock()
    worker = TimelineRecorder(Timeline(), 10.0, clock)
    worker.hold("/explain", 3.0, False)
    shipped = worker.ship()
    assert shipped == {"at": [START], "name": ["/explain"], "ms": [3.0], "failed": [False]}
    assert json.loads(json.dumps(shipped)) == shipped  # plain values: it travels in Locust's messages
    assert worker.ship() == {"at": [], "name": [], "ms": [], "failed": []}
    master = TimelineRecorder(Timeline(), 10.0, clock)
    master.start(None)
    master.receive(None)
    master.receive(worker.ship())
    assert master.timeline.summary() == []


def test_users_are_noted_only_in_a_window_and_when_running() -> None:
    clock = Clock()
    master = TimelineRecorder(Timeline(), 10.0, clock)
    master.start(Ramp(clock, PROFILE))
    clock.now = START + 1.0
    master.note_users(2)  # settling: no window
    clock.now = START + 3.0
    master.note_users(0)  # nobody running
    assert master.timeline.summary() == []
    master.note_users(2)
    clock.now = START + 13.0
    master.note_users(4)
    assert [
        (w["window"], w["users"], w["lines"]["Aggregated"]["requests"]) for w in master.timeline.summary()
    ] == [
        (0, 2, 0),
        (1, 4, 0),
    ]


def test_without_a_shape_windows_are_fixed_from_the_start(tmp_path: Path) -> None:
    clock = Clock()
    recorder = TimelineRecorder(Timeline(), 10.0, clock)
    clock.now = START + 100.0
    recorder.start(None)
    for offset in (1.0, 9.0, 11.0, 25.0):
        clock.now = START + 100.0 + offset
        recorder.record("/score single", 5.0, False, 3)
    recorder.receive({"at": [START], "name": ["/score single"], "ms": [1.0], "failed": [False]})  # before
    windows = recorder.timeline.summary()
    assert [(w["window"], w["start_s"], w["lines"]["Aggregated"]["requests"]) for w in windows] == [
        (0, 0.0, 2),
        (1, 10.0, 1),
        (2, 20.0, 1),
    ]
    assert windows[0]["start_epoch"] == pytest.approx(START + 100.0)
    recorder.timeline.to_json(tmp_path / "timeline.json")
    assert json.loads((tmp_path / "timeline.json").read_text()) == windows
