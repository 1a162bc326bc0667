"""Command line of the release tooling: ``python -m deploy {render,release,verify,status,local}``."""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path
from typing import Any

from deploy.smoke import DEFAULT_BODY

DESCRIPTION = """\
Release tooling of the credit-scoring chart (helm/credit-scoring),
on Helm's Go SDK and the kubernetes client.

  render   render the chart offline (like `helm template`), values checked against values.schema.json
  release  bentoml build -> load-test gate -> [containerize] -> upgrade --install -> verify -> roll back
  verify   bounded wait for the rollout, HPA present, smoke POST /score through the API server's service proxy
  status   the Helm release, the Deployment's rollout state and the HPA
  local    the whole system on this machine: service + drift sidecar + Prometheus with the chart's alerts

Cluster access: --kubeconfig/--context, else KUBECONFIG or ~/.kube/config,
else the in-cluster service account.
"""


def _add_values(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-f", "--values", action="append", type=Path, default=[], help="values file (repeatable)"
    )
    parser.add_argument("--set", action="append", default=[], help="value override key=value (repeatable)")


def _add_cluster(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--kubeconfig", default=None, help="kubeconfig file [default: KUBECONFIG, ~/.kube/config]"
    )
    parser.add_argument("--context", default=None, help="kubeconfig context [default: the current one]")
    parser.add_argument("--namespace", "-n", default="default", help="namespace of the release [default]")
    parser.add_argument("--release", default="credit-scoring", help="Helm release name [credit-scoring]")


def _add_verify(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout", type=float, default=300.0, help="longest wait for the rollout, s [300]")
    parser.add_argument(
        "--poll", type=float, default=2.0, help="seconds between two reads of the Deployment [2]"
    )
    parser.add_argument("--port", type=int, default=3000, help="Service port of the API [3000]")
    parser.add_argument("--no-hpa", action="store_true", help="do not require an HPA (autoscaling off)")
    parser.add_argument(
        "--smoke-body", default=DEFAULT_BODY, help="JSON posted to /score [one empty applicant]"
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``deploy`` argument parser and its four sub-commands."""
    parser = argparse.ArgumentParser(
        prog="python -m deploy", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="{render,release,verify,status,local}"
    )

    render = commands.add_parser("render", help="render the chart offline")
    _add_values(render)
    render.add_argument("--namespace", "-n", default="default", help="namespace to render for [default]")
    render.add_argument("--release", default="credit-scoring", help="release name [credit-scoring]")
    render.add_argument("--output", "-o", type=Path, default=None, help="write the YAML here [stdout]")

    release = commands.add_parser(
        "release", help="build, load-test gate, upgrade --install, verify, roll back on failure"
    )
    _add_values(release)
    _add_cluster(release)
    _add_verify(release)
    release.add_argument(
        "--image", default=None, help="image repository:tag to deploy (and to containerize as)"
    )
    release.add_argument("--skip-build", action="store_true", help="deploy an image that already exists")
    release.add_argument(
        "--bento",
        default=None,
        metavar="TAG",
        help="with --skip-build: the Bento the image was built from (the gate serves it) [the one built]",
    )
    gate = release.add_argument_group(
        "load-test gate (python -m loadtests.gate, must pass before anything is packaged or deployed)"
    )
    gate.add_argument(
        "--gate-url",
        default=None,
        help="load-test the new release running here (e.g. a staging Service) instead of serving the "
        "Bento locally with bentoml serve",
    )
    gate.add_argument(
        "--gate-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra gate argument, e.g. --gate-arg=--run-time=60 (repeatable)",
    )
    gate.add_argument(
        "--gate-results", type=Path, default=None, help="gate results folder [artifacts/loadtests/...]"
    )
    gate.add_argument(
        "--no-gate", action="store_true", help="release without the load-test gate (said in the log)"
    )
    release.add_argument("--helm-timeout", type=int, default=300, help="seconds Helm may take to apply [300]")

    verify = commands.add_parser("verify", help="check the rollout, the HPA and /score")
    _add_cluster(verify)
    _add_verify(verify)
    verify.add_argument("--name", default=None, help="Deployment/Service name [the chart's fullname]")

    status = commands.add_parser("status", help="show the release, rollout and HPA")
    _add_cluster(status)
    status.add_argument("--name", default=None, help="Deployment/HPA name [the chart's fullname]")

    _add_local(commands)
    return parser


def _add_local(commands: argparse._SubParsersAction) -> None:
    from deploy.local_stack import (
        DEFAULT_API_PORT,
        DEFAULT_MONITOR_PORT,
        DEFAULT_PERFORMANCE_PORT,
        DEFAULT_PROMETHEUS_PORT,
    )

    local = commands.add_parser(
        "local",
        help="run the service, drift sidecar, performance job and Prometheus on loopback until Ctrl-C",
        description="Start the scoring service and the drift sidecar sharing a spool directory, the "
        "performance job reading the decision store the sidecar writes and, when a prometheus binary is "
        "present, a Prometheus scraping them like the chart's ServiceMonitor with the chart's alert rules "
        "file; print the URLs; Ctrl-C stops everything. "
        f"Ports on 127.0.0.1: the API on {DEFAULT_API_PORT} (BentoML's default), the sidecar's /metrics "
        f"on {DEFAULT_MONITOR_PORT} (the chart's monitor.port), the performance job's on "
        f"{DEFAULT_PERFORMANCE_PORT}, Prometheus on {DEFAULT_PROMETHEUS_PORT}. "
        "When one of these defaults is busy, that process gets a free port instead and one line says so; "
        "the printed URLs and stack.json show the ports used. A port given explicitly must be free, or "
        "nothing starts (exit 2); 0 picks any free port.",
    )
    local.add_argument(
        "--stack-dir",
        type=Path,
        default=Path("artifacts/stack"),
        help="folder for the spool, Prometheus data, logs and stack.json [artifacts/stack]",
    )
    local.add_argument("--spool-dir", type=Path, default=None, help="payload spool [<stack-dir>/spool]")
    local.add_argument(
        "--model-tag",
        default="credit_scorer:latest",
        help="model to serve and monitor [credit_scorer:latest]",
    )
    explicit = "an explicit PORT must be free; 0 picks any free port"
    local.add_argument(
        "--api-port",
        type=int,
        default=None,
        metavar="PORT",
        help=f"port of the scoring service; {explicit} [{DEFAULT_API_PORT}, or a free one when it is busy]",
    )
    local.add_argument(
        "--monitor-port",
        type=int,
        default=None,
        metavar="PORT",
        help=f"port of the drift sidecar's /metrics; {explicit} "
        f"[{DEFAULT_MONITOR_PORT}, or a free one when it is busy]",
    )
    local.add_argument(
        "--prometheus-port",
        type=int,
        default=None,
        metavar="PORT",
        help=f"port of Prometheus; {explicit} [{DEFAULT_PROMETHEUS_PORT}, or a free one when it is busy]",
    )
    local.add_argument(
        "--performance-port",
        type=int,
        default=None,
        metavar="PORT",
        help=f"port of the performance job's /metrics; {explicit} "
        f"[{DEFAULT_PERFORMANCE_PORT}, or a free one when it is busy]",
    )
    local.add_argument(
        "--performance-interval",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="seconds between two computations of realized performance [10]",
    )
    local.add_argument(
        "--prometheus-binary", default=None, help="prometheus executable [the one on PATH, if any]"
    )
    local.add_argument("--no-prometheus", action="store_true", help="do not start Prometheus")
    local.add_argument(
        "--scrape-interval",
        type=float,
        default=5.0,
        help="Prometheus scrape and rule-evaluation interval in seconds [5]",
    )
    local.add_argument(
        "--monitor-option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra drift-sidecar option, e.g. window-records=2000 (repeatable; see "
        "`python -m monitoring serve --help`)",
    )
    local.add_argument(
        "--alert-for",
        action="append",
        default=[],
        metavar="ALERT=DURATION",
        help="change the `for` of a chart alert, e.g. CreditScoringDatasetDrift=1m, to watch it fire in a "
        "demo (repeatable; the chart's value metrics.prometheusRule.alertFor) [the rules file's]",
    )
    local.add_argument(
        "--fresh",
        action="store_true",
        help="delete the spool, sidecar checkpoint and Prometheus data of a previous run first",
    )
    local.add_argument(
        "--ready-timeout", type=float, default=300.0, help="longest wait for readiness, s [300]"
    )
    local.add_argument(
        "--stop-grace", type=float, default=20.0, help="seconds between SIGTERM and SIGKILL on stop [20]"
    )
    local.add_argument(
        "--max-restarts",
        type=int,
        default=3,
        help="restarts of a process that exits unexpectedly before everything stops [3]",
    )


def fullname(release: str, chart: str = "credit-scoring") -> str:
    """The chart's object name for ``release`` (same rule as the chart's fullname helper)."""
    return (release if chart in release else f"{release}-{chart}")[:63].rstrip("-")


def _split_image(image: str) -> dict[str, Any]:
    if "@" in image:
        repository, digest = image.split("@", 1)
        return {"image": {"repository": repository, "digest": digest}}
    repository, _, tag = image.rpartition(":")
    if not repository or "/" in tag:
        return {"image": {"repository": image}}
    return {"image": {"repository": repository, "tag": tag}}


def _render(args: argparse.Namespace) -> int:
    from helm_python import HelmError

    from deploy.chart import load_values, render

    try:
        rendered = render(load_values(args.values, args.set), release=args.release, namespace=args.namespace)
    except HelmError as exc:
        print(f"the chart refused these values: {exc}", file=sys.stderr)
        return 2
    text = rendered.to_yaml()
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text)
        print(f"wrote {len(rendered.objects)} objects to {args.output}", file=sys.stderr)
    return 0


def _verify_options(args: argparse.Namespace, values: dict[str, Any] | None = None) -> Any:
    from deploy.verify import VerifyOptions

    autoscaling = (values or {}).get("autoscaling", {}).get("enabled", True)
    return VerifyOptions(
        name=getattr(args, "name", None) or fullname(args.release),
        namespace=args.namespace,
        port=args.port,
        timeout_s=args.timeout,
        poll_s=args.poll,
        expect_hpa=not args.no_hpa and autoscaling is not False,
        smoke_body=args.smoke_body,
    )


def _verify(args: argparse.Namespace) -> int:
    from deploy.kube import api_client
    from deploy.verify import verify

    report = verify(api_client(args.kubeconfig, args.context), _verify_options(args))
    for failure in report.failures():
        print(f"FAILED {failure}", file=sys.stderr)
    return 0 if report.ok else 1


def _release(args: argparse.Namespace) -> int:
    from deploy import build
    from deploy.chart import deep_merge, load_values
    from deploy.gate import NothingToGateError, gate_argv, run_gate
    from deploy.helm_release import HelmSdkReleaser
    from deploy.kube import api_client
    from deploy.release import ReleasePlan, release
    from deploy.verify import verify

    values = load_values(args.values, args.set)
    bento: str | None = args.bento
    package = None
    if not args.skip_build:
        bento = build.build_bento()
        if build.docker_available():
            image = args.image or f"credit-scoring:{bento.split(':', 1)[1]}"
            package = functools.partial(build.containerize, bento, image)
            args.image = image
        else:
            print(
                "no Docker engine here: Bento built but not containerized; run `bentoml containerize "
                f"{bento}` where Docker exists and pass --image --skip-build --bento {bento}",
                file=sys.stderr,
            )
            if args.image is None:
                return 2
    gate: list[str] | None = None
    if args.no_gate:
        print("release without the load-test gate (--no-gate)", file=sys.stderr)
    else:
        try:
            gate = gate_argv(bento, args.gate_url, args.gate_arg, args.gate_results)
        except NothingToGateError as exc:
            print(exc, file=sys.stderr)
            return 2
    if args.image:
        values = deep_merge(values, _split_image(args.image))
    plan = ReleasePlan(
        release=args.release,
        namespace=args.namespace,
        values=values,
        verify=_verify_options(args, values),
        helm_timeout_s=args.helm_timeout,
        gate_argv=gate,
    )
    client = api_client(args.kubeconfig, args.context)
    outcome = release(
        plan,
        HelmSdkReleaser(kubeconfig=args.kubeconfig, context=args.context),
        run_verify=lambda options: verify(client, options),
        run_gate=run_gate,
        package=package,
    )
    return 0 if outcome.ok else 1


def _status(args: argparse.Namespace) -> int:
    from kubernetes import client

    from deploy.helm_release import HelmSdkReleaser
    from deploy.kube import api_client
    from deploy.rollout import hpa_present, read_status

    name = args.name or fullname(args.release)
    try:
        summary = HelmSdkReleaser(args.kubeconfig, args.context).status(args.release, args.namespace)
        info = summary.get("info", {}) if isinstance(summary.get("info"), dict) else {}
        print(f"release {args.release}: revision {summary.get('version')}, status {info.get('status', '?')}")
    except Exception as exc:
        print(f"release {args.release}: {exc}")
    api = api_client(args.kubeconfig, args.context)
    print(f"deployment {name}: {read_status(client.AppsV1Api(api), name, args.namespace).describe()}")
    _, detail = hpa_present(client.AutoscalingV2Api(api), name, args.namespace)
    print(f"hpa {name}: {detail}")
    return 0


def _local(args: argparse.Namespace) -> int:
    from deploy.local_stack import StackConfig, run

    options: dict[str, str] = {}
    for item in args.monitor_option:
        name, sep, value = item.partition("=")
        if not sep or not name:
            print(f"--monitor-option expects NAME=VALUE, got {item!r}", file=sys.stderr)
            return 2
        options[name.strip().lstrip("-")] = value
    alert_for: dict[str, str] = {}
    for item in args.alert_for:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            print(f"--alert-for expects ALERT=DURATION, got {item!r}", file=sys.stderr)
            return 2
        alert_for[name.strip()] = value.strip()
    config = StackConfig(
        stack_dir=args.stack_dir,
        spool_dir=args.spool_dir,
        model_tag=args.model_tag,
        api_port=args.api_port,
        monitor_port=args.monitor_port,
        prometheus_port=args.prometheus_port,
        performance_port=args.performance_port,
        performance_interval_seconds=args.performance_interval,
        prometheus_binary=args.prometheus_binary,
        prometheus=not args.no_prometheus,
        scrape_interval_seconds=args.scrape_interval,
        alert_for=alert_for,
        monitor_options=options,
        fresh=args.fresh,
        ready_timeout_seconds=args.ready_timeout,
        stop_grace_seconds=args.stop_grace,
        max_restarts=args.max_restarts,
    )
    return run(config, log=lambda line: print(line, flush=True))


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = build_parser().parse_args(argv)
    handlers = {"render": _render, "release": _release, "verify": _verify, "status": _status, "local": _local}
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
