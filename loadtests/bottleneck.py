"""Who limited a measurement: the load generator (Locust) or the service, judged from the CPU both used.

The rule (:func:`generator_limit`), over one span of a run (a knee step, or the whole run): the load
generator, not the service, limited the measured throughput when

``generator saturated``
    Locust's processes used at least :data:`GENERATOR_SATURATION` (90 %) of the cores they can use: one
    core per Locust process (each is a single gevent loop), at most the machine's cores; or
``machine taken by the generator``
    the machine's cores were at least :data:`MACHINE_SATURATION` (90 %) busy and Locust used at least
    :data:`GENERATOR_SHARE_OF_BUSY` (half) of that busy CPU: it ran on the same cores as the service and
    took most of them.

Then the service could have answered more than was measured: the number is a lower bound of its capacity.
Otherwise the generator had headroom and the numbers are the service's (on the cores it got). The service's
CPU, sampled when the gate started the service, is printed beside Locust's so the judgement can be checked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from loadtests.cpu import MACHINE, CpuSampler
from loadtests.knee import Step
from loadtests.results import LineStats

GENERATOR = "generator"
"""Name of the Locust process tree in the CPU sampler and in ``summary.json``."""

SERVICE = "service"
"""Name of the served process tree (sampled only when the gate started the service)."""

GENERATOR_SATURATION = 0.90
"""Share of the cores the Locust processes can use at or above which the generator counts as saturated."""

MACHINE_SATURATION = 0.90
"""Share of the machine's cores busy at or above which the machine counts as saturated."""

GENERATOR_SHARE_OF_BUSY = 0.5
"""Share of a saturated machine's busy CPU at or above which Locust, not the service, took the machine."""

GENERATOR_SATURATED = "generator saturated"
"""Rule name: Locust used nearly all the cores it can use."""

MACHINE_TAKEN = "machine taken by the generator"
"""Rule name: the machine was saturated and Locust used most of its busy CPU."""


def generator_cores(processes: int, cpus: int) -> int:
    """Cores Locust can use: one per load-generating process (a single gevent loop each), at most ``cpus``."""
    return max(1, min(processes, cpus))


@dataclass(frozen=True)
class CpuUse:
    """Mean CPU over one span of a run, in percent of one core (``None`` when not measured)."""

    generator_pct: float | None
    """All Locust processes together (master and workers)."""
    service_pct: float | None
    """The served process tree (only when the gate started the service)."""
    machine_pct: float | None
    """The machine's busy CPU, everything on it together (at most 100 x its cores)."""


def generator_limit(use: CpuUse, processes: int, cpus: int) -> str:
    """The rule by which the generator limited the span (:data:`GENERATOR_SATURATED` or
    :data:`MACHINE_TAKEN`), or ``""`` when it had headroom or its CPU was not measured."""
    if use.generator_pct is None:
        return ""
    if use.generator_pct >= GENERATOR_SATURATION * 100.0 * generator_cores(processes, cpus):
        return GENERATOR_SATURATED
    if (
        use.machine_pct is not None
        and use.machine_pct >= MACHINE_SATURATION * 100.0 * cpus
        and use.generator_pct >= GENERATOR_SHARE_OF_BUSY * use.machine_pct
    ):
        return MACHINE_TAKEN
    return ""


def _service(value: float | None) -> str:
    if value is None:
        return "the service's CPU was not measured (only a service the gate started is)"
    return f"the service used {value:.0f} % of one core"


def _share(value: float) -> str:
    return f"{value * 100:.0f} %"


def explain(use: CpuUse, processes: int, cpus: int, what: str, number: str) -> str:
    """The judgement in plain words: ``what`` was measured (``the throughput``, ``the knee``), ``number`` is
    its value as printed (``554 req/s``)."""
    if use.generator_pct is None:
        return "Locust's CPU was not measured: no judgement on the load generator as a bottleneck."
    cores = generator_cores(processes, cpus)
    own = use.generator_pct / (100.0 * cores)
    locust = f"Locust's {processes} process{'es' if processes != 1 else ''}"
    they = "they" if processes != 1 else "it"
    service = _service(use.service_pct)
    rule = generator_limit(use, processes, cpus)
    remedy = "give Locust a machine of its own"
    if processes < cpus:
        remedy = "give Locust more processes (--locust-processes) or " + remedy.removeprefix("give Locust ")
    if rule == GENERATOR_SATURATED:
        return (
            f"The load generator, not the service, limited {what}: {locust} used "
            f"{use.generator_pct:.0f} % of one core, {_share(own)} of the {cores} core(s) {they} can use "
            f"(saturated from {_share(GENERATOR_SATURATION)}), while {service}. {number} is a lower bound "
            f"of the service's capacity: {remedy}."
        )
    busy = None if use.machine_pct is None else use.machine_pct / (100.0 * cpus)
    machine = "not measured" if busy is None else f"{_share(busy)} busy"
    if rule == MACHINE_TAKEN:
        assert use.machine_pct is not None
        return (
            f"The load generator, not the service, limited {what}: the machine's {cpus} cores were "
            f"{machine} (saturated from {_share(MACHINE_SATURATION)}) and {locust} used "
            f"{_share(use.generator_pct / use.machine_pct)} of that CPU ({use.generator_pct:.0f} % of one "
            f"core), while {service}: the service got what Locust left. {number} is a lower bound of the "
            f"service's capacity: {remedy}."
        )
    words = (
        f"The load generator was not the bottleneck of {what}: {locust} used "
        f"{use.generator_pct:.0f} % of one core, {_share(own)} of the {cores} core(s) {they} can use; "
        f"machine {machine}; {service}."
    )
    if busy is not None and busy >= MACHINE_SATURATION and use.machine_pct:
        taken = _share(use.generator_pct / use.machine_pct)
        words += (
            f" The machine was saturated and Locust took {taken} of its busy CPU: the service shared its "
            "cores with the load generator, so on cores of its own it would answer somewhat more."
        )
    return words


def span_cpu(sampler: CpuSampler, start: float, end: float, cpus: int) -> dict[str, Any]:
    """Mean and peak CPU of the generator, the service and the machine between wall-clock ``start`` and
    ``end``: percent of one core (``mean_pct``, ``max_pct``) and share of the machine's cores
    (``mean_share``, ``max_share``); a series not sampled is ``None``."""
    out: dict[str, Any] = {}
    for name in (GENERATOR, SERVICE, MACHINE):
        series = sampler.series.get(name)
        if not series:
            out[name] = None
            continue
        mean, peak = sampler.mean_pct(name, start, end), sampler.max_pct(name, start, end)
        out[name] = {
            "mean_pct": _round(mean),
            "max_pct": _round(peak),
            "mean_share": _round(None if mean is None else mean / (100.0 * cpus), 3),
            "max_share": _round(None if peak is None else peak / (100.0 * cpus), 3),
            "samples": sum(1 for t, _ in series if start <= t <= end),
        }
    return out


def use_of(span: Mapping[str, Any]) -> CpuUse:
    """The means of a :func:`span_cpu` result, for :func:`generator_limit`."""

    def mean(name: str) -> float | None:
        entry = span.get(name)
        return None if entry is None else entry["mean_pct"]

    return CpuUse(mean(GENERATOR), mean(SERVICE), mean(MACHINE))


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def request_span(windows: Iterable[Mapping[str, Any]]) -> tuple[float, float] | None:
    """Wall-clock span from the first to the last request of a timeline (``None`` when it has none)."""
    firsts = [w["first_request_epoch"] for w in windows if w.get("first_request_epoch") is not None]
    lasts = [w["last_request_epoch"] for w in windows if w.get("last_request_epoch") is not None]
    return (min(firsts), max(lasts)) if firsts and lasts and max(lasts) > min(firsts) else None


def with_cpu(step: Step, window: Mapping[str, Any], sampler: CpuSampler, processes: int, cpus: int) -> Step:
    """``step`` with the CPU sampled during its timeline ``window`` (its wall-clock span) and the rule's
    verdict; unchanged when the window has no wall-clock span."""
    start, end = window.get("start_epoch"), window.get("end_epoch")
    if start is None or end is None:
        return step
    span = span_cpu(sampler, start, end, cpus)

    def value(name: str, key: str) -> float | None:
        entry = span[name]
        return None if entry is None else entry[key]

    return replace(
        step,
        generator_cpu_pct=value(GENERATOR, "mean_pct"),
        generator_cpu_max_pct=value(GENERATOR, "max_pct"),
        service_cpu_pct=value(SERVICE, "mean_pct"),
        service_cpu_max_pct=value(SERVICE, "max_pct"),
        machine_cpu_pct=value(MACHINE, "mean_pct"),
        generator_limit=generator_limit(use_of(span), processes, cpus),
    )


def step_use(step: Step) -> CpuUse:
    """The CPU means of a step, for :func:`generator_limit` and :func:`explain`."""
    return CpuUse(step.generator_cpu_pct, step.service_cpu_pct, step.machine_cpu_pct)


def knee_judged_steps(steps: Sequence[Step], knee: Step | None) -> list[Step]:
    """The steps whose CPU decides whether the generator limited the knee: every step up to the knee and the
    first step beyond it (where the SLO broke); without a knee, the first step."""
    if not steps:
        return []
    if knee is None:
        return [steps[0]]
    index = next(i for i, step in enumerate(steps) if step.users == knee.users)
    return list(steps[: index + 2])


def run_verdict(use: CpuUse, total: LineStats | None, processes: int, cpus: int) -> dict[str, Any]:
    """Whether the load generator limited a gate or soak run, judged over the whole run (``summary.json``'s
    ``bottleneck``); ``total`` is the run's aggregated line."""
    number = f"The measured {total.rps:.1f} req/s" if total is not None else "The measured throughput"
    rule = generator_limit(use, processes, cpus)
    return {
        "generator_limited": bool(rule),
        "rule": rule,
        "judged": "whole run",
        "verdict": explain(use, processes, cpus, "the throughput", number),
    }


def knee_verdict(steps: Sequence[Step], knee: Step | None, processes: int, cpus: int) -> dict[str, Any]:
    """Whether the load generator limited the knee (``summary.json``'s ``bottleneck``): judged on the steps
    of :func:`knee_judged_steps`; the first generator-bound one is named, else the last of them."""
    judged = knee_judged_steps(steps, knee)
    if not judged:
        return {"generator_limited": False, "rule": "", "judged": "", "verdict": "No step was recorded."}
    limited = next((step for step in judged if step.generator_limit), None)
    step = limited or judged[-1]
    where = f"the step at {step.users} users"
    if knee is None:
        what, number = f"the ramp ({where}, where the SLO already broke)", f"Its {step.rps:.0f} req/s"
    else:
        if step.users > knee.users:
            where += ", where the SLO broke"
        what, number = f"the knee ({where})", f"The knee's {knee.rps:.0f} req/s"
    return {
        "generator_limited": limited is not None,
        "rule": step.generator_limit,
        "judged": where,
        "verdict": explain(step_use(step), processes, cpus, what, number),
    }


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def render_cpu(cpu: Mapping[str, Any], processes: int, cpus: int) -> str:
    """The whole run's CPU as a small fixed-width table: mean and peak, percent of one core and share."""
    lines = [
        f"CPU over the run (% of one core; {cpus} cores; Locust: {processes} process(es), "
        f"{generator_cores(processes, cpus)} usable core(s))",
        f"{'':<20}{'mean %':>8}{'max %':>8}{'mean share':>12}{'max share':>11}",
    ]
    labels = {GENERATOR: "Locust (generator)", SERVICE: "service", MACHINE: "machine (all)"}
    for name, label in labels.items():
        entry = cpu.get(name)
        if entry is None:
            lines.append(f"{label:<20}{'not measured':>16}")
            continue
        shares = ["-" if v is None else _share(v) for v in (entry["mean_share"], entry["max_share"])]
        lines.append(
            f"{label:<20}{_cell(entry['mean_pct']):>8}{_cell(entry['max_pct']):>8}"
            f"{shares[0]:>12}{shares[1]:>11}"
        )
    return "\n".join(lines)


def render_steps(steps: Sequence[Mapping[str, Any]]) -> str:
    """The knee ramp's steps with the CPU beside each: mean percent of one core of Locust, the service and
    the machine, and whether the generator limited the step."""
    header = ("users", "req/s", "p95 ms", "p99 ms", "within SLO", "Locust %", "service %", "machine %",
              "generator-bound")  # fmt: skip
    rows = [header]
    for step in steps:
        rows.append(
            (
                str(step["users"]),
                f"{step['rps']:.1f}",
                _cell(step["p95_ms"]),
                _cell(step["p99_ms"]),
                "yes" if step["within_slo"] else "no",
                _cell(step.get("generator_cpu_pct")),
                _cell(step.get("service_cpu_pct")),
                _cell(step.get("machine_cpu_pct")),
                f"yes ({step['generator_limit']})" if step.get("generator_limit") else "no",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.rjust(width) if i < len(header) - 1 else cell for i, (cell, width) in
                  enumerate(zip(row, widths, strict=True)))
        for row in rows
    )  # fmt: skip
