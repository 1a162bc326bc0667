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

Exit status: 0 when every check passed, 1 when any check failed (the table names it), 2 when the run itself
could not be made (service did not start, Locust crashed, bad option).
"""

from __future__ import annotations

import argparse
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

from loadtests.applicants import FALLBACK_DOCUMENTS, export_documents, export_reference, load_documents
from loadtests.baseline import DEFAULT_BASELINE_PATH, Baseline, read_baseline, write_baseline
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
from loadtests.knee import Step, find_knee, judge_step, knee_is_a_lower_bound, steps_to_json
from loadtests.memory import RssSampler
from loadtests.mix import APPLICANT, FORMS, SCENARIO_WEIGHTS, scenario_weights, scenarios_of
from loadtests.profile import LoadProfile
from loadtests.results import line_to_json, read_failures_csv, read_stats_csv
from loadtests.runner import run_locust
from loadtests.server import REPO_ROOT, SERVICE_IMPORT_PATH, ServedService, ServiceStartError
from loadtests.slo import DEFAULT_SLO_PATH, SLO, LoadSettings, SLOError, load_slo
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

DEFAULT_BENCHMARKS = REPO_ROOT / "BENCHMARKS.md"
"""File whose "Load tests" section ``--record-benchmark`` writes."""

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


def build_parser() -> argparse.ArgumentParser:
    """The gate's command line."""
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.gate",
        description="Load-test the credit-scoring service with Locust and judge the run against "
        "loadtests/slo.yaml and the last accepted run. "
        "Exit 0 = pass, 1 = a check failed, 2 = the run could not be made.",
    )
    target = parser.add_argument_group("target (default: serve --model-tag locally with bentoml serve)")
    where = target.add_mutually_exclusive_group()
    where.add_argument("--url", help="base URL of a running service, e.g. http://127.0.0.1:3000")
    where.add_argument(
        "--bento", metavar="TAG", help="serve this built Bento (bentoml serve TAG) on a free port"
    )
    target.add_argument(
        "--model-tag",
        default="credit_scorer:latest",
        help="bundle to serve (with service.service:CreditScorer) and to sample applicants from "
        "(default: %(default)s)",
    )
    target.add_argument(
        "--allow-remote", action="store_true", help="allow a --url whose host is not the loopback interface"
    )
    target.add_argument(
        "--service-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment of the served process, e.g. CREDIT_SCORING_WORKERS=2 (repeatable)",
    )
    target.add_argument(
        "--ready-timeout",
        type=float,
        default=120.0,
        help="seconds to wait for /readyz (default: %(default)s)",
    )

    run = parser.add_argument_group("run")
    run.add_argument(
        "--mode",
        choices=("gate", "knee", "soak"),
        default="gate",
        help="gate: SLO load and verdict; knee: step ramp, report the knee; soak: steady load, watch drift",
    )
    run.add_argument(
        "--slo", type=Path, default=DEFAULT_SLO_PATH, help="SLO file (default: loadtests/slo.yaml)"
    )
    run.add_argument(
        "--results", type=Path, help="results folder (default: artifacts/loadtests/<time>-<mode>)"
    )
    run.add_argument("--users", type=int, help="simulated users (default: the SLO file's load.users)")
    run.add_argument("--spawn-rate", type=float, help="users started per second (default: load.spawn_rate)")
    run.add_argument(
        "--run-time", type=int, metavar="SECONDS", help="gate run length (default: load.run_seconds)"
    )
    run.add_argument(
        "--user-rps", type=float, help="requests per second per user (default: load.user_rps; knee mode: 5)"
    )
    run.add_argument(
        "--locust-processes",
        type=int,
        metavar="N",
        help="Locust processes generating the load (N > 1: Locust's --processes N, a master and N workers "
        f"on this machine); default: {GATE_LOCUST_PROCESSES} in gate and soak mode, one per core "
        f"({_cores()}) in knee mode",
    )
    run.add_argument(
        "--applicants",
        type=Path,
        help="JSON list of feature vectors ({id, features}) to send instead of the reference sample",
    )
    run.add_argument(
        "--applicant-documents",
        type=Path,
        metavar="FILE",
        help="JSON file of applicant documents ({applicants: [{id, applicant}, ...]}) to send instead of the "
        "bundle's example applicants",
    )
    run.add_argument(
        "--reference-rows",
        type=int,
        default=2000,
        help="reference rows, and at most as many example applicants, exported for sampling "
        "(default: %(default)s)",
    )
    run.add_argument(
        "--steps",
        default=LoadProfile.step_users,
        help="knee mode: users per step (default: %(default)s)",
    )
    run.add_argument(
        "--step-seconds", type=float, default=15.0, help="knee mode: seconds per step (default: %(default)s)"
    )
    run.add_argument(
        "--soak-users", type=int, default=10, help="soak mode: users held (default: %(default)s)"
    )
    run.add_argument(
        "--soak-seconds",
        type=float,
        default=600.0,
        help="soak mode: length in seconds (default: %(default)s)",
    )
    run.add_argument(
        "--window-seconds",
        type=float,
        default=30.0,
        help="soak mode: drift window width (default: %(default)s)",
    )

    baseline = parser.add_argument_group("baseline and records")
    baseline.add_argument(
        "--baseline",
        type=Path,
        default=DEFAULT_BASELINE_PATH,
        help="last accepted run (default: loadtests/baseline.json)",
    )
    baseline.add_argument("--no-baseline", action="store_true", help="skip the regression comparison")
    baseline.add_argument(
        "--accept",
        action="store_true",
        help="gate mode: store this run as the new baseline if every check passed",
    )
    baseline.add_argument(
        "--record-benchmark",
        nargs="?",
        const=DEFAULT_BENCHMARKS,
        type=Path,
        metavar="FILE",
        help="knee mode: write the knee throughput and p99 into the 'Load tests' section of FILE "
        "(default FILE: BENCHMARKS.md)",
    )
    baseline.add_argument("--benchmark-note", default="", help="a paragraph added to the recorded section")
    return parser


KNEE_USER_RPS = 5.0
"""Per-user request rate of the step ramp when ``--user-rps`` is not given (steps offer users x this)."""

GATE_LOCUST_PROCESSES = 1
"""Locust processes of gate and soak runs when ``--locust-processes`` is not given: their load is light (20
requests/s by default), and one process leaves the other cores to the service."""


def _cores() -> int:
    return os.cpu_count() or 1


def locust_processes(args: argparse.Namespace) -> int:
    """Locust processes of the run: ``--locust-processes``, else :data:`GATE_LOCUST_PROCESSES` in gate and
    soak mode and one per core in knee mode (where one process is the first thing to run out of CPU)."""
    if args.locust_processes is not None:
        if args.locust_processes < 1:
            raise GateError(f"--locust-processes must be at least 1, got {args.locust_processes}")
        return int(args.locust_processes)
    return _cores() if args.mode == "knee" else GATE_LOCUST_PROCESSES


def _load_settings(args: argparse.Namespace, slo: SLO) -> LoadSettings:
    base = slo.load
    default_rps = KNEE_USER_RPS if args.mode == "knee" else base.user_rps
    return LoadSettings(
        users=args.users if args.users is not None else base.users,
        spawn_rate=args.spawn_rate if args.spawn_rate is not None else base.spawn_rate,
        run_seconds=args.run_time if args.run_time is not None else base.run_seconds,
        user_rps=args.user_rps if args.user_rps is not None else default_rps,
    )


def _service_env(pairs: Sequence[str]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise GateError(f"--service-env expects NAME=VALUE, got {pair!r}")
        env[name] = value
    return env


@contextmanager
def open_target(args: argparse.Namespace, results: Path) -> Iterator[Target]:
    """Yield the service to load: the given URL, or a ``bentoml serve`` started here and stopped on exit."""
    if args.url:
        host = urllib.parse.urlsplit(args.url).hostname or ""
        if host not in LOOPBACK_HOSTS and not args.allow_remote:
            raise GateError(f"{args.url} is not on the loopback interface; pass --allow-remote to load it")
        yield Target(url=args.url.rstrip("/"), description=args.url, pid=None)
        return
    with tempfile.TemporaryDirectory(prefix="loadtest-spool-") as spool:
        env = {"CREDIT_SCORING_SPOOL_DIR": spool, **_service_env(args.service_env)}
        if args.bento:
            served_target, description = args.bento, f"bento {args.bento}"
        else:
            served_target, description = SERVICE_IMPORT_PATH, f"model {args.model_tag}"
        env.setdefault("CREDIT_SCORING_BUNDLE_TAG", args.model_tag)
        service = ServedService(
            served_target, env=env, log_path=results / "service.log", ready_timeout_s=args.ready_timeout
        )
        try:
            with service:
                print(f"service {description} ready at {service.url}", flush=True)
                yield Target(url=service.url, description=description, pid=service.pid)
        except ServiceStartError as exc:
            raise GateError(f"the service did not start: {exc}") from None


def fetch_json(url: str, timeout_s: float = 10.0) -> dict[str, Any]:
    """GET ``url`` and decode its JSON body."""
    import urllib.request

    with urllib.request.urlopen(url, timeout=timeout_s) as answer:  # loopback or explicitly allowed host
        return json.loads(answer.read())


def prepare_applicants(args: argparse.Namespace, results: Path, model_tag: str) -> tuple[str, str]:
    """Path of the applicants file for Locust (empty = sample from /spec) and where they came from."""
    if args.applicants:
        return str(args.applicants.resolve()), f"file {args.applicants}"
    path = results / "applicants.json"
    for tag in dict.fromkeys([model_tag, args.model_tag]):
        try:
            count = export_reference(tag, path, args.reference_rows)
        except Exception as exc:  # no model store here, or a bundle without a reference sample
            print(f"reference sample of {tag} not available ({type(exc).__name__}); trying the next source")
            continue
        return str(path), f"{count} reference rows of {tag}"
    return "", "drawn from GET /spec quantiles (no reference sample available)"


def prepare_documents(args: argparse.Namespace, results: Path, model_tag: str) -> tuple[str, str]:
    """Path of the applicant documents file for Locust and where they came from.

    Best first: ``--applicant-documents``, the example applicants of the served bundle (or of
    ``--model-tag``) exported from the model store, the committed fallback documents.
    """
    if args.applicant_documents:
        count = len(load_documents(args.applicant_documents))
        source = f"{count} documents of file {args.applicant_documents}"
        return str(args.applicant_documents.resolve()), source
    path = results / "applicant_documents.json"
    for tag in dict.fromkeys([model_tag, args.model_tag]):
        try:
            count = export_documents(tag, path, args.reference_rows)
        except Exception as exc:  # no model store here, or a bundle without example applicants
            print(f"example applicants of {tag} not available ({type(exc).__name__}); trying the next source")
            continue
        return str(path), f"{count} example applicants of {tag}"
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


def _profile(
    args: argparse.Namespace, load: LoadSettings, applicants: str, documents: str, forms: Forms, results: Path
) -> LoadProfile:
    profile = LoadProfile(
        applicants=applicants,
        applicant_documents=documents,
        forms=",".join(forms.sent),
        user_rps=load.user_rps,
        spawn_rate=load.spawn_rate,
        timeline_out=str(results / "timeline.json"),  # every mode: the span of the load, for the CPU
    )
    if args.mode == "knee":
        profile = replace(profile, shape="step", step_users=args.steps, step_seconds=args.step_seconds)
    elif args.mode == "soak":
        profile = replace(
            profile, shape="soak", soak_users=args.soak_users, soak_seconds=args.soak_seconds,
            window_seconds=args.window_seconds,
        )  # fmt: skip
    profile.check()
    return profile


def _run_seconds(args: argparse.Namespace, profile: LoadProfile, load: LoadSettings) -> float:
    if args.mode == "knee":
        return profile.step_seconds * len(profile.steps()) + 5
    if args.mode == "soak":
        return profile.soak_seconds + 5
    return float(load.run_seconds)


def _baseline_checks(args: argparse.Namespace, lines: dict, load: LoadSettings, slo: SLO) -> list[Check]:
    if args.no_baseline:
        return [skipped("baseline", "--no-baseline")]
    baseline = read_baseline(args.baseline)
    if baseline is None:
        return [skipped("baseline", f"no accepted run at {args.baseline} (use --accept)")]
    if not load.same_offered_load(LoadSettings(**baseline.load)):
        return [skipped("baseline", "the accepted run used another load profile")]
    return check_regression(lines, baseline.lines, slo.regression)


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


def run_gate(args: argparse.Namespace) -> int:
    """Run one gate, knee or soak run and return its exit status."""
    slo = load_slo(args.slo)
    if args.record_benchmark and args.mode != "knee":
        raise GateError("--record-benchmark records the knee: use it with --mode knee")
    if args.accept and args.mode != "gate":
        raise GateError("--accept stores a gate run: use it with --mode gate")
    load = _load_settings(args, slo)
    processes = locust_processes(args)
    cpus = _cores()
    started = datetime.now(UTC)
    results = args.results or DEFAULT_RESULTS_ROOT / f"{started:%Y%m%d-%H%M%S}-{args.mode}"
    results.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        target = stack.enter_context(open_target(args, results))
        spec = fetch_json(f"{target.url}/spec")
        model_tag = str(spec.get("model_tag", ""))
        forms = choose_forms(spec)
        applicants, applicants_source = prepare_applicants(args, results, model_tag)
        if APPLICANT in forms.sent:
            documents, documents_source = prepare_documents(args, results, model_tag)
            print(f"applicant documents: {documents_source}", flush=True)
        else:
            documents, documents_source = "", f"not sent: {forms.unsent[APPLICANT]}"
            print(f"applicant scenarios NOT sent: {forms.unsent[APPLICANT]}", flush=True)
        profile = _profile(args, load, applicants, documents, forms, results)
        sampler = RssSampler(target.pid) if target.pid else None
        if sampler:
            sampler.start()
            stack.callback(sampler.stop)
        cpu = CpuSampler()
        cpu.start()
        stack.callback(cpu.stop)
        if target.pid:
            cpu.watch(SERVICE, target.pid)
        print(
            f"{args.mode} run against {target.url} with {processes} Locust process(es): results in {results}",
            flush=True,
        )
        clock = time.monotonic()
        run = run_locust(
            host=target.url,
            results=results,
            users=load.users if args.mode == "gate" else None,
            spawn_rate=load.spawn_rate,
            run_seconds=_run_seconds(args, profile, load),
            env=profile.to_env(),
            processes=processes,
            on_started=lambda pid: cpu.watch(GENERATOR, pid),
        )
        elapsed = time.monotonic() - clock
    if not run.stats_csv.is_file():
        raise GateError(f"Locust wrote no statistics (exit {run.exit_code}); see {run.log}")
    lines = read_stats_csv(run.stats_csv)
    timeline = Path(profile.timeline_out)
    windows: list[dict[str, Any]] = json.loads(timeline.read_text()) if timeline.is_file() else []
    span = request_span(windows) or _sampled_span(cpu)
    summary: dict[str, Any] = {
        "format": SUMMARY_FORMAT,
        "mode": args.mode,
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "elapsed_s": round(elapsed, 1),
        "target": target.description,
        "url": target.url,
        "model_tag": model_tag,
        "service_env": " ".join(args.service_env),
        "slo_file": str(args.slo),
        "slo_version": slo.version,
        "load": asdict(load),
        "profile": asdict(profile),
        "applicants": applicants_source,
        "applicant_documents": documents_source,
        "forms": forms.to_json(),
        "scenarios": scenario_weights(forms.sent),
        "locust_version": _locust_version(),
        "locust_exit_code": run.exit_code,
        "locust_processes": processes,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(terse=True)},
        "lines": {name: line_to_json(line) for name, line in lines.items()},
        "failures": read_failures_csv(run.failures_csv),
        "memory": sampler.report() if sampler else None,
        "cpu": {
            "cpus": cpus,
            "generator_cores": generator_cores(processes, cpus),
            "interval_s": cpu.interval_s,
            "span_s": round(span[1] - span[0], 1) if span else None,
            **(span_cpu(cpu, *span, cpus) if span else {GENERATOR: None, SERVICE: None, "machine": None}),
        },
    }
    checks: list[Check]
    if args.mode == "gate":
        same_load = load.same_offered_load(slo.load)
        checks = check_slo(lines, slo, with_throughput=same_load, unsent=forms.unsent_scenarios())
        if not same_load:
            checks.append(skipped("slo", "min_rps limits hold only under the SLO file's load"))
        checks += _baseline_checks(args, lines, load, slo)
    elif args.mode == "knee":
        steps: list[Step] = [
            with_cpu(judge_step(window, slo, profile.user_rps), window, cpu, processes, cpus)
            for window in windows
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
            Check("knee", slo.knee_line, "rps", knee.rps if knee else None, None, "pass" if knee else FAIL,
                  detail)
        ]  # fmt: skip
        unsent = forms.unsent_scenarios()
        checks += [not_sent(name, unsent[name]) for name in slo.scenarios if name in unsent]
    else:
        for window in windows:
            if window.get("start_epoch") is not None:
                window["cpu"] = span_cpu(cpu, window["start_epoch"], window["end_epoch"], cpus)
        summary["windows"] = windows
        summary["p95_slope_ms_per_hour"] = p95_slope_ms_per_hour(windows)
        checks = check_slo(lines, slo, with_throughput=False, unsent=forms.unsent_scenarios())
        checks += check_soak(windows, sampler.samples if sampler else [], profile.window_seconds, slo.soak)
    if args.mode != "knee":
        summary["bottleneck"] = run_verdict(use_of(summary["cpu"]), lines.get("Aggregated"), processes, cpus)
    summary["checks"] = [check.to_json() for check in checks]
    summary["breaches"] = [check.label for check in breaches(checks)]
    summary["passed"] = not summary["breaches"]
    (results / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    if sampler is not None:
        sampler.write_csv(results / "memory.csv")
    cpu.write_csv(results / "cpu.csv")

    print(render_table(checks))
    print()
    if args.mode == "knee":
        print(render_steps(summary["steps"]))
    print(render_cpu(summary["cpu"], processes, cpus))
    if args.mode == "knee" and summary["knee"]:
        knee_step = summary["knee"]
        print(
            f"knee: {knee_step['rps']:.1f} req/s at {knee_step['users']} users, "
            f"p99 {_ms(knee_step['p99_ms'])} ms"
        )
    print(f"bottleneck: {summary['bottleneck']['verdict']}")
    if args.record_benchmark:
        record_section(args.record_benchmark, knee_section(summary, args.benchmark_note))
        print(f"recorded the knee in {args.record_benchmark}")
    if summary["breaches"]:
        print(f"GATE FAILED: {len(summary['breaches'])} breach(es): {'; '.join(summary['breaches'])}")
        print(f"results: {results}")
        return EXIT_BREACH
    if args.accept:
        write_baseline(
            args.baseline,
            Baseline(
                accepted_at=summary["finished_at"],
                slo_version=slo.version,
                load=asdict(load),
                target=target.description,
                model_tag=model_tag,
                lines=lines,
            ),
        )
        print(f"accepted as the new baseline: {args.baseline}")
    print(f"GATE PASSED ({args.mode}); results: {results}")
    return EXIT_PASS


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return run_gate(args)
    except (GateError, SLOError, OSError, ValueError) as exc:
        print(f"gate error: {exc}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
