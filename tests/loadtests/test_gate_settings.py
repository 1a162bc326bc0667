"""The gate's options: a flag and a ``CREDIT_SCORING_GATE_*`` variable per field, documented, validated."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from deploy.gate import gate_argv
from loadtests import gate
from loadtests.gate import EXIT_ERROR
from loadtests.gate_settings import DEFAULT_BENCHMARKS, GateSettings, parse_settings
from loadtests.profile import LoadProfile
from loadtests.slo import DEFAULT_SLO_PATH


def test_help_shows_every_option_with_its_docstring_and_variable(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_settings(["--help"])
    assert exited.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for name, field in GateSettings.model_fields.items():
        assert field.description, f"{name} has no docstring"
        assert "--" + name.replace("_", "-") in text
        assert " ".join(field.description.split()) in text
        assert "CREDIT_SCORING_GATE_" + name.upper() in text.replace(" ", "")


def test_flag_beats_environment_beats_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_settings([]) == GateSettings()
    defaults = GateSettings()
    assert (defaults.mode, defaults.slo, defaults.users, defaults.steps) == (
        "gate", DEFAULT_SLO_PATH, None, LoadProfile.step_users
    )  # fmt: skip
    monkeypatch.setenv("CREDIT_SCORING_GATE_USERS", "7")
    monkeypatch.setenv("CREDIT_SCORING_GATE_NO_BASELINE", "true")
    monkeypatch.setenv("CREDIT_SCORING_GATE_MODE", "")  # an empty variable counts as unset
    from_env = parse_settings([])
    assert (from_env.users, from_env.no_baseline, from_env.mode) == (7, True, "gate")
    assert parse_settings(["--users", "3"]).users == 3


def test_switches_and_repeatable_options() -> None:
    settings = parse_settings(
        ["--allow-remote", "--url", "http://scoring.example", "--no-baseline", "--accept",
         "--service-env", "CREDIT_SCORING_WORKERS=2", "--service-env", "CREDIT_SCORING_X=a=b",
         "--service-env", '["CREDIT_SCORING_Y=1,2"]']
    )  # fmt: skip
    assert settings.allow_remote and settings.no_baseline and settings.accept
    assert settings.service_env == [
        "CREDIT_SCORING_WORKERS=2",
        "CREDIT_SCORING_X=a=b",
        "CREDIT_SCORING_Y=1,2",
    ]
    assert settings.service_environment == {
        "CREDIT_SCORING_WORKERS": "2", "CREDIT_SCORING_X": "a=b", "CREDIT_SCORING_Y": "1,2"
    }  # fmt: skip
    assert not parse_settings([]).accept


def test_record_benchmark_takes_an_optional_file(tmp_path: Path) -> None:
    assert parse_settings(["--mode", "knee", "--record-benchmark"]).record_benchmark == DEFAULT_BENCHMARKS
    chosen = tmp_path / "B.md"
    assert parse_settings(["--mode", "knee", "--record-benchmark", str(chosen)]).record_benchmark == chosen
    assert parse_settings(["--mode", "knee"]).record_benchmark is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--url", "http://127.0.0.1:1", "--bento", "b:1"], "give --url or --bento, not both"),
        (["--record-benchmark"], "--record-benchmark records the knee: use it with --mode knee"),
        (["--mode", "soak", "--accept"], "--accept stores a gate run: use it with --mode gate"),
        (["--service-env", "CREDIT_SCORING_WORKERS"], "expects NAME=VALUE, got 'CREDIT_SCORING_WORKERS'"),
        (["--mode", "fast"], "mode"),
        (["--users", "0"], "users"),
        (["--ready-timeout", "soon"], "ready_timeout"),
        (["--locust-processes", "0"], "locust_processes"),
    ],
)
def test_bad_options_are_refused_with_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_settings(argv)
    assert gate.main(argv) == EXIT_ERROR
    err = capsys.readouterr().err
    assert err.startswith("gate error") and message in err


def test_a_bad_variable_is_refused_like_a_bad_flag(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CREDIT_SCORING_GATE_SOAK_SECONDS", "-1")
    assert gate.main([]) == EXIT_ERROR
    assert "soak_seconds" in capsys.readouterr().err


def test_unknown_flag_exits_with_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        gate.main(["--no-such-option"])
    assert exited.value.code == 2
    assert "--no-such-option" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [  # as README.md, docs/loadtests.md, the Makefile and BENCHMARKS.md run the gate
        [],
        ["--bento", "credit_scoring:v1"],
        ["--url", "http://127.0.0.1:3000"],
        ["--url", "https://scoring.staging.example", "--allow-remote", "--model-tag", "credit_scorer:v1"],
        ["--model-tag", "credit_scorer:v1", "--service-env", "CREDIT_SCORING_WORKERS=2"],
        ["--applicant-documents", "my_applicants.json"],
        ["--mode", "knee", "--record-benchmark"],
        ["--mode", "knee", "--locust-processes", "4"],
        ["--mode", "soak", "--soak-users", "10", "--soak-seconds", "1800"],
        ["--accept"],
        ["--results", "run", "--run-time", "60", "--slo", "slo.yaml", "--no-baseline"],
        gate_argv("credit_scoring:v1", results=Path("run"), extra=["--run-time", "60"])[3:],
        gate_argv(None, url="http://staging:3000")[3:],
    ],
)
def test_documented_invocations_still_parse(argv: list[str]) -> None:
    parse_settings(argv)


def test_a_bad_slo_file_stops_the_gate_with_2_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    slo = tmp_path / "slo.yaml"
    slo.write_text("format: 1\nversion: x\nscenarios:\n  Aggregated:\n    p99_ms: fast\n")
    assert gate.main(["--slo", str(slo), "--results", str(tmp_path / "run"), "--no-baseline"]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert err.startswith("gate error") and "scenarios['Aggregated'].p99_ms" in err and "'fast'" in err
