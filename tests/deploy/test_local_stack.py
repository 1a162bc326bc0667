"""``python -m deploy local`` in pieces: chart-derived scrape config, model lookup, ports, process trees.

The whole stack running under traffic is tested end to end in ``tests/e2e/test_stack.py``.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from deploy import local_stack
from deploy.__main__ import build_parser
from deploy.local_stack import (
    PROMETHEUS_HINT,
    RULES_FILE,
    LocalStack,
    StackConfig,
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
        for got, rule in zip(got_group["rules"], file_group["rules"], strict=True):
            expected = {**rule, "labels": rule.get("labels", {})}
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
    stack = LocalStack(
        StackConfig(stack_dir=tmp_path / "stack", monitor_options={"window-records": "2000"}),
        log=lines.append,
    )
    stack.prepare()
    assert lines == [PROMETHEUS_HINT]
    assert [child.name for child in stack.children] == ["service", "sidecar"]
    assert stack.model_tag == "credit_scorer:v2"
    assert len(set(stack.ports.values())) == 2
    service, sidecar = stack.children
    assert service.env["CREDIT_SCORING_SPOOL_DIR"] == str((tmp_path / "stack" / "spool").resolve())
    assert service.env["CREDIT_SCORING_BUNDLE_TAG"] == "credit_scorer:v2"
    assert sidecar.argv[sidecar.argv.index("--spool-dir") + 1] == service.env["CREDIT_SCORING_SPOOL_DIR"]
    assert sidecar.argv[sidecar.argv.index("--window-records") + 1] == "2000"
    assert sidecar.argv[sidecar.argv.index("--host") + 1] == "127.0.0.1"
    banner = stack.banner()
    assert "Prometheus        not running" in banner and "Ctrl-C" in banner
    assert "-m monitoring report" in banner and "-m training traffic" in banner
    assert stack.url("monitor", "/report") in banner


def test_prepare_rejects_a_port_in_use(model_store: Path, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(OSError, match=str(port)):
            LocalStack(StackConfig(stack_dir=tmp_path / "s", api_port=port), log=lambda _: None).prepare()


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


def test_local_refuses_an_alert_for_without_a_duration(capsys: pytest.CaptureFixture[str]) -> None:
    from deploy.__main__ import main

    assert main(["local", "--alert-for", "CreditScoringDatasetDrift"]) == 2
    assert "--alert-for expects ALERT=DURATION" in capsys.readouterr().err
