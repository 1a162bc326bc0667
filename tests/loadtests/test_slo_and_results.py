"""The SLO file, Locust's CSV read back, and the BENCHMARKS.md section writer."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtests.benchmarks_md import SECTION_TITLE, record_section, replace_section
from loadtests.mix import SCENARIO_WEIGHTS
from loadtests.results import read_failures_csv, read_stats_csv
from loadtests.slo import DEFAULT_SLO_PATH, SLOError, load_slo, parse_slo

STATS_CSV = "\n".join(
    [
        "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,"
        "Max Response Time,Average Content Size,Requests/s,Failures/s,"
        "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%",
        "POST,/score single,120,2,5,6.5,2.1,40.2,160,12.0,0.2,5,6,7,7,9,12,20,31,40,40,40",
        "POST,/explain,0,0,0,0.0,0,0,0,0.0,0.0,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A",
        ",Aggregated,120,2,5,6.5,2.1,40.2,160,12.0,0.2,5,6,7,7,9,12,20,31,40,40,40",
    ]
)


def test_versioned_slo_file_parses_and_covers_every_scenario() -> None:
    slo = load_slo(DEFAULT_SLO_PATH)
    assert slo.version
    assert set(slo.scenarios) == {*SCENARIO_WEIGHTS, "Aggregated"}
    for limits in slo.scenarios.values():
        assert None not in (limits.p95_ms, limits.p99_ms, limits.max_error_rate, limits.min_rps)
        assert limits.p95_ms <= limits.p99_ms
    assert slo.regression.max_throughput_drop == pytest.approx(0.10)
    assert slo.regression.max_p99_increase == pytest.approx(0.10)


def test_throughput_limits_leave_each_scenario_room_below_its_share_of_the_offered_load() -> None:
    """Under the SLO's load each scenario is offered its exact share (``loadtests/mix.py``); its min_rps must
    sit well below it, so ramp-up and the run's edges never fail a healthy service."""
    slo = load_slo(DEFAULT_SLO_PATH)
    offered = slo.load.users * slo.load.user_rps
    total = sum(SCENARIO_WEIGHTS.values())
    for name, weight in SCENARIO_WEIGHTS.items():
        share = offered * weight / total
        assert slo.scenarios[name].min_rps <= 0.7 * share, name
    assert slo.scenarios["Aggregated"].min_rps <= 0.8 * offered


def test_unknown_limit_is_named() -> None:
    raw = {"format": 1, "version": "x", "scenarios": {"Aggregated": {"p99": 10}}}
    with pytest.raises(SLOError, match="unknown key 'p99'"):
        parse_slo(raw)


def test_negative_limit_and_bad_knee_line_are_refused() -> None:
    with pytest.raises(SLOError, match=r"p95_ms must be a non-negative number"):
        parse_slo({"format": 1, "version": "x", "scenarios": {"Aggregated": {"p95_ms": -1}}})
    with pytest.raises(SLOError, match="knee_line"):
        parse_slo({"format": 1, "version": "x", "scenarios": {"/explain": {}}, "knee_line": "Aggregated"})


def test_stats_csv_is_read_with_empty_lines(tmp_path: Path) -> None:
    path = tmp_path / "locust_stats.csv"
    path.write_text(STATS_CSV)
    lines = read_stats_csv(path)
    single = lines["/score single"]
    assert (single.requests, single.failures, single.rps, single.p95_ms, single.p99_ms) == (
        120,
        2,
        12.0,
        12,
        31,
    )
    assert single.error_rate == pytest.approx(2 / 120)
    assert lines["/explain"].p99_ms is None and lines["/explain"].error_rate == 1.0
    assert lines["Aggregated"].method == ""


def test_failures_csv(tmp_path: Path) -> None:
    path = tmp_path / "locust_failures.csv"
    path.write_text("Method,Name,Error,Occurrences\nPOST,/explain,CatchResponseError('HTTP 503'),4\n")
    assert read_failures_csv(path) == [
        {"method": "POST", "name": "/explain", "error": "CatchResponseError('HTTP 503')", "occurrences": 4}
    ]
    assert read_failures_csv(tmp_path / "absent.csv") == []


DOCUMENT = (
    "# Benchmarks\n\n## Training\n\ntrain numbers\n\n## Load tests\n\nold\n\n## Scoring\n\nscore numbers\n"
)


def test_section_replaced_in_place_and_others_kept() -> None:
    updated = replace_section(DOCUMENT, SECTION_TITLE, "new numbers")
    expected = DOCUMENT.replace("\nold\n", "\nnew numbers\n")
    assert updated == expected
    assert replace_section(updated, SECTION_TITLE, "new numbers") == updated


def test_section_appended_or_file_created(tmp_path: Path) -> None:
    assert replace_section("# Benchmarks\n\n## Training\n\nx\n", SECTION_TITLE, "n") == (
        "# Benchmarks\n\n## Training\n\nx\n\n## Load tests\n\nn\n"
    )
    target = tmp_path / "BENCHMARKS.md"
    record_section(target, "first")
    assert target.read_text() == "# Benchmarks\n\n## Load tests\n\nfirst\n"


def test_gate_never_imports_locust_into_the_caller() -> None:
    """Locust monkey-patches the standard library with gevent on import; the gate must stay clear of it."""
    import subprocess
    import sys

    probe = (
        "import sys, loadtests.gate, loadtests.plans; print(bool({'locust', 'gevent'} & set(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "False"
