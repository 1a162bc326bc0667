"""Who limited a run, the load generator or the service: the rule and its words on constructed CPU numbers."""

from __future__ import annotations

from dataclasses import asdict, replace

import pytest

from loadtests.bottleneck import (
    GENERATOR_SATURATED,
    MACHINE_TAKEN,
    CpuUse,
    explain,
    generator_cores,
    generator_limit,
    knee_judged_steps,
    knee_verdict,
    render_cpu,
    render_steps,
    request_span,
    run_verdict,
    span_cpu,
    with_cpu,
)
from loadtests.cpu import MACHINE, CpuSampler
from loadtests.knee import Step
from loadtests.results import LineStats


def test_locust_can_use_one_core_per_process_at_most_the_machines() -> None:
    assert generator_cores(1, 2) == 1
    assert generator_cores(2, 2) == 2
    assert generator_cores(8, 2) == 2


@pytest.mark.parametrize(
    ("use", "processes", "cpus", "rule"),
    [
        # One Locust process at a full core (the recorded knee's situation): saturated.
        (CpuUse(generator_pct=98, service_pct=60, machine_pct=170), 1, 2, GENERATOR_SATURATED),
        (CpuUse(generator_pct=90, service_pct=None, machine_pct=None), 1, 2, GENERATOR_SATURATED),
        (CpuUse(generator_pct=89.9, service_pct=None, machine_pct=None), 1, 2, ""),
        # Two processes may use two cores: 98 % of one core is headroom.
        (CpuUse(generator_pct=98, service_pct=60, machine_pct=170), 2, 2, ""),
        (CpuUse(generator_pct=180, service_pct=15, machine_pct=195), 2, 2, GENERATOR_SATURATED),
        # The machine is saturated and Locust took most of it: the service got what was left.
        (CpuUse(generator_pct=120, service_pct=65, machine_pct=190), 2, 2, MACHINE_TAKEN),
        (CpuUse(generator_pct=90, service_pct=90, machine_pct=180), 2, 2, MACHINE_TAKEN),
        # Saturated by the service, Locust had headroom: the service is the bottleneck.
        (CpuUse(generator_pct=40, service_pct=150, machine_pct=195), 2, 2, ""),
        # Locust busy but the machine not saturated: not generator-bound.
        (CpuUse(generator_pct=120, service_pct=20, machine_pct=150), 2, 2, ""),
        # Not measured: no judgement.
        (CpuUse(generator_pct=None, service_pct=150, machine_pct=195), 1, 2, ""),
    ],
)
def test_generator_limit_rule(use: CpuUse, processes: int, cpus: int, rule: str) -> None:
    assert generator_limit(use, processes, cpus) == rule


def test_verdict_says_the_generator_limited_and_the_number_is_a_lower_bound() -> None:
    words = explain(CpuUse(97, 45, 150), 1, 2, "the knee", "The knee's 554 req/s")
    assert words.startswith("The load generator, not the service, limited the knee")
    assert "97 % of one core" in words and "the service used 45 % of one core" in words
    assert "The knee's 554 req/s is a lower bound of the service's capacity" in words
    assert "--locust-processes" in words  # one process on two cores: more processes would help

    shared = explain(CpuUse(120, 65, 190), 2, 2, "the throughput", "The measured 700.0 req/s")
    assert shared.startswith("The load generator, not the service, limited the throughput")
    assert "95 % busy" in shared and "63 % of that CPU" in shared and "a lower bound" in shared
    assert "--locust-processes" not in shared  # already a process per core

    fine = explain(CpuUse(30, 150, 190), 2, 2, "the throughput", "The measured 700.0 req/s")
    assert fine.startswith("The load generator was not the bottleneck of the throughput")
    assert "lower bound" not in fine and "the service used 150 % of one core" in fine
    assert "The machine was saturated and Locust took 16 % of its busy CPU" in fine
    assert "saturated" not in explain(CpuUse(30, 100, 140), 2, 2, "the throughput", "x")

    assert "not measured" in explain(CpuUse(None, None, None), 1, 2, "the knee", "x")
    assert "the service's CPU was not measured" in explain(CpuUse(30, None, 40), 1, 2, "the knee", "x")


def step(users: int, rps: float, within: bool, generator: float | None, service: float | None = 50.0) -> Step:
    """A knee step with the numbers that matter here (the machine as busy as Locust and the service)."""
    machine = None if generator is None else generator + (service or 0)
    step = Step(users, users * 5.0, rps, 20.0, 40.0, 0.0, within, "" if within else "Aggregated p95_ms > 150")
    step = replace(step, generator_cpu_pct=generator, service_cpu_pct=service, machine_cpu_pct=machine)
    return replace(step, generator_limit=generator_limit(CpuUse(generator, service, machine), 1, 2))


def test_knee_is_judged_up_to_the_first_step_beyond_it() -> None:
    steps = [
        step(8, 40, True, 10),
        step(16, 80, True, 20),
        step(32, 160, False, 40),
        step(64, 150, False, 99),
    ]
    assert [s.users for s in knee_judged_steps(steps, steps[1])] == [8, 16, 32]
    assert [s.users for s in knee_judged_steps(steps, steps[3])] == [8, 16, 32, 64]  # the last step
    assert [s.users for s in knee_judged_steps(steps, None)] == [8]
    assert knee_judged_steps([], None) == []


def test_knee_verdict_names_the_step_where_locust_ran_out() -> None:
    # The recorded knee's situation: one Locust process saturated at the step where the SLO broke.
    steps = [
        step(96, 480, True, 80),
        step(112, 554, True, 88),
        step(128, 603, False, 97),
        step(144, 619, False, 99),
    ]
    verdict = knee_verdict(steps, steps[1], processes=1, cpus=2)
    assert verdict["generator_limited"] and verdict["rule"] == GENERATOR_SATURATED
    assert verdict["judged"] == "the step at 128 users, where the SLO broke"
    assert "The load generator, not the service, limited the knee" in verdict["verdict"]
    assert "The knee's 554 req/s is a lower bound" in verdict["verdict"]


def test_knee_verdict_clears_the_generator_when_it_had_headroom() -> None:
    steps = [step(8, 40, True, 10), step(16, 80, True, 20), step(32, 120, False, 30, service=190)]
    verdict = knee_verdict(steps, steps[1], processes=2, cpus=2)
    assert not verdict["generator_limited"] and verdict["rule"] == ""
    assert verdict["judged"] == "the step at 32 users, where the SLO broke"
    assert verdict["verdict"].startswith("The load generator was not the bottleneck of the knee")
    assert not knee_verdict([step(8, 10, False, None)], None, 1, 2)["generator_limited"]


def test_run_verdict_over_the_whole_run() -> None:
    total = LineStats("", 600, 0, 20.0, 10.0, 50.0, 8.0, 12.0, 14.0, 20.0, 40.0)
    verdict = run_verdict(CpuUse(12.0, 30.0, 50.0), total, processes=1, cpus=2)
    assert verdict == {
        "generator_limited": False,
        "rule": "",
        "judged": "whole run",
        "verdict": verdict["verdict"],
    }
    assert "not the bottleneck of the throughput" in verdict["verdict"]
    saturated = run_verdict(CpuUse(99.0, 30.0, 140.0), total, processes=1, cpus=2)
    assert (
        saturated["generator_limited"] and "The measured 20.0 req/s is a lower bound" in saturated["verdict"]
    )


def sampler_with(series: dict[str, list[tuple[float, float]]]) -> CpuSampler:
    """A sampler holding given series, without sampling anything."""
    sampler = CpuSampler()
    sampler.series = dict(series)
    return sampler


def test_step_gets_the_cpu_of_its_window() -> None:
    # Locust: a full core from t=100 on; the service half a core; the machine both.
    sampler = sampler_with(
        {
            "generator": [(100.0 + t, 1.0 * t) for t in range(11)],
            "service": [(100.0 + t, 0.5 * t) for t in range(11)],
            MACHINE: [(100.0 + t, 1.5 * t) for t in range(11)],
        }
    )
    window = {"start_epoch": 102.0, "end_epoch": 106.0}
    judged = with_cpu(step(112, 554, True, None), window, sampler, processes=1, cpus=2)
    assert judged.generator_cpu_pct == pytest.approx(100.0)
    assert judged.service_cpu_pct == pytest.approx(50.0)
    assert judged.machine_cpu_pct == pytest.approx(150.0)
    assert judged.generator_cpu_max_pct == pytest.approx(100.0)
    assert judged.generator_limit == GENERATOR_SATURATED
    assert with_cpu(step(8, 40, True, None), {"start_epoch": None}, sampler, 1, 2).generator_cpu_pct is None

    span = span_cpu(sampler, 102.0, 106.0, cpus=2)
    assert span["generator"]["mean_share"] == pytest.approx(0.5)
    assert span["machine"]["max_share"] == pytest.approx(0.75)
    assert span_cpu(sampler_with({MACHINE: []}), 0, 1, 2)["service"] is None


def test_request_span_runs_from_first_to_last_request() -> None:
    windows = [
        {"first_request_epoch": 10.0, "last_request_epoch": 19.0},
        {"first_request_epoch": None, "last_request_epoch": None},
        {"first_request_epoch": 20.5, "last_request_epoch": 29.5},
    ]
    assert request_span(windows) == (10.0, 29.5)
    assert request_span([]) is None


def test_tables_show_cpu_beside_each_step_and_for_the_run() -> None:
    steps = [asdict(step(112, 554, True, 88)), asdict(step(128, 603, False, 97, service=None))]
    table = render_steps(steps).splitlines()
    assert table[0].split()[:5] == ["users", "req/s", "p95", "ms", "p99"]
    assert table[1].split()[5:9] == ["88", "50", "138", "no"]
    assert table[2].split()[5:9] == ["97", "-", "97", "yes"] and GENERATOR_SATURATED in table[2]
    cpu = {
        "generator": {"mean_pct": 97.0, "max_pct": 101.0, "mean_share": 0.485, "max_share": 0.505},
        "service": None,
        MACHINE: {"mean_pct": 150.0, "max_pct": 190.0, "mean_share": 0.75, "max_share": 0.95},
    }
    rendered = render_cpu(cpu, processes=1, cpus=2).splitlines()
    assert rendered[2].split() == ["Locust", "(generator)", "97", "101", "48", "%", "50", "%"]
    assert rendered[3].split() == ["service", "not", "measured"]


def test_benchmark_section_has_the_cpu_beside_each_step_and_the_verdict() -> None:
    from loadtests.gate import knee_section

    steps = [step(112, 554, True, 88), step(128, 603, False, 97)]
    summary = {
        "knee": asdict(steps[0]),
        "knee_is_lower_bound": False,
        "steps": [asdict(s) for s in steps],
        "bottleneck": knee_verdict(steps, steps[0], processes=1, cpus=2),
        "locust_processes": 1,
        "profile": {
            "batch_min": 10,
            "batch_max": 100,
            "user_rps": 5,
            "step_seconds": 15,
            "settle_seconds": 2,
        },
        "machine": {"cpus": 2, "platform": "test"},
        "slo_version": "1",
        "service_env": "",
        "finished_at": "2026-11-28T00:00:00+00:00",
        "target": "model credit_scorer:latest",
        "model_tag": "credit_scorer:v1",
        "locust_version": "2",
    }
    section = knee_section(summary)
    assert "| Locust CPU % | service CPU % | machine CPU % | generator-bound |" in section
    assert (
        "| 128 | 640 | 603.0 | 20 | 40 | 0.00% | no: Aggregated p95_ms > 150 | 97 | 50 | 147 | yes: generator"
        in (section)
    )
    assert "The load generator, not the service, limited the knee" in section
    assert "Locust 2 (1 process) on the same host" in section
