"""The SLO file, Locust's CSV read back, and the BENCHMARKS.md section writer."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtests.benchmarks_md import SECTION_TITLE, record_section, replace_section
from loadtests.mix import SCENARIO_WEIGHTS
from loadtests.results import read_failures_csv, read_stats_csv
from loadtests.slo import DEFAULT_SLO_PATH, LoadSettings, ScenarioLimits, SLOError, load_slo, parse_slo

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


AGGREGATED = r"scenarios\['Aggregated'\]"
"""How an error names the ``Aggregated`` scenario's limits (a regular expression)."""


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
    with pytest.raises(
        SLOError, match=r"scenarios\['Aggregated'\]: unknown key 'p99' \(known: p95_ms, p99_ms"
    ):
        parse_slo(raw)
    with pytest.raises(SLOError, match="unknown key 'sok'"):
        parse_slo({"format": 1, "version": "x", "scenarios": {"Aggregated": {}}, "sok": {}})


def test_negative_limit_and_bad_knee_line_are_refused() -> None:
    with pytest.raises(
        SLOError, match=r"scenarios\['Aggregated'\]\.p95_ms: .*greater than or equal to 0 \(got -1\)"
    ):
        parse_slo({"format": 1, "version": "x", "scenarios": {"Aggregated": {"p95_ms": -1}}})
    with pytest.raises(SLOError, match="knee_line 'Aggregated' is not one of the scenarios"):
        parse_slo({"format": 1, "version": "x", "scenarios": {"/explain": {}}, "knee_line": "Aggregated"})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": 2}, r"format: Input should be 1 \(got 2\)"),
        ({"format": None}, r"format: Input should be 1 \(got None\)"),
        ({"version": ""}, r"version: .*at least 1 character"),
        ({"scenarios": {}}, r"scenarios: .*at least 1 item"),
        ({"scenarios": ["Aggregated"]}, r"scenarios: Input should be a valid dictionary"),
        ({"scenarios": {"Aggregated": {"p99_ms": "fast"}}}, AGGREGATED + r"\.p99_ms: .*\(got 'fast'\)"),
        ({"scenarios": {"Aggregated": {"min_rps": True}}}, AGGREGATED + r"\.min_rps: .*number \(got True\)"),
        ({"scenarios": {"Aggregated": {"max_error_rate": 2}}}, r"max_error_rate: .*less than or equal to 1"),
        ({"load": {"users": 2.5}}, r"load\.users: Input should be a valid integer \(got 2\.5\)"),
        ({"regression": {"max_p99_increase": -0.1}}, r"regression\.max_p99_increase: .*greater than"),
        ({"soak": []}, r"soak: Input should be a valid dictionary"),
    ],
)
def test_each_bad_value_is_named_with_its_key(change: dict, message: str) -> None:
    raw = {"format": 1, "version": "x", "scenarios": {"Aggregated": {"p99_ms": 10}}, **change}
    with pytest.raises(SLOError, match=message):
        parse_slo(raw)


def test_missing_keys_and_a_bad_file_are_named(tmp_path: Path) -> None:
    with pytest.raises(SLOError, match="format: Field required"):
        parse_slo({"version": "x", "scenarios": {"Aggregated": {}}})
    with pytest.raises(SLOError, match="the SLO file must be a mapping"):
        parse_slo(["format", 1])
    path = tmp_path / "slo.yaml"
    path.write_text("format: 1\nversion: x\nscenarios:\n  Aggregated:\n    p95ms: 10\n")
    with pytest.raises(SLOError, match=rf"^{path}: scenarios\['Aggregated'\]: unknown key 'p95ms'"):
        load_slo(path)
    path.write_text("format: 1\nscenarios: {Aggregated: [}\n")
    with pytest.raises(SLOError, match=rf"^{path}: not valid YAML"):
        load_slo(path)


def test_empty_sections_mean_defaults_and_a_numeric_version_is_read_as_text() -> None:
    slo = parse_slo({"format": 1, "version": 3, "scenarios": {"Aggregated": None}, "load": None})
    assert (
        slo.version == "3" and slo.load == LoadSettings() and slo.scenarios["Aggregated"] == ScenarioLimits()
    )


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
