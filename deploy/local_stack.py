"""The whole system on one machine: ``python -m deploy local``.

Starts, on loopback, what a pod and its monitoring run in a cluster: the scoring service (``bentoml serve``)
and the drift sidecar (``python -m monitoring serve``) sharing a spool directory, the performance job
(``python -m monitoring performance``) reading the decision store the sidecar writes (a SQLite file next to
the sidecar's checkpoint unless another store is configured), and, when a ``prometheus`` binary exists, a
Prometheus that scrapes the service and the sidecar the way the chart's ServiceMonitor does, the
performance job too, and loads the chart's own alert rules file (``rule_files`` points at it; nothing is
copied). Only when asked to change the ``for`` of some alerts (``--alert-for``) does it load, instead, the
chart's PrometheusRule rendered by Helm with ``metrics.prometheusRule.alertFor`` set, exactly what a cluster
would get with that value; the banner says so. Then it supervises them: a child that dies is restarted (as
the kubelet would restart a container), and Ctrl-C or SIGTERM stops them all.

Every child runs in its own session and process group, so a Ctrl-C in the terminal reaches only this
launcher, which then stops each child in turn, with its process group and every process it started
(:mod:`deploy.processes`): SIGTERM, and SIGKILL after a grace period. The state of the stack (ports, URLs,
process ids, restarts) is kept in ``<stack dir>/stack.json`` for tools and tests.

Ports (:func:`choose_ports`): by default the scoring API listens on 3000 (BentoML's default, the chart's
``scoring.containerPort``, the port of the README's ``curl localhost:3000`` examples), the sidecar's
``/metrics`` on 9108 (the chart's ``monitor.port``, also ``python -m monitoring serve``'s default), the
performance job's on 9110 (``python -m monitoring performance``'s default) and Prometheus on 9090 (its own
default). When one of these defaults is busy, that process gets a free port
instead and one line says so; a port asked for explicitly must be free, or the stack does not start; 0 asks
for any free port. The banner and ``stack.json`` show the ports actually used.

This module imports nothing from the other packages: it only starts processes and reads the chart.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploy.bento_server import LOOPBACK, SERVICE_IMPORT_PATH, free_port, http_status, serve_argv
from deploy.chart import CHART_DIR
from deploy.processes import Child

REPO_ROOT = CHART_DIR.parents[1]
"""Repository root: working directory of the service and the sidecar."""

RULES_FILE = CHART_DIR / "rules" / "credit-scoring.rules.yaml"
"""The chart's alert rules, loaded as they are by the local Prometheus."""

SERVICE_CONTAINER = "scoring"
"""Name of the chart's container that runs the Bento (the local ``bentoml serve``)."""

SIDECAR_CONTAINER = "drift-monitor"
"""Name of the chart's container that runs the drift sidecar (the local ``python -m monitoring serve``)."""

LOCAL_NAMESPACE = "local"
"""Value of the ``namespace`` label the local Prometheus adds, as the Prometheus Operator would."""

PROMETHEUS_HINT = (
    "prometheus not found: the stack runs without it; get it with `sudo apt-get install prometheus` "
    "(Debian; `bash scripts/system-packages.sh` does it as root) or from https://prometheus.io/download/"
)
"""The one line printed when no Prometheus binary is available."""

DEFAULT_API_PORT = 3000
"""Port of the scoring service unless another is asked for: BentoML's default (``bentoml serve``), the chart's
``scoring.containerPort`` and Service port, and the port of the README's ``curl localhost:3000`` examples."""

DEFAULT_MONITOR_PORT = 9108
"""Port of the drift sidecar's ``/metrics`` unless another is asked for: the chart's ``monitor.port`` (the
``monitor-metrics`` port of its ``drift-monitor`` container) and ``python -m monitoring serve``'s default."""

DEFAULT_PROMETHEUS_PORT = 9090
"""Port of the local Prometheus unless another is asked for: Prometheus's own default."""

DEFAULT_PERFORMANCE_PORT = 9110
"""Port of the performance job's ``/metrics`` unless another is asked for: ``python -m monitoring
performance``'s default."""

DEFAULT_PORTS: dict[str, int] = {
    "api": DEFAULT_API_PORT,
    "monitor": DEFAULT_MONITOR_PORT,
    "performance": DEFAULT_PERFORMANCE_PORT,
    "prometheus": DEFAULT_PROMETHEUS_PORT,
}
"""Default port of each process of the stack, by role (``api``, ``monitor``, ``performance``,
``prometheus``)."""

PORT_OPTIONS: dict[str, str] = {
    "api": "--api-port",
    "monitor": "--monitor-port",
    "performance": "--performance-port",
    "prometheus": "--prometheus-port",
}
"""Command-line option of ``python -m deploy local`` that sets the port of each role."""

ROLE_NAMES: dict[str, str] = {
    "api": "the scoring API",
    "monitor": "the drift sidecar",
    "performance": "the performance job",
    "prometheus": "Prometheus",
}
"""How messages name the process playing each role."""

PERFORMANCE_JOB = "credit-scoring-performance"
"""``job`` and ``service`` label of the performance job's series in the local Prometheus."""

DECISION_STORE_VARIABLE = "CREDIT_SCORING_MONITOR_DECISION_STORE_URL"
"""The sidecar's setting of the decision store URL, read by the performance job as well."""


@dataclass
class StackConfig:
    """Settings of the local stack."""

    stack_dir: Path = Path("artifacts/stack")
    """Folder of everything the stack writes: spool, Prometheus config and data, logs, ``stack.json``."""
    spool_dir: Path | None = None
    """Payload spool shared by the service and the sidecar; default ``<stack_dir>/spool``."""
    model_tag: str = "credit_scorer:latest"
    """Model served and monitored (``latest`` is resolved once, so both processes use the same version)."""
    api_port: int | None = None
    """Port of the scoring service: ``None`` for :data:`DEFAULT_API_PORT`, or a free one when it is busy; 0
    for any free port; any other port must be free (see :func:`choose_ports`)."""
    monitor_port: int | None = None
    """Port of the sidecar's ``/metrics``: ``None`` for :data:`DEFAULT_MONITOR_PORT`, or a free one when it
    is busy; 0 for any free port; any other port must be free."""
    prometheus_port: int | None = None
    """Port of Prometheus: ``None`` for :data:`DEFAULT_PROMETHEUS_PORT`, or a free one when it is busy; 0
    for any free port; any other port must be free."""
    performance_port: int | None = None
    """Port of the performance job's ``/metrics``: ``None`` for :data:`DEFAULT_PERFORMANCE_PORT`, or a free
    one when it is busy; 0 for any free port; any other port must be free."""
    performance_interval_seconds: float = 10.0
    """Seconds between two computations of the performance job (its own default, 300, suits a cluster;
    a demo wants outcomes to show within a scrape or two)."""
    prometheus_binary: str | None = None
    """Path of the ``prometheus`` executable; default: found on ``PATH``."""
    prometheus: bool = True
    """Start Prometheus when its binary exists."""
    scrape_interval_seconds: float = 5.0
    """Scrape and rule-evaluation interval of the local Prometheus (the chart's default is 30 s)."""
    alert_for: dict[str, str] = field(default_factory=dict)
    """``for`` of chart alerts by name (the chart's ``metrics.prometheusRule.alertFor``), e.g. to see a drift
    alert fire in a demo without waiting 15 minutes; empty loads the chart's rules file as it is."""
    monitor_options: dict[str, str] = field(default_factory=dict)
    """Extra sidecar options by flag name without dashes (``window-records`` -> ``--window-records``)."""
    fresh: bool = False
    """Delete the spool, the sidecar's checkpoint and Prometheus's data of a previous run first."""
    ready_timeout_seconds: float = 300.0
    """Longest wait for every process to become ready."""
    stop_grace_seconds: float = 20.0
    """Time a process group gets to exit after SIGTERM before it is sent SIGKILL."""
    max_restarts: int = 3
    """Restarts of one process after unexpected exits before the whole stack is stopped."""
    python: str = sys.executable
    """Interpreter that runs the sidecar (and BentoML when its script is not next to it)."""

    @property
    def spool(self) -> Path:
        """The spool directory actually used."""
        return (self.spool_dir or self.stack_dir / "spool").resolve()


def port_in_use(port: int) -> bool:
    """Whether something holds ``port`` on the loopback interface, so that a server could not listen there.

    The probe sets ``SO_REUSEADDR`` like the servers of the stack do (BentoML, ``http.server``, Prometheus),
    so connections of a previous run still in ``TIME_WAIT`` do not count as busy; a listening socket does.
    """
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return True
        return False


@dataclass(frozen=True)
class ChosenPorts:
    """The ports :func:`choose_ports` picked, and what it has to tell the user about them."""

    ports: dict[str, int]
    """Port of each role, all different."""
    notices: list[str]
    """One line per default port that was busy, naming the port used instead."""


def choose_ports(
    requested: Mapping[str, int | None], defaults: Mapping[str, int] = DEFAULT_PORTS
) -> ChosenPorts:
    """Pick the port of each role in ``requested`` (``api``, ``monitor``, ``prometheus``) on the loopback.

    ``None`` asks for the role's port in ``defaults``; when that one is busy (or another role was given it
    explicitly) a free port is used instead, and a notice says so. ``0`` asks for any free port, silently.
    Any other port is taken as asked: it must be free. Raises ``OSError`` naming the port and its option
    when an explicitly requested port is in use, and ``ValueError`` when a port is out of range or asked for
    two roles. Ports asked for explicitly are reserved first, then defaults, then free ports (never one of
    ``defaults``), so that the result holds no port twice.
    """
    for role, port in requested.items():
        if port is not None and not 0 <= port <= 65535:
            raise ValueError(f"{PORT_OPTIONS.get(role, role)} {port}: a port is between 0 and 65535")
    ports: dict[str, int] = {}
    for role, port in requested.items():
        if not port:
            continue
        option = PORT_OPTIONS.get(role, role)
        other = next((r for r, p in ports.items() if p == port), None)
        if other is not None:
            raise ValueError(
                f"{PORT_OPTIONS.get(other, other)} and {option} both ask for port {port}; "
                "each process needs its own"
            )
        if port_in_use(port):
            raise OSError(
                f"port {port} on {LOOPBACK} is in use ({option} {port}); stop what listens there or pass "
                f"another port ({option} 0 picks any free one)"
            )
        ports[role] = port
    pending: dict[str, str | None] = {}  # role -> why its default could not be used (None: 0 was asked)
    for role, port in requested.items():
        if port == 0:
            pending[role] = None
        elif port is None:
            default = defaults[role]
            holder = next((r for r, p in ports.items() if p == default), None)
            if holder is not None:
                pending[role] = f"is taken by {PORT_OPTIONS.get(holder, holder)}"
            elif port_in_use(default):
                pending[role] = "is busy"
            else:
                ports[role] = default
    notices: list[str] = []
    for role, why in pending.items():
        port = free_port()
        while port in ports.values() or port in defaults.values():
            port = free_port()
        ports[role] = port
        if why is not None:
            notices.append(
                f"port {defaults[role]} {why}; {ROLE_NAMES.get(role, role)} listens on {LOOPBACK}:{port} "
                f"instead (choose one with {PORT_OPTIONS.get(role, role)})"
            )
    return ChosenPorts({role: ports[role] for role in requested}, notices)


def bentoml_home() -> Path:
    """The BentoML home the service will use (``BENTOML_HOME``, default ``~/bentoml``)."""
    return Path(os.environ.get("BENTOML_HOME") or Path.home() / "bentoml")


def resolve_model_tag(tag: str) -> str | None:
    """``name:version`` for ``tag`` from the BentoML model store, or ``None`` when it is not registered.

    ``name:latest`` reads the store's ``latest`` pointer file (the store layout of BentoML 1.x).
    """
    name, _, version = tag.partition(":")
    models = bentoml_home() / "models" / name
    if version in ("", "latest"):
        pointer = models / "latest"
        if not pointer.is_file():
            return None
        version = pointer.read_text().strip()
    return f"{name}:{version}" if (models / version).is_dir() else None


def scrape_targets(api_port: int, monitor_port: int) -> list[dict[str, Any]]:
    """Prometheus ``static_configs`` equivalent to the chart's ServiceMonitor, pointed at local ports.

    The chart is rendered with Helm's engine; each ServiceMonitor endpoint (port name, path) is matched to
    the container exposing that port name, and the local process standing for that container. Labels are
    the ones the Prometheus Operator sets (``job`` = Service name, ``namespace``, ``service``, ``endpoint``,
    ``container``, ``pod``), so the chart's alerts and dashboards read the same series as in a cluster.
    """
    from deploy.chart import render

    objects = render({}, release="credit-scoring", namespace=LOCAL_NAMESPACE).objects
    monitor = next(o for o in objects if o["kind"] == "ServiceMonitor")
    service_name = monitor["metadata"]["name"]  # the chart names its Service and ServiceMonitor alike
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    container_of_port = {
        port["name"]: container["name"]
        for container in deployment["spec"]["template"]["spec"]["containers"]
        for port in container.get("ports", [])
    }
    local_port = {SERVICE_CONTAINER: api_port, SIDECAR_CONTAINER: monitor_port}
    targets = []
    for endpoint in monitor["spec"]["endpoints"]:
        container = container_of_port[endpoint["port"]]
        targets.append(
            {
                "path": endpoint.get("path", "/metrics"),
                "target": f"{LOOPBACK}:{local_port[container]}",
                "labels": {
                    "job": service_name,
                    "namespace": LOCAL_NAMESPACE,
                    "service": service_name,
                    "endpoint": endpoint["port"],
                    "container": container,
                    "pod": f"{service_name}-local",
                },
            }
        )
    return targets


def performance_target(port: int) -> dict[str, Any]:
    """The scrape target of the performance job, labelled like the sidecar's targets
    (:func:`scrape_targets`) but with a ``job``/``service`` of its own (:data:`PERFORMANCE_JOB`)."""
    return {
        "path": "/metrics",
        "target": f"{LOOPBACK}:{port}",
        "labels": {
            "job": PERFORMANCE_JOB,
            "namespace": LOCAL_NAMESPACE,
            "service": PERFORMANCE_JOB,
            "endpoint": "perf-metrics",  # the port name the chart's ServiceMonitor scrapes
            "container": "performance",
            "pod": f"{PERFORMANCE_JOB}-local",
        },
    }


def rules_for_prometheus(alert_for: dict[str, str], directory: Path) -> Path:
    """The rules file the local Prometheus loads.

    Without ``alert_for`` it is the chart's own file. Otherwise the chart is rendered with
    ``metrics.prometheusRule.alertFor`` = ``alert_for`` (so the chart's schema and its check of alert names
    apply) and the groups of its PrometheusRule are written to ``directory/rules.yaml``. Raises
    ``ValueError`` naming the problem when the chart refuses ``alert_for`` (unknown alert, bad duration).
    """
    if not alert_for:
        return RULES_FILE.resolve()
    import yaml
    from helm_python import HelmError

    from deploy.chart import render

    values = {"metrics": {"prometheusRule": {"alertFor": dict(alert_for)}}}
    try:
        rendered = render(values, release="credit-scoring", namespace=LOCAL_NAMESPACE)
    except HelmError as exc:
        raise ValueError(f"--alert-for {alert_for}: {exc}") from exc
    (rule,) = rendered.find("PrometheusRule")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "rules.yaml"
    changed = ", ".join(f"{name} for {duration}" for name, duration in sorted(alert_for.items()))
    header = (
        "# Written by `python -m deploy local`: the chart's PrometheusRule rendered with\n"
        f"# metrics.prometheusRule.alertFor ({changed}). Edit the chart's rules file, not this one.\n"
    )
    path.write_text(header + yaml.safe_dump({"groups": rule["spec"]["groups"]}, sort_keys=False))
    return path.resolve()


def prometheus_config(targets: list[dict[str, Any]], interval_seconds: float, rules_file: Path) -> str:
    """The local Prometheus configuration: the endpoints of :func:`scrape_targets`, the chart's rules file."""
    import yaml

    interval = f"{interval_seconds:g}s"
    config = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval, "scrape_timeout": interval},
        "rule_files": [str(rules_file)],
        "scrape_configs": [
            {
                "job_name": "credit-scoring-local",
                "static_configs": [
                    {"targets": [t["target"]], "labels": {**t["labels"], "__metrics_path__": t["path"]}}
                    for t in targets
                ],
            }
        ],
    }
    header = (
        "# Written by `python -m deploy local`: the chart's ServiceMonitor endpoints and its rules file.\n"
    )
    return header + yaml.safe_dump(config, sort_keys=False)


class LocalStack:
    """The service, the sidecar and Prometheus on loopback, supervised until stopped."""

    def __init__(self, config: StackConfig, log: Callable[[str], None] = print) -> None:
        self.config = config
        self.log = log
        self.stack_dir = config.stack_dir.resolve()
        self.children: list[Child] = []
        self.model_tag = config.model_tag
        self.ports: dict[str, int] = {}
        self.ready = False
        self._stopping = False
        self.rules_file = RULES_FILE.resolve()
        """Alert rules loaded by the local Prometheus (see :func:`rules_for_prometheus`)."""

    # -- setup -------------------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Resolve the model, pick ports, write the Prometheus config, build the children's commands.

        Ports come from :func:`choose_ports`; each busy default it replaced is told in one line.
        """
        c = self.config
        resolved = resolve_model_tag(c.model_tag)
        if resolved is None:
            raise LookupError(
                f"no model {c.model_tag} in the BentoML model store {bentoml_home()}; "
                "train one first: .venv/bin/python -m training run"
            )
        self.model_tag = resolved
        if c.fresh:
            for stale in (c.spool, self.stack_dir / "prometheus" / "data"):
                shutil.rmtree(stale, ignore_errors=True)
        c.spool.mkdir(parents=True, exist_ok=True)
        (self.stack_dir / "logs").mkdir(parents=True, exist_ok=True)
        prometheus = self._prometheus_binary()
        wanted = {"api": c.api_port, "monitor": c.monitor_port}
        if self.store_url is not None:
            wanted["performance"] = c.performance_port
            if self.store_url.startswith("sqlite:///"):
                Path(self.store_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        if prometheus is not None:
            wanted["prometheus"] = c.prometheus_port
        chosen = choose_ports(wanted, DEFAULT_PORTS)
        self.ports = chosen.ports
        for notice in chosen.notices:
            self.log(notice)
        self.children = [self._service(), self._sidecar()]
        if self.store_url is not None:
            self.children.append(self._performance_job(self.store_url))
        else:
            self.log("the decision store is off (decision-store-url none): no performance job")
        if prometheus is not None:
            self.children.append(self._prometheus(prometheus))
        else:
            self.log(PROMETHEUS_HINT)

    def _prometheus_binary(self) -> str | None:
        if not self.config.prometheus:
            return None
        return self.config.prometheus_binary or shutil.which("prometheus")

    def _base_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.setdefault("BENTOML_DO_NOT_TRACK", "True")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
        return env

    def _service(self) -> Child:
        env = self._base_env()
        env["CREDIT_SCORING_SPOOL_DIR"] = str(self.config.spool)
        env["CREDIT_SCORING_BUNDLE_TAG"] = self.model_tag
        argv = serve_argv(SERVICE_IMPORT_PATH, self.ports["api"], python=self.config.python)
        log = self.stack_dir / "logs" / "service.log"
        return Child("service", argv, env, REPO_ROOT, log, self.url("api", "/readyz"))

    def sidecar_arguments(self) -> list[str]:
        """Options shared by ``monitoring serve`` and ``monitoring report``: spool, model, extra options."""
        args = ["--spool-dir", str(self.config.spool), "--model-tag", self.model_tag]
        for name, value in self.config.monitor_options.items():
            args += [f"--{name.lstrip('-')}", value]
        return args

    @property
    def store_url(self) -> str | None:
        """The decision store the sidecar writes and the performance job reads; ``None`` when it is off.

        The sidecar's own choice: its ``decision-store-url`` option, else its environment variable, else
        the SQLite file ``decisions.sqlite`` next to its checkpoint (``<state-dir>`` or
        ``<spool>/.drift-sidecar``).
        """
        options = {name.lstrip("-"): value for name, value in self.config.monitor_options.items()}
        url = options.get("decision-store-url") or os.environ.get(DECISION_STORE_VARIABLE)
        if url is not None:
            return None if url.strip().lower() == "none" else url
        state_dir = options.get("state-dir")
        base = Path(state_dir).resolve() if state_dir else self.config.spool / ".drift-sidecar"
        return f"sqlite:///{base / 'decisions.sqlite'}"

    def _sidecar(self) -> Child:
        argv = [
            self.config.python, "-m", "monitoring", "serve", *self.sidecar_arguments(),
            "--host", LOOPBACK, "--port", str(self.ports["monitor"]),
        ]  # fmt: skip
        log = self.stack_dir / "logs" / "sidecar.log"
        return Child("sidecar", argv, self._base_env(), REPO_ROOT, log, self.url("monitor", "/readyz"))

    def _performance_job(self, store_url: str) -> Child:
        argv = [
            self.config.python, "-m", "monitoring", "performance", "--store-url", store_url,
            "--host", LOOPBACK, "--port", str(self.ports["performance"]),
            "--interval-seconds", f"{self.config.performance_interval_seconds:g}",
        ]  # fmt: skip
        log = self.stack_dir / "logs" / "performance.log"
        ready = self.url("performance", "/readyz")
        return Child("performance", argv, self._base_env(), REPO_ROOT, log, ready)

    def _prometheus(self, binary: str) -> Child:
        directory = self.stack_dir / "prometheus"
        directory.mkdir(parents=True, exist_ok=True)
        config_file = directory / "prometheus.yml"
        targets = scrape_targets(self.ports["api"], self.ports["monitor"])
        if "performance" in self.ports:
            targets.append(performance_target(self.ports["performance"]))
        self.rules_file = rules_for_prometheus(self.config.alert_for, directory)
        config_file.write_text(
            prometheus_config(targets, self.config.scrape_interval_seconds, self.rules_file)
        )
        argv = [
            binary,
            f"--config.file={config_file}",
            f"--storage.tsdb.path={directory / 'data'}",
            "--storage.tsdb.retention.time=2d",
            f"--web.listen-address={LOOPBACK}:{self.ports['prometheus']}",
        ]
        log = self.stack_dir / "logs" / "prometheus.log"
        return Child("prometheus", argv, dict(os.environ), directory, log, self.url("prometheus", "/-/ready"))

    def url(self, role: str, path: str = "") -> str:
        """URL of ``path`` on the process playing ``role`` (``api``, ``monitor``, ``performance``,
        ``prometheus``)."""
        return f"http://{LOOPBACK}:{self.ports[role]}{path}"

    # -- running -----------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start every child (nothing waits here)."""
        for child in self.children:
            child.start()
            self.log(f"started {child.name} (pid {child.process.pid}), log {child.log}")
        self.write_state()

    def wait_ready(self, should_stop: Callable[[], bool] = lambda: False) -> bool:
        """Supervise until every child answers ready; ``False`` if stopped or timed out first."""
        deadline = time.monotonic() + self.config.ready_timeout_seconds
        pending = {child.name for child in self.children}
        while pending:
            if should_stop() or not self.supervise():
                return False
            for child in self.children:
                if child.name in pending and http_status(child.ready_url) == 200:
                    pending.discard(child.name)
                    self.log(f"{child.name} is ready")
            if time.monotonic() > deadline:
                self.log(
                    f"not ready after {self.config.ready_timeout_seconds:g} s: {', '.join(sorted(pending))}"
                )
                return False
            time.sleep(0.5)
        self.ready = True
        self.write_state()
        return True

    def supervise(self) -> bool:
        """Restart children that exited unexpectedly; ``False`` once one has used up its restarts."""
        for child in self.children:
            if self._stopping:
                break
            if not child.exited():
                child.remember_tree()
                continue
            code = child.process.returncode if child.process else None
            how = f"signal {-code}" if code is not None and code < 0 else f"code {code}"
            if child.restarts >= self.config.max_restarts:
                self.log(f"{child.name} exited ({how}) {child.restarts + 1} times; see {child.log}")
                return False
            child.restarts += 1
            self.log(f"{child.name} exited ({how}); restarting ({child.restarts}/{self.config.max_restarts})")
            # its group may still hold processes (e.g. BentoML workers of a killed arbiter)
            child.stop(self.config.stop_grace_seconds, self.log)
            child.start()
            self.write_state()
        return True

    def stop(self) -> None:
        """Stop every child, producers first: service, then sidecar, then Prometheus.

        ``stack.json`` is rewritten only when something was started: a stack that could not be prepared
        (no model, a busy port) has no ports or processes to report and leaves the file as it was.
        """
        self._stopping = True
        started = any(child.process is not None for child in self.children)
        for child in self.children:
            if child.process is not None and (child.process.poll() is None or child.leftovers()):
                self.log(f"stopping {child.name}...")
            child.stop(self.config.stop_grace_seconds, self.log)
        self.ready = False
        if started:
            self.write_state()

    # -- reporting ---------------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Ports, URLs, model, and every process id of the stack (for tools and tests)."""
        return {
            "ready": self.ready,
            "stopped": self._stopping,
            "model_tag": self.model_tag,
            "stack_dir": str(self.stack_dir),
            "spool_dir": str(self.config.spool),
            "ports": self.ports,
            "urls": {
                "api": self.url("api"),
                "monitor": self.url("monitor"),
                "drift_report": self.url("monitor", "/report"),
                **({"performance": self.url("performance")} if "performance" in self.ports else {}),
                **({"prometheus": self.url("prometheus")} if "prometheus" in self.ports else {}),
            },
            "processes": {
                child.name: {
                    "pid": child.process.pid if child.process else None,
                    "pids": child.pids,
                    "tree": sorted(pid for pid, _ in child.known),
                    "restarts": child.restarts,
                    "log": str(child.log),
                }
                for child in self.children
            },
            "report_command": self.report_command(),
            "decision_store": _without_password(self.store_url),
        }

    def write_state(self) -> None:
        """Write ``stack.json`` atomically."""
        path = self.stack_dir / "stack.json"
        temporary = path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(self.state(), indent=2) + "\n")
        os.replace(temporary, path)

    def report_command(self) -> list[str]:
        """The command that writes Evidently's HTML drift report of the sidecar's current window."""
        output = self.stack_dir / "drift-report.html"
        return [
            self.config.python,
            "-m",
            "monitoring",
            "report",
            *self.sidecar_arguments(),
            "--output",
            str(output),
        ]

    def _rules_line(self) -> str:
        if not self.config.alert_for:
            return f"  alert rules       {RULES_FILE.relative_to(REPO_ROOT)} (the chart's own file)"
        changed = ", ".join(f"{name}={value}" for name, value in sorted(self.config.alert_for.items()))
        rendered = _shown(str(self.rules_file))
        return f"  alert rules       the chart's, rendered with alertFor {changed}: {rendered}"

    def banner(self) -> str:
        """What the user needs: URLs, the report and demo-traffic commands, how to stop."""
        python = _shown(self.config.python)
        report = " ".join([python, *self.report_command()[1:]])
        lines = [
            "",
            f"credit-scoring is running on {LOOPBACK} (model {self.model_tag})",
            f"  API docs          {self.url('api', '/')}",
            f"  score             curl -s {self.url('api', '/score')} -H 'content-type: application/json' "
            f"-d @{_shown(str(REPO_ROOT / 'docs' / 'examples' / 'applicant.json'))}",
            f"  both contracts    {self.url('api', '/spec')}",
            f"  service metrics   {self.url('api', '/metrics')}",
            f"  sidecar metrics   {self.url('monitor', '/metrics')}",
        ]
        if "performance" in self.ports:
            lines.append(
                f"  performance job   {self.url('performance', '/metrics')}  (realized performance from the "
                f"decision store {_shown_store(self.store_url)}, every "
                f"{self.config.performance_interval_seconds:g} s)"
            )
        if "prometheus" in self.ports:
            lines += [
                f"  Prometheus        {self.url('prometheus', '/')}  "
                f"(alerts {self.url('prometheus', '/alerts')}, targets {self.url('prometheus', '/targets')})",
                self._rules_line(),
            ]
        else:
            lines.append("  Prometheus        not running (see the line above)")
        lines += [
            f"  drift report      {self.url('monitor', '/report')}  (Evidently HTML of the current window; "
            "or write it to a file:",
            f"                    {report})",
            f"  demo traffic      {python} -m training traffic --url {self.url('api')} "
            f"--scenario young_high_income --outcomes-after 60 --outcomes-url {self.url('monitor')}",
            f"  logs, spool       {_shown(str(self.stack_dir))}/",
            "Ctrl-C stops everything.",
            "",
        ]
        return "\n".join(lines)


def _without_password(url: str | None) -> str | None:
    """``url`` with its password, if any, replaced by ``***`` (for ``stack.json`` and the banner)."""
    if url is None or "@" not in url or "://" not in url:
        return url
    scheme, _, rest = url.partition("://")
    credentials, _, host = rest.rpartition("@")
    user, colon, _ = credentials.partition(":")
    return f"{scheme}://{user}{':***' if colon else ''}@{host}"


def _shown_store(url: str | None) -> str:
    """The store as the banner shows it: a SQLite file by its (short) path, another URL without password."""
    if url is not None and url.startswith("sqlite:///"):
        return _shown(url.removeprefix("sqlite:///"))
    return str(_without_password(url))


def _shown(path: str) -> str:
    """``path`` relative to the current directory when it is inside it (shorter commands to copy)."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


def run(config: StackConfig, log: Callable[[str], None] = print) -> int:
    """Start the stack, print where everything is, supervise until Ctrl-C or SIGTERM, stop it; exit code."""
    stop_requested: list[int] = []

    def request_stop(signum: int, _frame: object) -> None:
        stop_requested.append(signum)

    previous = {
        sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    }
    stack = LocalStack(config, log)
    code = 0
    try:
        try:
            stack.prepare()
        except (LookupError, OSError, ValueError) as exc:
            log(f"cannot start the stack: {exc}")
            return 2
        stack.start()
        if not stack.wait_ready(lambda: bool(stop_requested)):
            code = 0 if stop_requested else 1
        else:
            log(stack.banner())
            while not stop_requested:
                if not stack.supervise():
                    code = 1
                    break
                time.sleep(0.5)
    finally:
        stack.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log("stopped" if code == 0 else "stopped after a failure")
    return code
