"""The command line: every option documented, environment variables, the HTML report command."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import pytest

from monitoring.__main__ import build_parser, main
from monitoring.settings import MonitorSettings, field_help, from_sources
from service.bundle import Bundle
from tests.monitoring.synthetic import generate_features, records_from_frame


def test_every_setting_has_a_flag_with_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--help"])
    text = capsys.readouterr().out
    helps = field_help()
    for f in fields(MonitorSettings):
        assert "--" + f.name.replace("_", "-") in text
        assert helps.get(f.name), f"{f.name} has no docstring"
        assert "CREDIT_SCORING_MONITOR_" + f.name.upper() in text.replace("\n", "").replace(" ", "")


def test_flag_beats_environment_beats_default() -> None:
    args = build_parser().parse_args(["serve", "--window-records", "3000"])
    env = {"CREDIT_SCORING_MONITOR_WINDOW_RECORDS": "4000", "CREDIT_SCORING_MONITOR_DELETE_CONSUMED": "false"}
    settings = from_sources(args, env)
    assert settings.window_records == 3000 and settings.delete_consumed is False
    assert from_sources(build_parser().parse_args(["serve"]), env).window_records == 4000
    assert from_sources(build_parser().parse_args(["serve"]), {}).window_records == 5000


def test_inconsistent_settings_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--window-records", "100", "--min-records", "200"]) == 2
    assert "min_records" in capsys.readouterr().err


def test_report_writes_evidently_html_from_a_records_file(
    tmp_path: Path, bundle_dir: Path, bundle: Bundle, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = generate_features(800, len(bundle.features), seed=21)
    frame["normal_0"] += 1.0
    records = tmp_path / "records.jsonl"
    records.write_text("\n".join(json.dumps(r) for r in records_from_frame(frame, bundle)) + "\nbroken\n")
    output = tmp_path / "report.html"
    code = main(
        ["report", "--bundle-dir", str(bundle_dir), "--records", str(records), "--output", str(output),
         "--min-records", "500", "--window-records", "2000", "--calibration-windows", "5"]
    )  # fmt: skip
    assert code == 0
    html = output.read_text()
    assert "<html" in html.lower() and "normal_0" in html
    assert "800 records" in capsys.readouterr().out


def test_report_says_insufficient_data(tmp_path: Path, bundle_dir: Path, bundle: Bundle) -> None:
    records = tmp_path / "few.jsonl"
    records.write_text(
        "\n".join(
            json.dumps(r) for r in records_from_frame(generate_features(10, len(bundle.features), 1), bundle)
        )
    )
    code = main(["report", "--bundle-dir", str(bundle_dir), "--records", str(records), "--output", "x.html"])
    assert code == 2
