"""``python -m deploy local`` in pieces: chart-derived scrape config, model lookup, ports, process trees.

The whole stack running under traffic is tested end to end in ``tests/e2e/test_stack.py``.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from deploy import local_stack
from deploy.__main__ import build_parser
from deploy.chart import CHART_DIR
from deploy.local_stack import (
    DEFAULT_API_PORT,
    DEFAULT_MONITOR_PORT,
    DEFAULT_PERFORMANCE_PORT,
    DEFAULT_PROMETHEUS_PORT,
    PROMETHEUS_HINT,
    RULES_FILE,
    LocalStack,
    StackConfig,
    choose_ports,
    free_port,
    performance_target,
    port_in_use,
    prometheus_config,
    resolve_model_tag,
    rules_for_prometheus,
    scrape_targets,
)
from deploy.processes import Child, is_running, process_tree
from tests.deploy.promtool import run_promtool


@pytest.fixture
def model_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A BentoML home whose store lays out ``credit_scorer`` version ``v2`` as ``latest`` (files only)."""
    home = tmp_path / "bentoml"
    (home / "models" / "credit_scorer" / "v2").mkdir(parents=True)
    (home / "models" / "credit_scorer" / "latest").write_text("v2")
    monkeypatch.setenv("BENTOML_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def no_store_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """The decision store is the sidecar's default unless a test sets the variable itself."""
    monkeypatch.delenv("CREDIT_SCORING_MONITOR_DECISION_STORE_URL", raising=False)


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port on which a socket listens for the whole test."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        yield busy.getsockname()[1]


def free_ports(count: int) -> list[int]:
    """``count`` different loopback ports free right now (stand-ins for the defaults 3000, 9108, 9090)."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


def test_scrape_targets_follow_the_charts_service_monitor() -> None:
    targets = scrape_targets(api_port=4001, monitor_port=4002)
    by_container = {t["labels"]["container"]: t for t in targets}
    assert set(by_container) == {"scoring", "drift-monitor"}
    assert by_container["scoring"]["target"] == "127.0.0.1:4001"
    assert by_container["drift-monitor"]["target"] == "127.0.0.1:4002"
    assert {t["path"] for t in targets} == {"/metrics"}
    for target in targets:
        assert target["labels"]["job"] == "credit-scoring"
        assert target["labels"]["namespace"] == "local"
    assert by_container["scoring"]["labels"]["endpoint"] == "http"
    assert by_container["drift-monitor"]["labels"]["endpoint"] == "monitor-metrics"


def test_prometheus_config_loads_the_charts_rules_file_and_passes_promtool(tmp_path: Path) -> None:
    text = prometheus_config(scrape_targets(4001, 4002), 2.0, RULES_FILE.resolve())
    config = yaml.safe_load(text)
    assert config["rule_files"] == [str(RULES_FILE.resolve())]  # the chart's file itself, not a copy
    assert config["global"]["scrape_interval"] == "2s"
    path = tmp_path / "prometheus.yml"
    path.write_text(text)
    result = run_promtool("check", "config", path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_without_alert_for_prometheus_loads_the_charts_rules_file(tmp_path: Path) -> None:
    assert rules_for_prometheus({}, tmp_path) == RULES_FILE.resolve()
    assert list(tmp_path.iterdir()) == []


def test_alert_for_renders_the_charts_rules_with_only_those_for_changed(tmp_path: Path) -> None:
    path = rules_for_prometheus({"CreditScoringDatasetDrift": "20s"}, tmp_path)
    assert path.parent == tmp_path.resolve()
    rendered = yaml.safe_load(path.read_text())["groups"]
    original = yaml.safe_load(RULES_FILE.read_text())["groups"]
    assert [g["name"] for g in rendered] == [g["name"] for g in original]
    for got_group, file_group in zip(rendered, original, strict=True):
        assert got_group.get("interval") == file_group.get("interval")
        for got, rule in zip(got_group["rules"], file_group["rules"], strict=True):
            expected = {**rule, "labels": rule.get("labels", {})} if "alert" in rule else rule
            if rule.get("alert") == "CreditScoringDatasetDrift":
                expected["for"] = "20s"
            assert got == expected
    result = run_promtool("check", "rules", path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_for_an_unknown_alert_is_refused_with_its_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="CreditScoringDataDrift is not an alert"):
        rules_for_prometheus({"CreditScoringDataDrift": "20s"}, tmp_path)
    with pytest.raises(ValueError, match="alertFor"):
        rules_for_prometheus({"CreditScoringDatasetDrift": "twenty seconds"}, tmp_path)


def test_rules_file_holds_no_helm_template_actions() -> None:
    """The chart loads the file with .Files.Get (not rendered), so only Prometheus's own templates may
    appear in it ({{ $labels.x }}, {{ $value }}); Helm actions would reach Prometheus unrendered."""
    text = RULES_FILE.read_text()
    for helm_only in (".Values", ".Release", ".Chart", "include ", "{{-", "-}}"):
        assert helm_only not in text


def test_resolve_model_tag_reads_the_store(model_store: Path) -> None:
    assert resolve_model_tag("credit_scorer:latest") == "credit_scorer:v2"
    assert resolve_model_tag("credit_scorer") == "credit_scorer:v2"
    assert resolve_model_tag("credit_scorer:v2") == "credit_scorer:v2"
    assert resolve_model_tag("credit_scorer:v9") is None
    assert resolve_model_tag("other:latest") is None


def test_prepare_refuses_without_a_registered_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENTOML_HOME", str(tmp_path / "empty"))
    with pytest.raises(LookupError, match="python -m training run"):
        LocalStack(StackConfig(stack_dir=tmp_path / "stack"), log=lambda _: None).prepare()


def test_prepare_without_prometheus_prints_one_line_and_keeps_the_rest(
    model_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_stack.shutil, "which", lambda _: None)
    lines: list[str] = []
    config = StackConfig(
        stack_dir=tmp_path / "stack",
        api_port=0,
        monitor_port=0,
        performance_port=0,
        monitor_options={"window-records": "2000"},
    )
    stack = LocalStack(config, log=lines.append)
    stack.prepare()
    assert lines == [PROMETHEUS_HINT]
    assert [child.name for child in stack.children] == ["service", "sidecar", "performance"]
    assert stack.model_tag == "credit_scorer:v2"
    assert len(set(stack.ports.values())) == 3
    service, sidecar, performance = stack.children
    assert service.env["CREDIT_SCORING_SPOOL_DIR"] == str((tmp_path / "stack" / "spool").resolve())
    assert service.env["CREDIT_SCORING_BUNDLE_TAG"] == "credit_scorer:v2"
    assert sidecar.argv[sidecar.argv.index("--spool-dir") + 1] == service.env["CREDIT_SCORING_SPOOL_DIR"]
    assert sidecar.argv[sidecar.argv.index("--window-records") + 1] == "2000"
    assert sidecar.argv[sidecar.argv.index("--host") + 1] == "127.0.0.1"
    # the job reads the SQLite file the sidecar writes by default: next to its checkpoint, in the spool
    store = (tmp_path / "stack" / "spool" / ".drift-sidecar" / "decisions.sqlite").resolve()
    assert performance.argv[performance.argv.index("--store-url") + 1] == f"sqlite:///{store}"
    assert store.parent.is_dir()
    assert performance.argv[performance.argv.index("--port") + 1] == str(stack.ports["performance"])
    assert performance.argv[performance.argv.index("--interval-seconds") + 1] == "10"
    assert performance.ready_url == stack.url("performance", "/readyz")
    banner = stack.banner()
    assert "Prometheus        not running" in banner and "Ctrl-C" in banner
    assert "-m monitoring report" in banner and "-m training traffic" in banner
    assert stack.url("monitor", "/report") in banner
    assert stack.url("performance", "/metrics") in banner
    assert f"--outcomes-after 60 --outcomes-url {stack.url('monitor')}" in banner


def test_the_performance_job_reads_the_store_the_sidecar_is_told_to_write(
    model_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_stack.shutil, "which", lambda _: None)
    ports = {"api_port": 0, "monitor_port": 0, "performance_port": 0}
    state_dir = tmp_path / "state"
    stack = LocalStack(
        StackConfig(stack_dir=tmp_path / "a", monitor_options={"state-dir": str(state_dir)}, **ports),
        log=lambda _: None,
    )
    stack.prepare()
    job = stack.children[-1]
    assert job.argv[job.argv.index("--store-url") + 1] == f"sqlite:///{state_dir.resolve()}/decisions.sqlite"
    url = "postgresql://scorer:secret@db:5432/scoring"
    stack = LocalStack(
        StackConfig(stack_dir=tmp_path / "b", monitor_options={"--decision-store-url": url}, **ports),
        log=lambda _: None,
    )
    stack.prepare()
    job = stack.children[-1]
    assert job.argv[job.argv.index("--store-url") + 1] == url
    stack.write_state()
    state = json.loads((tmp_path / "b" / "stack.json").read_text())
    assert state["decision_store"] == "postgresql://scorer:***@db:5432/scoring"
    (job_line,) = [line for line in stack.banner().splitlines() if "performance job" in line]
    assert "postgresql://scorer:***@db:5432/scoring" in job_line and "secret" not in job_line
    monkeypatch.setenv("CREDIT_SCORING_MONITOR_DECISION_STORE_URL", "none")
    lines: list[str] = []
    stack = LocalStack(StackConfig(stack_dir=tmp_path / "c", **ports), log=lines.append)
    stack.prepare()
    assert [child.name for child in stack.children] == ["service", "sidecar"]
    assert "performance" not in stack.ports
    assert "the decision store is off (decision-store-url none): no performance job" in lines


def test_performance_target_is_scraped_with_the_local_labels() -> None:
    target = performance_target(4003)
    assert target["target"] == "127.0.0.1:4003" and target["path"] == "/metrics"
    assert (
        target["labels"]["namespace"] == "local" and target["labels"]["job"] == "credit-scoring-performance"
    )
    config = yaml.safe_load(prometheus_config([target], 2.0, RULES_FILE.resolve()))
    (static,) = config["scrape_configs"][0]["static_configs"]
    assert static["targets"] == ["127.0.0.1:4003"] and static["labels"]["container"] == "performance"
    # labelled as the chart's ServiceMonitor scrapes the job, so the same alerts match both
    monitor = (CHART_DIR / "templates" / "performance-servicemonitor.yaml").read_text()
    assert f"- port: {static['labels']['endpoint']}\n" in monitor


def test_prepare_rejects_a_port_in_use(model_store: Path, tmp_path: Path, busy_port: int) -> None:
    with pytest.raises(
        OSError, match=f"port {busy_port} on 127.0.0.1 is in use \\(--api-port {busy_port}\\)"
    ):
        LocalStack(StackConfig(stack_dir=tmp_path / "s", api_port=busy_port), log=lambda _: None).prepare()


def test_default_ports_are_bentomls_the_charts_and_prometheuss() -> None:
    values = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    assert DEFAULT_API_PORT == 3000 == values["scoring"]["containerPort"]
    assert values["monitor"]["port"] == DEFAULT_MONITOR_PORT
    assert DEFAULT_PROMETHEUS_PORT == 9090
    from monitoring.__main__ import build_parser as monitoring_parser

    job = monitoring_parser().parse_args(["performance", "--store-url", "sqlite://"])
    assert job.port == DEFAULT_PERFORMANCE_PORT == 9110
    assert build_parser().parse_args(["local"]).api_port is None  # "not given": the default, or a fallback


def test_choose_ports_takes_the_defaults_when_they_are_free() -> None:
    defaults = dict(zip(("api", "monitor", "prometheus"), free_ports(3), strict=True))
    chosen = choose_ports(dict.fromkeys(defaults), defaults)
    assert chosen.ports == defaults
    assert chosen.notices == []


def test_choose_ports_falls_back_to_a_free_port_when_a_default_is_busy(busy_port: int) -> None:
    monitor, prometheus = free_ports(2)
    defaults = {"api": busy_port, "monitor": monitor, "prometheus": prometheus}
    chosen = choose_ports(dict.fromkeys(defaults), defaults)
    api = chosen.ports["api"]
    assert api not in defaults.values() and not port_in_use(api)
    assert chosen.ports == {**defaults, "api": api}
    assert chosen.notices == [
        f"port {busy_port} is busy; the scoring API listens on 127.0.0.1:{api} instead "
        "(choose one with --api-port)"
    ]


def test_choose_ports_refuses_an_explicit_port_that_is_busy(busy_port: int) -> None:
    defaults = dict(zip(("api", "monitor"), free_ports(2), strict=True))
    with pytest.raises(OSError, match=f"port {busy_port} .*in use \\(--monitor-port {busy_port}\\)"):
        choose_ports({"api": None, "monitor": busy_port}, defaults)


def test_choose_ports_zero_is_any_free_port_without_a_notice(busy_port: int) -> None:
    defaults = dict(zip(("api", "monitor"), free_ports(2), strict=True))
    chosen = choose_ports({"api": 0, "monitor": 0}, defaults)
    assert chosen.notices == []
    assert len(set(chosen.ports.values())) == 2
    assert not set(chosen.ports.values()) & {*defaults.values(), busy_port}


def test_choose_ports_an_explicit_port_wins_over_another_processs_default() -> None:
    api_default, monitor_default, explicit = free_ports(3)
    defaults = {"api": api_default, "monitor": monitor_default}
    chosen = choose_ports({"api": None, "monitor": api_default}, defaults)
    assert chosen.ports["monitor"] == api_default
    api = chosen.ports["api"]
    assert api not in (api_default, monitor_default)
    assert chosen.notices == [
        f"port {api_default} is taken by --monitor-port; the scoring API listens on 127.0.0.1:{api} "
        "instead (choose one with --api-port)"
    ]
    with pytest.raises(ValueError, match=f"--api-port and --monitor-port both ask for port {explicit}"):
        choose_ports({"api": explicit, "monitor": explicit}, defaults)
    with pytest.raises(ValueError, match="--api-port 70000"):
        choose_ports({"api": 70000, "monitor": None}, defaults)


def test_prepare_prints_the_fallback_and_every_url_and_stack_json_use_the_port_used(
    model_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, busy_port: int
) -> None:
    monitor, performance, prometheus = free_ports(3)
    monkeypatch.setattr(
        local_stack,
        "DEFAULT_PORTS",
        {"api": busy_port, "monitor": monitor, "performance": performance, "prometheus": prometheus},
    )
    monkeypatch.setattr(local_stack.shutil, "which", lambda _: None)
    lines: list[str] = []
    stack = LocalStack(StackConfig(stack_dir=tmp_path / "stack"), log=lines.append)
    stack.prepare()
    api = stack.ports["api"]
    assert api != busy_port and stack.ports["monitor"] == monitor
    assert lines == [
        f"port {busy_port} is busy; the scoring API listens on 127.0.0.1:{api} instead "
        "(choose one with --api-port)",
        PROMETHEUS_HINT,
    ]
    service, sidecar, job = stack.children
    assert job.argv[job.argv.index("--port") + 1] == str(performance)
    assert service.argv[service.argv.index("--port") + 1] == str(api)
    assert service.ready_url == f"http://127.0.0.1:{api}/readyz"
    assert sidecar.argv[sidecar.argv.index("--port") + 1] == str(monitor)
    banner = stack.banner()
    assert f"http://127.0.0.1:{api}/score" in banner and f"--url http://127.0.0.1:{api} " in banner
    assert f"http://127.0.0.1:{monitor}/metrics" in banner
    assert f"http://127.0.0.1:{performance}/metrics" in banner
    assert f":{busy_port}" not in banner
    stack.write_state()
    state = json.loads((tmp_path / "stack" / "stack.json").read_text())
    assert state["ports"] == {"api": api, "monitor": monitor, "performance": performance}
    assert state["urls"]["performance"] == f"http://127.0.0.1:{performance}"
    assert state["urls"]["api"] == f"http://127.0.0.1:{api}"
    assert state["urls"]["monitor"] == f"http://127.0.0.1:{monitor}"


def test_local_with_an_explicit_busy_port_exits_2_naming_it(
    model_store: Path, tmp_path: Path, busy_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    from deploy.__main__ import main

    argv = ["local", "--stack-dir", str(tmp_path / "s"), "--no-prometheus", "--api-port", str(busy_port)]
    argv += ["--monitor-port", "0"]
    assert main(argv) == 2
    assert f"cannot start the stack: port {busy_port} on 127.0.0.1 is in use (--api-port {busy_port})" in (
        capsys.readouterr().out
    )


def test_child_stop_reaches_processes_that_left_its_group(tmp_path: Path) -> None:
    """Like BentoML's workers, the grandchild starts a session of its own; stopping still ends it."""
    code = (
        "import subprocess, sys, time\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'], start_new_session=True)\n"
        "time.sleep(120)\n"
    )
    child = Child("tree", [sys.executable, "-c", code], {}, tmp_path, tmp_path / "tree.log", "http://unused")
    child.start()
    try:
        deadline = time.monotonic() + 30
        while len(process_tree(child.process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        child.remember_tree()
        tree = set(child.known)
        assert len(tree) == 2
        child.stop(grace_seconds=10, log=lambda _: None)
        assert not any(is_running(key) for key in tree)
    finally:
        for key in child.known:
            if is_running(key):
                subprocess.run(["kill", "-9", str(key[0])], check=False)


def test_child_stop_sends_sigkill_after_the_grace(tmp_path: Path) -> None:
    code = (
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('up', flush=True)\n"
        "time.sleep(120)\n"
    )
    log = tmp_path / "stubborn.log"
    child = Child("stubborn", [sys.executable, "-c", code], {}, tmp_path, log, "http://unused")
    child.start()
    deadline = time.monotonic() + 30
    while "up" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    lines: list[str] = []
    child.stop(grace_seconds=0.5, log=lines.append)
    assert child.process.returncode == -signal.SIGKILL
    assert lines and "SIGKILL" in lines[0]


def test_local_subcommand_is_listed_and_documented() -> None:
    parser = build_parser()
    args = parser.parse_args(["local", "--monitor-option", "window-records=2000", "--no-prometheus"])
    assert args.command == "local" and args.no_prometheus and args.monitor_option == ["window-records=2000"]
    args = parser.parse_args(["local", "--alert-for", "CreditScoringDatasetDrift=1m", "--alert-for", "X=2m"])
    assert args.alert_for == ["CreditScoringDatasetDrift=1m", "X=2m"]
    local = next(a for a in parser._subparsers._group_actions if a.dest == "command").choices["local"]
    for action in local._actions:
        assert action.help, action.dest
    help_text = " ".join(local.format_help().split())
    for option, default in (("--api-port", 3000), ("--monitor-port", 9108), ("--prometheus-port", 9090)):
        (action,) = (a for a in local._actions if option in a.option_strings)
        assert action.default is None and f"[{default}, or a free one when it is busy]" in action.help
    assert "When one of these defaults is busy, that process gets a free port instead" in help_text
    assert "A port given explicitly must be free" in help_text and "0 picks any free port" in help_text


def test_local_refuses_an_alert_for_without_a_duration(capsys: pytest.CaptureFixture[str]) -> None:
    from deploy.__main__ import main

    assert main(["local", "--alert-for", "CreditScoringDatasetDrift"]) == 2
    assert "--alert-for expects ALERT=DURATION" in capsys.readouterr().err
