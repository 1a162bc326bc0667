"""The command line: every option documented, environment variables, the HTML report command."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from monitoring.__main__ import build_parser, main
from monitoring.settings import MonitorSettings, from_sources
from service.bundle import Bundle
from tests.monitoring.synthetic import SpoolWriter, generate_features, records_from_frame


def settings_from(argv: list[str]) -> MonitorSettings:
    """Settings as ``python -m monitoring`` builds them from ``argv`` and the environment."""
    args = build_parser().parse_args(argv)
    return from_sources(args.settings_source, args)


@pytest.mark.parametrize("command", ["serve", "report"])
def test_every_setting_has_a_flag_with_its_docstring_and_variable(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args([command, "--help"])
    assert exited.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for name, field in MonitorSettings.model_fields.items():
        assert field.description, f"{name} has no docstring"
        assert "--" + name.replace("_", "-") in text
        assert " ".join(field.description.split()) in text
        assert "CREDIT_SCORING_MONITOR_" + name.upper() in text.replace(" ", "")


def test_flag_beats_environment_beats_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDIT_SCORING_MONITOR_WINDOW_RECORDS", "4000")
    monkeypatch.setenv("CREDIT_SCORING_MONITOR_DELETE_CONSUMED", "false")
    settings = settings_from(["serve", "--window-records", "3000", "--spool-dir", "/tmp/s"])
    assert settings.window_records == 3000 and settings.delete_consumed is False
    assert settings.spool_dir == Path("/tmp/s") and settings.checkpoint_path.parent == Path(
        "/tmp/s/.drift-sidecar"
    )
    assert settings_from(["report"]).window_records == 4000
    monkeypatch.setenv("CREDIT_SCORING_MONITOR_WINDOW_RECORDS", "")  # an empty variable counts as unset
    monkeypatch.delenv("CREDIT_SCORING_MONITOR_DELETE_CONSUMED")
    assert settings_from(["serve"]) == MonitorSettings()
    assert MonitorSettings().window_records == 5000 and MonitorSettings().delete_consumed is True


def test_boolean_flags_take_a_value() -> None:
    assert settings_from(["serve", "--delete-consumed", "false"]).delete_consumed is False
    assert settings_from(["serve", "--delete-consumed", "true"]).delete_consumed is True


def test_inconsistent_settings_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--window-records", "100", "--min-records", "200"]) == 2
    assert "min_records (200) must be <= window_records (100)" in capsys.readouterr().err
    with pytest.raises(ValidationError, match="max_window_records"):
        MonitorSettings(window_records=5_000, max_window_records=4_000)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("window_records", "abc"),
        ("window_records", "0"),
        ("drift_share", "1.5"),
        ("calibration_windows", "4"),
        ("calibration_margin", "0"),
        ("report_min_interval_seconds", "-1"),
        ("delete_consumed", "maybe"),
    ],
)
def test_bad_values_name_the_option_and_exit_with_2(
    option: str, value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--" + option.replace("_", "-"), value]) == 2
    err = capsys.readouterr().err
    assert err.startswith("invalid configuration") and option in err and repr(value) in err
    monkeypatch.setenv("CREDIT_SCORING_MONITOR_" + option.upper(), value)
    assert main(["serve"]) == 2
    assert option in capsys.readouterr().err


def test_unknown_flag_exits_with_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--window-size", "10"])
    assert exited.value.code == 2
    assert "--window-size" in capsys.readouterr().err


def test_settings_are_frozen_and_refuse_unknown_names() -> None:
    with pytest.raises(ValidationError, match="window_record"):
        MonitorSettings(window_record=10)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="frozen"):
        MonitorSettings().port = 1  # type: ignore[misc]


def test_report_writes_evidently_html_from_a_records_file(
    tmp_path: Path, bundle_dir: Path, bundle: Bundle, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = generate_features(800, len(bundle.features), seed=21)
    frame["normal_0"] += 1.0
    writer = SpoolWriter(tmp_path / "spool")
    writer.append(records_from_frame(frame, bundle))
    writer.append_bytes(b"broken")
    records = writer.close_segment()
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
    writer = SpoolWriter(tmp_path / "spool")
    writer.append(records_from_frame(generate_features(10, len(bundle.features), 1), bundle))
    writer.close_segment()
    records = tmp_path / "spool"  # a directory of segments
    (records / "seg-x-00000001.arrows").mkdir()  # not a segment: passed over, as the sidecar does
    code = main(["report", "--bundle-dir", str(bundle_dir), "--records", str(records), "--output", "x.html"])
    assert code == 2
