"""The release gate: load the service, judge the run against the SLO and the last accepted run, say pass/fail.

    python -m loadtests.gate                               # serve credit_scorer:latest locally, gate it
    python -m loadtests.gate --url http://127.0.0.1:3000   # gate a running service
    python -m loadtests.gate --mode knee --record-benchmark # step ramp, report the knee, write BENCHMARKS.md
    python -m loadtests.gate --mode soak --soak-seconds 1800
    python -m loadtests.gate --mode knee --locust-processes 4   # more Locust worker processes

Locust's CPU (all its processes) is sampled beside the service's, and the verdict says when the load
generator, not the service, limited what was measured (``loadtests/bottleneck.py``).

Every request kind is sent with applicant documents and the main ones with feature vectors too
(``loadtests/mix.py``). When ``GET /spec`` says the service cannot score applicant documents with its model,
the applicant scenarios are not sent and the verdict says so on their rows (skipped, with the reason).

Every option (``--help``) can also be set by a ``CREDIT_SCORING_GATE_<OPTION>`` variable; a flag wins
(``loadtests/gate_settings.py``).

Exit status: 0 when every check passed, 1 when any check failed (the table names it), 2 when the run itself
could not be made (service did not start, Locust crashed, bad option).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from deploy.bento_server import REPO_ROOT, SERVICE_IMPORT_PATH, ServerStartError, serving_bundle
from loadtests.applicants import (
    FALLBACK_DOCUMENTS,
    LoadDataError,
    export_load_data,
    load_applicants,
    load_documents,
)
from loadtests.baseline import Baseline, read_baseline, write_baseline
from loadtests.benchmarks_md import record_section
from loadtests.bottleneck import (
    GENERATOR,
    SERVICE,
    generator_cores,
    knee_verdict,
    render_cpu,
    render_steps,
    request_span,
    run_verdict,
    span_cpu,
    use_of,
    with_cpu,
)
from loadtests.checks import applicant_form
from loadtests.cpu import CpuSampler
from loadtests.drift import check_soak, p95_slope_ms_per_hour
from loadtests.gate_settings import GateSettings, parse_settings
from loadtests.knee import Step, find_knee, judge_step, knee_is_a_lower_bound, steps_to_json
from loadtests.memory import RssSampler
from loadtests.mix import APPLICANT, FORMS, SCENARIO_WEIGHTS, scenario_weights, scenarios_of
from loadtests.profile import LoadProfile
from loadtests.results import LineStats, line_to_json, read_failures_csv, read_stats_csv
from loadtests.runner import LocustRun, run_locust
from loadtests.slo import SLO, LoadSettings, SLOError, load_slo
from loadtests.verdict import (
    FAIL,
    Check,
    breaches,
    check_regression,
    check_slo,
    not_sent,
    render_table,
    skipped,
)

EXIT_PASS, EXIT_BREACH, EXIT_ERROR = 0, 1, 2
"""Exit statuses: all checks passed, a check failed, the run could not be made."""

SUMMARY_FORMAT = 1
"""Layout version of ``summary.json``."""

DEFAULT_RESULTS_ROOT = REPO_ROOT / "artifacts" / "loadtests"
"""Parent of the per-run results folders when ``--results`` is not given."""

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
"""Hosts a URL target may name without ``--allow-remote``."""


class GateError(RuntimeError):
    """The run could not be made; the message says why."""


@dataclass(frozen=True)
class Target:
    """The service under test, as the run sees it."""

    url: str
    """Base URL Locust sends requests to."""
    description: str
    """What was asked for: the URL, ``model <tag>`` or ``bento <tag>``."""
    pid: int | None
    """Process id of the served process tree when the gate started it (its memory and CPU are sampled),
    else ``None``."""


KNEE_USER_RPS = 5.0
"""Per-user request rate of the step ramp when ``--user-rps`` is not given (steps offer users x this)."""

GATE_LOCUST_PROCESSES = 1
"""Locust processes of gate and soak runs when ``--locust-processes`` is not given: their load is light (20
requests/s by default), and one process leaves the other cores to the service."""


def _cores() -> int:
    return os.cpu_count() or 1


def locust_processes(settings: GateSettings) -> int:
    """Locust processes of the run: ``--locust-processes``, else :data:`GATE_LOCUST_PROCESSES` in gate and
    soak mode and one per core in knee mode (where one process is the first thing to run out of CPU)."""
    if settings.locust_processes is not None:
        return settings.locust_processes
    return _cores() if settings.mode == "knee" else GATE_LOCUST_PROCESSES


def offered_load(settings: GateSettings, slo: SLO) -> LoadSettings:
    """The load of the run: the SLO file's ``load`` where no option overrides it (knee mode:
    :data:`KNEE_USER_RPS` requests/s per user)."""
    base = slo.load
    default_rps = KNEE_USER_RPS if settings.mode == "knee" else base.user_rps
    return LoadSettings(
        users=settings.users if settings.users is not None else base.users,
        spawn_rate=settings.spawn_rate if settings.spawn_rate is not None else base.spawn_rate,
        run_seconds=settings.run_time if settings.run_time is not None else base.run_seconds,
        user_rps=settings.user_rps if settings.user_rps is not None else default_rps,
    )


@contextmanager
def open_target(settings: GateSettings, results: Path) -> Iterator[Target]:
    """Yield the service to load: the given URL, or a ``bentoml serve`` started here and stopped on exit."""
    if settings.url:
        host = urllib.parse.urlsplit(settings.url).hostname or ""
        if host not in LOOPBACK_HOSTS and not settings.allow_remote:
            raise GateError(
                f"{settings.url} is not on the loopback interface; pass --allow-remote to load it"
            )
        yield Target(url=settings.url.rstrip("/"), description=settings.url, pid=None)
        return
    with tempfile.TemporaryDirectory(prefix="loadtest-spool-") as spool:
        env = {"CREDIT_SCORING_SPOOL_DIR": spool, **settings.service_environment}
        if settings.bento:
            served_target, description = settings.bento, f"bento {settings.bento}"
        else:
            served_target, description = SERVICE_IMPORT_PATH, f"model {settings.model_tag}"
        env.setdefault("CREDIT_SCORING_BUNDLE_TAG", settings.model_tag)
        log_path = results / "service.log"
        try:
            with serving_bundle(
                target=served_target, env=env, log_path=log_path, ready_timeout_s=settings.ready_timeout
            ) as service:
                print(f"service {description} ready at {service.url}", flush=True)
                yield Target(url=service.url, description=description, pid=service.pid)
        except ServerStartError as exc:
            raise GateError(f"the service did not start: {exc}") from None


def fetch_json(url: str, timeout_s: float = 10.0) -> dict[str, Any]:
    """GET ``url`` and decode its JSON body."""
    import urllib.request

    with urllib.request.urlopen(url, timeout=timeout_s) as answer:  # loopback or explicitly allowed host
        return json.loads(answer.read())


def prepare_applicants(settings: GateSettings, results: Path, model_tag: str) -> tuple[str, str]:
    """Path of the applicants file for Locust (empty = sample from /spec) and where they came from."""
    if settings.applicants:
        return str(settings.applicants.resolve()), f"file {settings.applicants}"
    path = results / "applicants.json"
    for tag in dict.fromkeys([model_tag, settings.model_tag]):
        try:
            export_load_data(tag, settings.reference_rows, reference_out=path)
        except LoadDataError as exc:  # no model store here, or a bundle without a reference sample
            print(f"reference sample of {tag} not available ({exc}); trying the next source")
            continue
        return str(path), f"{len(load_applicants(path))} reference rows of {tag}"
    return "", "drawn from GET /spec quantiles (no reference sample available)"


def prepare_documents(settings: GateSettings, results: Path, model_tag: str) -> tuple[str, str]:
    """Path of the applicant documents file for Locust and where they came from.

    Best first: ``--applicant-documents``, the example applicants of the served bundle (or of
    ``--model-tag``) exported from the model store, the committed fallback documents.
    """
    if settings.applicant_documents:
        count = len(load_documents(settings.applicant_documents))
        source = f"{count} documents of file {settings.applicant_documents}"
        return str(settings.applicant_documents.resolve()), source
    path = results / "applicant_documents.json"
    for tag in dict.fromkeys([model_tag, settings.model_tag]):
        try:
            export_load_data(tag, settings.reference_rows, documents_out=path)
        except LoadDataError as exc:  # no model store here, or a bundle without example applicants
            print(f"example applicants of {tag} not available ({exc}); trying the next source")
            continue
        return str(path), f"{len(load_documents(path))} example applicants of {tag}"
    count = len(load_documents(FALLBACK_DOCUMENTS))
    return str(FALLBACK_DOCUMENTS), (
        f"{count} fallback documents of loadtests/{FALLBACK_DOCUMENTS.name} (no example applicants available)"
    )


@dataclass(frozen=True)
class Forms:
    """The input forms a run sends, and those it leaves out with the reason."""

    sent: tuple[str, ...]
    """Forms whose scenarios are sent."""
    unsent: dict[str, str]
    """Forms left out, with why (the applicant form when the service cannot score documents)."""

    def unsent_scenarios(self) -> dict[str, str]:
        """Request names of the scenarios left out, with why."""
        return {scenario.name: why for form, why in self.unsent.items() for scenario in scenarios_of([form])}

    def to_json(self) -> dict[str, Any]:
        """As stored in ``summary.json``."""
        return {"sent": list(self.sent), "not_sent": self.unsent}


def choose_forms(spec: dict[str, Any]) -> Forms:
    """Both forms when ``GET /spec`` says the service scores applicant documents, else feature vectors."""
    available, reason = applicant_form(spec)
    if available:
        return Forms(FORMS, {})
    return Forms(tuple(form for form in FORMS if form != APPLICANT), {APPLICANT: f"applicant form: {reason}"})


@dataclass(frozen=True)
class Inputs:
    """What a run sends, and where it came from."""

    model_tag: str
    """Exact model tag the service reported on ``GET /spec``."""
    forms: Forms
    """Input forms sent and left out."""
    applicants: str
    """Feature-vector file for Locust (empty: drawn from ``GET /spec`` quantiles)."""
    applicants_source: str
    """Where the feature vectors came from, in words."""
    documents: str
    """Applicant-document file for Locust (empty when the applicant form is not sent)."""
    documents_source: str
    """Where the documents came from, or why they are not sent, in words."""


def prepare_inputs(settings: GateSettings, target: Target, results: Path) -> Inputs:
    """Ask the service what it scores (``GET /spec``) and write the applicants and documents to send."""
    spec = fetch_json(f"{target.url}/spec")
    model_tag = str(spec.get("model_tag", ""))
    forms = choose_forms(spec)
    applicants, applicants_source = prepare_applicants(settings, results, model_tag)
    if APPLICANT in forms.sent:
        documents, documents_source = prepare_documents(settings, results, model_tag)
        print(f"applicant documents: {documents_source}", flush=True)
    else:
        documents, documents_source = "", f"not sent: {forms.unsent[APPLICANT]}"
        print(f"applicant scenarios NOT sent: {forms.unsent[APPLICANT]}", flush=True)
    return Inputs(model_tag, forms, applicants, applicants_source, documents, documents_source)


def _profile(settings: GateSettings, load: LoadSettings, inputs: Inputs, results: Path) -> LoadProfile:
    profile = LoadProfile(
        applicants=inputs.applicants,
        applicant_documents=inputs.documents,
        forms=",".join(inputs.forms.sent),
        user_rps=load.user_rps,
        spawn_rate=load.spawn_rate,
        timeline_out=str(results / "timeline.json"),  # every mode: the span of the load, for the CPU
    )
    if settings.mode == "knee":
        profile = replace(
            profile, shape="step", step_users=settings.steps, step_seconds=settings.step_seconds
        )
    elif settings.mode == "soak":
        profile = replace(
            profile, shape="soak", soak_users=settings.soak_users, soak_seconds=settings.soak_seconds,
            window_seconds=settings.window_seconds,
        )  # fmt: skip
    profile.check()
    return profile


def _run_seconds(settings: GateSettings, profile: LoadProfile, load: LoadSettings) -> float:
    if settings.mode == "knee":
        return profile.step_seconds * len(profile.steps()) + 5
    if settings.mode == "soak":
        return profile.soak_seconds + 5
    return float(load.run_seconds)


def _step_row(step: dict[str, Any]) -> str:
    verdict = "yes" if step["within_slo"] else f"no: {step['breach']}"
    bound = f"yes: {step['generator_limit']}" if step.get("generator_limit") else "no"
    return (
        f"| {step['users']} | {step['offered_rps']:.0f} | {step['rps']:.1f} | {_ms(step['p95_ms'])} "
        f"| {_ms(step['p99_ms'])} | {step['error_rate']:.2%} | {verdict} "
        f"| {_cpu(step.get('generator_cpu_pct'))} | {_cpu(step.get('service_cpu_pct'))} "
        f"| {_cpu(step.get('machine_cpu_pct'))} | {bound} |"
    )


def _cpu(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def knee_section(summary: dict[str, Any], note: str = "") -> str:
    """The "Load tests" section of BENCHMARKS.md for a knee run (``note`` is added as its own paragraph)."""
    knee, profile, machine = summary["knee"], summary["profile"], summary["machine"]
    if knee is None:
        headline = "No step met the SLO: the service has no knee within it on this machine."
    else:
        headline = (
            f"**Knee: {knee['rps']:.0f} requests/s** answered at {knee['users']} users, aggregated p95 "
            f"{_ms(knee['p95_ms'])} ms and **p99 {_ms(knee['p99_ms'])} ms** "
            f"(SLO version {summary['slo_version']})."
        )
        if summary.get("knee_is_lower_bound"):
            headline += (
                " That was the ramp's last step and the SLO still held: the real knee lies at more users"
                " (a lower bound)."
            )
    if summary.get("bottleneck"):
        headline += " " + summary["bottleneck"]["verdict"]
    settings = summary["service_env"] or "default service settings"
    processes = summary.get("locust_processes", 1)
    return "\n".join(
        [
            "Measured by `python -m loadtests.gate --mode knee --record-benchmark` "
            f"at {summary['finished_at']}: "
            f"{summary['target']} (exact model `{summary['model_tag']}`, {settings}); Locust "
            f"{summary['locust_version']} ({processes} process{'es' if processes != 1 else ''}) on the same "
            f"host, {machine['cpus']} CPUs ({machine['platform']}).",
            "",
            headline,
            "",
            "| users | offered req/s | answered req/s | p95 ms | p99 ms | errors | within SLO "
            "| Locust CPU % | service CPU % | machine CPU % | generator-bound |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
            *[_step_row(step) for step in summary["steps"]],
            "",
            f"Scenario mix of `loadtests/locustfile.py`: {_mix_words(summary)}; "
            f"{profile['user_rps']:g} "
            f"requests/s per user; {profile['step_seconds']:g} s per step, "
            f"the first {profile['settle_seconds']:g} s "
            "of each ignored. CPU is the step's mean in percent of one core (`-`: not sampled; the service's "
            "only when the gate started it). A step is generator-bound when Locust used at least 90 % of the "
            "cores its processes can use, or at least half of a machine that was at least 90 % busy "
            "(`loadtests/bottleneck.py`): there the service could have answered more.",
            *(["", note] if note else []),
        ]
    )


def _mix_words(summary: dict[str, Any]) -> str:
    """The scenarios of a run and their weights per cycle, with the batch sizes, in words."""
    profile = summary["profile"]
    weights = summary.get("scenarios") or SCENARIO_WEIGHTS
    words = " : ".join(f"{weight} `{name}`" for name, weight in weights.items())
    documents = (
        f"{profile.get('applicant_batch_min', LoadProfile.applicant_batch_min)}-"
        f"{profile.get('applicant_batch_max', LoadProfile.applicant_batch_max)}"
    )
    text = (
        f"{words} (batches of {profile['batch_min']}-{profile['batch_max']} feature vectors or {documents} "
        "applicant documents; the applicant `/score explain` and `/explain` also return the feature row)"
    )
    unsent = (summary.get("forms") or {}).get("not_sent") or {}
    return text + "".join(f"; not sent: {why}" for why in unsent.values())


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def _locust_version() -> str:
    from importlib.metadata import version

    return version("locust")


def _sampled_span(cpu: CpuSampler) -> tuple[float, float] | None:
    """Wall-clock span Locust's CPU was sampled, when the timeline has no requests to delimit the load."""
    series = cpu.series.get(GENERATOR) or []
    return (series[0][0], series[-1][0]) if len(series) >= 2 else None


@dataclass(frozen=True)
class Plan:
    """A run as asked for, resolved: its options, SLO, load, Locust processes and results folder."""

    settings: GateSettings
    """The options."""
    slo: SLO
    """The SLO file's limits."""
    load: LoadSettings
    """Users, spawn rate, length and per-user request rate of the run."""
    processes: int
    """Locust processes generating the load."""
    cpus: int
    """CPUs of this machine."""
    started: datetime
    """When the run started (UTC)."""
    results: Path
    """Folder of the run's files."""


def plan_run(settings: GateSettings) -> Plan:
    """Read the SLO file, work out the load and the Locust processes, create the results folder."""
    slo = load_slo(settings.slo)
    started = datetime.now(UTC)
    results = settings.results or DEFAULT_RESULTS_ROOT / f"{started:%Y%m%d-%H%M%S}-{settings.mode}"
    results.mkdir(parents=True, exist_ok=True)
    load = offered_load(settings, slo)
    return Plan(settings, slo, load, locust_processes(settings), _cores(), started, results)


@dataclass(frozen=True)
class Measurement:
    """One Locust run against the target, read back, and what was sampled beside it."""

    target: Target
    """The service that was loaded."""
    inputs: Inputs
    """What was sent."""
    profile: LoadProfile
    """Locust's knobs."""
    run: LocustRun
    """Locust's exit code and files."""
    elapsed_s: float
    """Wall-clock seconds Locust ran."""
    cpu: CpuSampler
    """CPU of Locust's processes, of the service (when started here) and of the machine."""
    memory: RssSampler | None
    """Resident memory of the service when it was started here, else ``None``."""
    lines: dict[str, LineStats]
    """Locust's whole-run statistics per request name."""
    windows: list[dict[str, Any]]
    """Locust's timeline of the load: the steps of a knee run, the drift windows of a soak."""


def _start_samplers(stack: ExitStack, target: Target) -> tuple[CpuSampler, RssSampler | None]:
    """Sample CPU, and the service's memory when it was started here, until ``stack`` closes."""
    memory = RssSampler(target.pid) if target.pid else None
    if memory:
        memory.start()
        stack.callback(memory.stop)
    cpu = CpuSampler()
    cpu.start()
    stack.callback(cpu.stop)
    if target.pid:
        cpu.watch(SERVICE, target.pid)
    return cpu, memory


def measure(plan: Plan) -> Measurement:
    """Open the target, prepare what to send, run Locust with the samplers on, and read its results."""
    settings = plan.settings
    with ExitStack() as stack:
        target = stack.enter_context(open_target(settings, plan.results))
        inputs = prepare_inputs(settings, target, plan.results)
        profile = _profile(settings, plan.load, inputs, plan.results)
        cpu, memory = _start_samplers(stack, target)
        print(
            f"{settings.mode} run against {target.url} with {plan.processes} Locust process(es): "
            f"results in {plan.results}",
            flush=True,
        )
        clock = time.monotonic()
        run = run_locust(
            host=target.url,
            results=plan.results,
            users=plan.load.users if settings.mode == "gate" else None,
            spawn_rate=plan.load.spawn_rate,
            run_seconds=_run_seconds(settings, profile, plan.load),
            env=profile.to_env(),
            processes=plan.processes,
            on_started=lambda pid: cpu.watch(GENERATOR, pid),
        )
        elapsed = time.monotonic() - clock
    if not run.stats_csv.is_file():
        raise GateError(f"Locust wrote no statistics (exit {run.exit_code}); see {run.log}")
    timeline = Path(profile.timeline_out)
    windows = json.loads(timeline.read_text()) if timeline.is_file() else []
    lines = read_stats_csv(run.stats_csv)
    return Measurement(target, inputs, profile, run, elapsed, cpu, memory, lines, windows)


def summarize(plan: Plan, measured: Measurement) -> dict[str, Any]:
    """What every ``summary.json`` holds: the run, its target and load, what was sent, the numbers."""
    settings, inputs, cpu = plan.settings, measured.inputs, measured.cpu
    span = request_span(measured.windows) or _sampled_span(cpu)
    return {
        "format": SUMMARY_FORMAT,
        "mode": settings.mode,
        "started_at": plan.started.isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "elapsed_s": round(measured.elapsed_s, 1),
        "target": measured.target.description,
        "url": measured.target.url,
        "model_tag": inputs.model_tag,
        "service_env": " ".join(settings.service_env),
        "slo_file": str(settings.slo),
        "slo_version": plan.slo.version,
        "load": plan.load.model_dump(),
        "profile": asdict(measured.profile),
        "applicants": inputs.applicants_source,
        "applicant_documents": inputs.documents_source,
        "forms": inputs.forms.to_json(),
        "scenarios": scenario_weights(inputs.forms.sent),
        "locust_version": _locust_version(),
        "locust_exit_code": measured.run.exit_code,
        "locust_processes": plan.processes,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(terse=True)},
        "lines": {name: line_to_json(line) for name, line in measured.lines.items()},
        "failures": read_failures_csv(measured.run.failures_csv),
        "memory": measured.memory.report() if measured.memory else None,
        "cpu": {
            "cpus": plan.cpus,
            "generator_cores": generator_cores(plan.processes, plan.cpus),
            "interval_s": cpu.interval_s,
            "span_s": round(span[1] - span[0], 1) if span else None,
            **(
                span_cpu(cpu, *span, plan.cpus) if span else {GENERATOR: None, SERVICE: None, "machine": None}
            ),
        },
    }


def _baseline_checks(plan: Plan, lines: dict[str, LineStats]) -> list[Check]:
    if plan.settings.no_baseline:
        return [skipped("baseline", "--no-baseline")]
    baseline = read_baseline(plan.settings.baseline)
    if baseline is None:
        return [skipped("baseline", f"no accepted run at {plan.settings.baseline} (use --accept)")]
    if not plan.load.same_offered_load(LoadSettings(**baseline.load)):
        return [skipped("baseline", "the accepted run used another load profile")]
    return check_regression(lines, baseline.lines, plan.slo.regression)


def _gate_checks(plan: Plan, measured: Measurement) -> list[Check]:
    """The SLO's limits (throughput only under the SLO file's load) and the comparison with the baseline."""
    same_load = plan.load.same_offered_load(plan.slo.load)
    unsent = measured.inputs.forms.unsent_scenarios()
    checks = check_slo(measured.lines, plan.slo, with_throughput=same_load, unsent=unsent)
    if not same_load:
        checks.append(skipped("slo", "min_rps limits hold only under the SLO file's load"))
    return checks + _baseline_checks(plan, measured.lines)


def _knee_checks(plan: Plan, measured: Measurement, summary: dict[str, Any]) -> list[Check]:
    """Judge each step of the ramp, find the knee and the bottleneck (added to ``summary``); one check."""
    slo, cpu, processes, cpus = plan.slo, measured.cpu, plan.processes, plan.cpus
    steps: list[Step] = [
        with_cpu(judge_step(window, slo, measured.profile.user_rps), window, cpu, processes, cpus)
        for window in measured.windows
    ]
    knee = find_knee(steps)
    summary["steps"] = steps_to_json(steps)
    summary["knee"] = asdict(knee) if knee else None
    summary["knee_is_lower_bound"] = knee_is_a_lower_bound(steps, knee)
    summary["bottleneck"] = knee_verdict(steps, knee, processes, cpus)
    detail = f"knee at {knee.users} users" if knee else "no step met the SLO"
    if summary["knee_is_lower_bound"]:
        detail += ", the last step: the SLO still held, so the knee lies higher (add --steps)"
    checks = [
        Check(
            "knee", slo.knee_line, "rps", knee.rps if knee else None, None, "pass" if knee else FAIL, detail
        )
    ]
    unsent = measured.inputs.forms.unsent_scenarios()
    return checks + [not_sent(name, unsent[name]) for name in slo.scenarios if name in unsent]


def _soak_checks(plan: Plan, measured: Measurement, summary: dict[str, Any]) -> list[Check]:
    """The SLO's latency and error limits and the drift limits (the windows, with their CPU, go into
    ``summary``)."""
    windows = measured.windows
    for window in windows:
        if window.get("start_epoch") is not None:
            window["cpu"] = span_cpu(measured.cpu, window["start_epoch"], window["end_epoch"], plan.cpus)
    summary["windows"] = windows
    summary["p95_slope_ms_per_hour"] = p95_slope_ms_per_hour(windows)
    unsent = measured.inputs.forms.unsent_scenarios()
    checks = check_slo(measured.lines, plan.slo, with_throughput=False, unsent=unsent)
    samples = measured.memory.samples if measured.memory else []
    return checks + check_soak(windows, samples, measured.profile.window_seconds, plan.slo.soak)


def judge(plan: Plan, measured: Measurement, summary: dict[str, Any]) -> list[Check]:
    """The checks of the run's mode and the verdict on what limited the load, all recorded in ``summary``."""
    if plan.settings.mode == "gate":
        checks = _gate_checks(plan, measured)
    elif plan.settings.mode == "knee":
        checks = _knee_checks(plan, measured, summary)
    else:
        checks = _soak_checks(plan, measured, summary)
    if plan.settings.mode != "knee":
        aggregated = measured.lines.get("Aggregated")
        summary["bottleneck"] = run_verdict(use_of(summary["cpu"]), aggregated, plan.processes, plan.cpus)
    summary["checks"] = [check.to_json() for check in checks]
    summary["breaches"] = [check.label for check in breaches(checks)]
    summary["passed"] = not summary["breaches"]
    return checks


def write_results(plan: Plan, measured: Measurement, summary: dict[str, Any]) -> None:
    """Write ``summary.json`` and the CPU (and memory) samples into the results folder."""
    (plan.results / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    if measured.memory is not None:
        measured.memory.write_csv(plan.results / "memory.csv")
    measured.cpu.write_csv(plan.results / "cpu.csv")


def print_report(plan: Plan, summary: dict[str, Any], checks: list[Check]) -> None:
    """Print the table of checks, the steps and knee of a knee run, the CPU use and the bottleneck."""
    knee_mode = plan.settings.mode == "knee"
    print(render_table(checks))
    print()
    if knee_mode:
        print(render_steps(summary["steps"]))
    print(render_cpu(summary["cpu"], plan.processes, plan.cpus))
    if knee_mode and summary["knee"]:
        knee_step = summary["knee"]
        print(
            f"knee: {knee_step['rps']:.1f} req/s at {knee_step['users']} users, "
            f"p99 {_ms(knee_step['p99_ms'])} ms"
        )
    print(f"bottleneck: {summary['bottleneck']['verdict']}")


def conclude(plan: Plan, measured: Measurement, summary: dict[str, Any]) -> int:
    """Record the knee if asked, say whether the run passed, store an accepted pass as the new baseline;
    return the exit status."""
    settings = plan.settings
    if settings.record_benchmark:
        record_section(settings.record_benchmark, knee_section(summary, settings.benchmark_note))
        print(f"recorded the knee in {settings.record_benchmark}")
    if summary["breaches"]:
        print(f"GATE FAILED: {len(summary['breaches'])} breach(es): {'; '.join(summary['breaches'])}")
        print(f"results: {plan.results}")
        return EXIT_BREACH
    if settings.accept:
        baseline = Baseline(
            accepted_at=summary["finished_at"],
            slo_version=plan.slo.version,
            load=plan.load.model_dump(),
            target=measured.target.description,
            model_tag=measured.inputs.model_tag,
            lines=measured.lines,
        )
        write_baseline(settings.baseline, baseline)
        print(f"accepted as the new baseline: {settings.baseline}")
    print(f"GATE PASSED ({settings.mode}); results: {plan.results}")
    return EXIT_PASS


def run_gate(settings: GateSettings) -> int:
    """Run one gate, knee or soak run and return its exit status."""
    plan = plan_run(settings)
    measured = measure(plan)
    summary = summarize(plan, measured)
    checks = judge(plan, measured, summary)
    write_results(plan, measured, summary)
    print_report(plan, summary, checks)
    return conclude(plan, measured, summary)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (``--help`` and unknown flags exit from argparse)."""
    try:
        settings = parse_settings(sys.argv[1:] if argv is None else argv)
        return run_gate(settings)
    except (GateError, SLOError, OSError, ValueError) as exc:  # ValueError: pydantic's ValidationError too
        print(f"gate error: {exc}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
