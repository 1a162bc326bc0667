"""The gate against a real service: it passes at a modest load, and fails naming the breached line."""

from __future__ import annotations

import csv
import json
import os
import socket
import urllib.parse
from pathlib import Path

import pytest

from loadtests.baseline import read_baseline, write_baseline
from loadtests.gate import EXIT_BREACH, EXIT_PASS
from loadtests.mix import APPLICANT, FEATURES, SCENARIO_WEIGHTS, scenario_weights
from loadtests.results import LineStats
from tests.loadtests.conftest import EXAMPLE_APPLICANTS
from tests.loadtests.helpers import run_gate, write_slo

pytestmark = pytest.mark.timeout(240)

SHORT_RUN = ["--run-time", "8"]
"""Gate runs here last 8 s at the SLO file's offered load (users x per-user rate), so min_rps still holds."""


@pytest.fixture(scope="module")
def accepted_run(running_service: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One passing gate run stored as the baseline: its folder, output, exit status and baseline file."""
    folder = tmp_path_factory.mktemp("accepted")
    slo = write_slo(folder / "slo.yaml")
    baseline = folder / "baseline.json"
    done = run_gate(
        ["--url", running_service, "--slo", str(slo), "--results", str(folder / "run"),
         "--baseline", str(baseline), "--accept", *SHORT_RUN],
        env={},
    )  # fmt: skip
    return {"results": folder / "run", "done": done, "baseline": baseline, "slo": slo}


def test_gate_passes_against_the_real_service(accepted_run: dict) -> None:
    done = accepted_run["done"]
    assert done.returncode == EXIT_PASS, done.stdout + done.stderr
    assert "GATE PASSED" in done.stdout
    summary = json.loads((accepted_run["results"] / "summary.json").read_text())
    assert summary["passed"] and not summary["breaches"]
    assert summary["applicants"] == "drawn from GET /spec quantiles (no reference sample available)" or (
        "reference rows" in summary["applicants"]
    )
    # Both forms, every scenario answered right (the applicant /score explain and /explain with their feature
    # rows checked against the model's features and the reasons' values).
    assert summary["forms"] == {"sent": [APPLICANT, FEATURES], "not_sent": {}}
    assert summary["scenarios"] == SCENARIO_WEIGHTS
    for name in SCENARIO_WEIGHTS:
        assert summary["lines"][name]["requests"] > 0, name
        assert summary["lines"][name]["failures"] == 0, name
    assert not summary["failures"]
    for artefact in (
        "report.html",
        "locust_stats.csv",
        "locust_failures.csv",
        "summary.json",
        "cpu.csv",
        "timeline.json",
    ):
        assert (accepted_run["results"] / artefact).is_file(), artefact


def test_gate_records_the_generators_cpu_and_judges_it(accepted_run: dict) -> None:
    """One Locust process by default; its CPU over the load, the machine's beside it, and the judgement."""
    done = accepted_run["done"]
    summary = json.loads((accepted_run["results"] / "summary.json").read_text())
    assert summary["locust_processes"] == 1
    assert "ready workers" not in (accepted_run["results"] / "locust.log").read_text()  # not distributed
    cpu = summary["cpu"]
    assert cpu["cpus"] == os.cpu_count() and cpu["generator_cores"] == 1
    generator, machine = cpu["generator"], cpu["machine"]
    assert generator["samples"] >= 2 and generator["mean_pct"] > 0
    assert generator["max_pct"] >= generator["mean_pct"]
    assert generator["mean_share"] == pytest.approx(generator["mean_pct"] / (100 * cpu["cpus"]), abs=0.001)
    assert machine["mean_pct"] >= generator["mean_pct"] * 0.9  # Locust runs on this machine
    assert cpu["service"] is None  # a --url target: the gate did not start it, so it cannot sample it
    assert cpu["span_s"] > 0  # from the first to the last request (timeline.json)
    bottleneck = summary["bottleneck"]
    assert bottleneck["judged"] == "whole run"
    assert bottleneck["generator_limited"] == bool(bottleneck["rule"])
    assert f"bottleneck: {bottleneck['verdict']}" in done.stdout
    assert "Locust (generator)" in done.stdout


def test_url_without_model_store_sends_the_committed_fallback_documents(accepted_run: dict) -> None:
    """The --url run's model store is empty: no example applicants, so the committed documents are sent."""
    summary = json.loads((accepted_run["results"] / "summary.json").read_text())
    assert summary["applicant_documents"].startswith(
        "18 fallback documents of loadtests/example_applicants.json"
    )
    assert summary["profile"]["applicant_documents"].endswith("loadtests/example_applicants.json")
    assert "applicant documents: 18 fallback documents" in accepted_run["done"].stdout


def test_accept_stores_the_run_as_baseline(accepted_run: dict) -> None:
    baseline = read_baseline(accepted_run["baseline"])
    assert baseline is not None
    summary = json.loads((accepted_run["results"] / "summary.json").read_text())
    assert baseline.lines["Aggregated"].requests == summary["lines"]["Aggregated"]["requests"]
    assert baseline.model_tag == summary["model_tag"]


def test_summary_matches_locust_csv(accepted_run: dict) -> None:
    summary = json.loads((accepted_run["results"] / "summary.json").read_text())
    with (accepted_run["results"] / "locust_stats.csv").open(newline="") as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    assert set(rows) == set(summary["lines"])
    for name, row in rows.items():
        line = summary["lines"][name]
        assert line["requests"] == int(row["Request Count"])
        assert line["failures"] == int(row["Failure Count"])
        assert line["rps"] == pytest.approx(float(row["Requests/s"]))
        assert line["avg_ms"] == pytest.approx(float(row["Average Response Time"]))
        assert line["p95_ms"] == pytest.approx(float(row["95%"]))
        assert line["p99_ms"] == pytest.approx(float(row["99%"]))


@pytest.fixture(scope="module")
def breached_run(accepted_run: dict, running_service: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One gate run held to an impossible ``/score single`` p99 and to a forged, much better baseline."""
    folder = tmp_path_factory.mktemp("breached")
    accepted = read_baseline(accepted_run["baseline"])
    assert accepted is not None
    # A baseline that was twice as fast and served twice the traffic: this run must count as a regression.
    better = {
        name: LineStats(**{**line.__dict__, "rps": line.rps * 2, "p99_ms": (line.p99_ms or 1) / 10})
        for name, line in accepted.lines.items()
    }
    forged = folder / "baseline.json"
    write_baseline(forged, accepted.__class__(**{**accepted.__dict__, "lines": better}))
    slo = write_slo(folder / "slo.yaml", overrides={"/score single (applicant)": {"p99_ms": 0.01}})
    done = run_gate(
        ["--url", running_service, "--slo", str(slo), "--results", str(folder / "run"),
         "--baseline", str(forged), *SHORT_RUN],
        env={},
    )  # fmt: skip
    return {"done": done, "summary": json.loads((folder / "run" / "summary.json").read_text())}


def test_impossible_p99_fails_naming_the_line(breached_run: dict) -> None:
    done = breached_run["done"]
    assert done.returncode == EXIT_BREACH, done.stdout + done.stderr
    assert "GATE FAILED" in done.stdout
    failed_rows = [line for line in done.stdout.splitlines() if "FAIL" in line and "p99_ms" in line]
    assert any(row.startswith("slo /score single (applicant) p99_ms") for row in failed_rows), done.stdout
    assert "slo /score single (applicant) p99_ms" in breached_run["summary"]["breaches"]


def test_regression_against_baseline_fails(breached_run: dict) -> None:
    assert breached_run["done"].returncode == EXIT_BREACH
    breached = breached_run["summary"]["breaches"]
    assert "baseline Aggregated rps" in breached
    # p99 regressions are named per scenario (the aggregated p99 is compared only when a short run sent
    # every scenario the forged baseline has, which a slow machine does not always do)
    assert any(b.startswith("baseline /") and b.endswith(" p99_ms") for b in breached), breached


def test_over_capacity_service_fails_on_error_rate_and_is_stopped(model_home: dict, tmp_path: Path) -> None:
    """The gate serves the model itself with max-concurrency 1: 429s breach the error limits."""
    slo = write_slo(tmp_path / "slo.yaml")
    done = run_gate(
        ["--model-tag", model_home["MODEL_TAG"], "--slo", str(slo), "--results", str(tmp_path / "run"),
         "--no-baseline", "--service-env", "CREDIT_SCORING_MAX_CONCURRENCY=1", *SHORT_RUN],
        env={"BENTOML_HOME": model_home["BENTOML_HOME"]},
    )  # fmt: skip
    assert done.returncode == EXIT_BREACH, done.stdout + done.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert "slo Aggregated error_rate" in summary["breaches"]
    assert any(f["error"].endswith("HTTP 429')") for f in summary["failures"])
    assert "reference rows of" in summary["applicants"]
    # The served bundle has example applicants: they are exported and sent as the applicant form.
    assert (
        summary["applicant_documents"]
        == f"{EXAMPLE_APPLICANTS} example applicants of {model_home['MODEL_TAG']}"
    )
    exported = json.loads((tmp_path / "run" / "applicant_documents.json").read_text())["applicants"]
    assert [item["id"] for item in exported] == [f"example-{i}" for i in range(EXAMPLE_APPLICANTS)]
    assert summary["lines"]["/score single (applicant)"]["requests"] > 0
    service = summary["cpu"]["service"]  # the gate started the service: its CPU is sampled beside Locust's
    assert service is not None and service["samples"] >= 2 and service["mean_pct"] > 0
    assert "the service used" in summary["bottleneck"]["verdict"]
    port = urllib.parse.urlsplit(summary["url"]).port
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "the gate left its service running"


def test_knee_mode_records_benchmark_section_only(running_service: str, tmp_path: Path) -> None:
    benchmarks = tmp_path / "BENCHMARKS.md"
    benchmarks.write_text("# Benchmarks\n\n## Training\n\nkept as is\n\n## Load tests\n\nold numbers\n")
    done = run_gate(
        ["--url", running_service, "--mode", "knee", "--steps", "2,4", "--step-seconds", "5",
         "--results", str(tmp_path / "run"), "--slo", str(write_slo(tmp_path / "slo.yaml")),
         "--record-benchmark", str(benchmarks)],
        env={},
    )  # fmt: skip
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert [step["users"] for step in summary["steps"]] == [2, 4]
    # Knee mode runs one Locust process per core by default (a master and its workers when more than one).
    processes = os.cpu_count() or 1
    assert summary["locust_processes"] == processes
    if processes > 1:
        assert f"to {processes} ready workers" in (tmp_path / "run" / "locust.log").read_text()
    for step in summary["steps"]:
        assert step["generator_cpu_pct"] is not None and step["machine_cpu_pct"] is not None
        assert step["service_cpu_pct"] is None  # a --url target
    assert summary["cpu"]["generator"]["mean_pct"] > 0
    assert summary["bottleneck"]["judged"].startswith("the step at")
    assert summary["bottleneck"]["verdict"] in done.stdout
    text = benchmarks.read_text()
    assert "## Training\n\nkept as is\n" in text
    assert "old numbers" not in text
    assert "| Locust CPU % | service CPU % | machine CPU % | generator-bound |" in text
    assert summary["bottleneck"]["verdict"] in text
    if done.returncode == EXIT_PASS:
        assert summary["knee"] is not None
        assert f"**Knee: {summary['knee']['rps']:.0f} requests/s**" in text
    else:
        assert done.returncode == EXIT_BREACH and summary["knee"] is None
        assert "No step met the SLO" in text


def test_soak_mode_watches_memory_and_latency_of_the_service_it_started(
    model_home: dict, tmp_path: Path
) -> None:
    """A short soak: four windows of steady load, the served process tree's memory sampled throughout."""
    done = run_gate(
        ["--model-tag", model_home["MODEL_TAG"], "--mode", "soak", "--soak-users", "4",
         "--soak-seconds", "16", "--window-seconds", "4", "--results", str(tmp_path / "run"),
         "--slo", str(write_slo(tmp_path / "slo.yaml"))],
        env={"BENTOML_HOME": model_home["BENTOML_HOME"]},
    )  # fmt: skip
    assert done.returncode in (EXIT_PASS, EXIT_BREACH), done.stdout + done.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert len(summary["windows"]) == 4
    assert summary["memory"]["samples"] >= 5 and summary["memory"]["peak_mib"] > 50
    assert summary["cpu"]["service"]["samples"] >= 5 and summary["cpu"]["service"]["mean_pct"] > 0
    assert all(window["cpu"]["generator"]["mean_pct"] is not None for window in summary["windows"])
    with (tmp_path / "run" / "memory.csv").open() as samples:
        rows = list(csv.DictReader(samples))
    assert len(rows) == summary["memory"]["samples"]
    peak = max(float(row["rss_mib"]) for row in rows)
    assert peak == pytest.approx(summary["memory"]["peak_mib"], abs=0.01)
    soak = {check["metric"]: check for check in summary["checks"] if check["source"] == "soak"}
    assert set(soak) == {"rss_mib_per_hour", "p95_growth"}
    assert all(check["observed"] is not None for check in soak.values()), soak
    if any(check["outcome"] == "FAIL" for check in soak.values()):
        assert done.returncode == EXIT_BREACH and summary["breaches"]


def test_applicant_scenarios_are_skipped_when_the_service_cannot_score_documents(
    model_home: dict, tmp_path: Path
) -> None:
    """A bundle without a definitions fingerprint: /spec says the applicant form is unavailable, so the gate
    sends the feature-vector scenarios only and names each applicant scenario as not sent, with the reason."""
    done = run_gate(
        ["--model-tag", model_home["NO_APPLICANT_TAG"], "--slo", str(write_slo(tmp_path / "slo.yaml")),
         "--results", str(tmp_path / "run"), "--no-baseline", *SHORT_RUN],
        env={"BENTOML_HOME": model_home["BENTOML_HOME"]},
    )  # fmt: skip
    assert done.returncode == EXIT_PASS, done.stdout + done.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    reason = summary["forms"]["not_sent"][APPLICANT]
    assert "does not record how its features were computed" in reason
    assert summary["forms"]["sent"] == [FEATURES]
    assert summary["scenarios"] == scenario_weights([FEATURES])
    assert summary["applicant_documents"] == f"not sent: {reason}"
    assert f"applicant scenarios NOT sent: {reason}" in done.stdout
    skipped = {c["line"]: c for c in summary["checks"] if c["outcome"] == "skip" and c["source"] == "slo"}
    applicant_names = set(SCENARIO_WEIGHTS) - set(scenario_weights([FEATURES]))
    assert set(skipped) == applicant_names
    for name in applicant_names:
        assert name not in summary["lines"]
        assert skipped[name]["note"] == f"not sent: {reason}"
        row = next(line for line in done.stdout.splitlines() if line.startswith(f"slo {name} requests"))
        assert "skip (not sent: applicant form:" in row
    for name in scenario_weights([FEATURES]):
        assert summary["lines"][name]["requests"] > 0 and summary["lines"][name]["failures"] == 0
