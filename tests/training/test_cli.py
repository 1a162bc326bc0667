"""The training command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from service.bundle import register
from tests.factories import make_tiny_bundle
from training.cli import build_parser, main, training_config
from training.synthetic import SCENARIOS

REPO_ROOT = Path(__file__).resolve().parents[2]


def _help_of(*command: str) -> str:
    run = subprocess.run(
        [sys.executable, "-m", "training", *command, "--help"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return run.stdout


def test_every_option_is_explained_in_help() -> None:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command").choices
    for name, sub in subparsers.items():
        for action in sub._actions:
            if action.option_strings and action.dest != "help":
                assert action.help, f"{name} {action.option_strings} has no help text"


def test_help_runs_as_a_module() -> None:
    top = _help_of()
    for command in ("run", "train", "generate", "scenarios"):
        assert command in top
    assert "--applicants" in _help_of("run")
    assert "--scenario" in _help_of("generate")


def test_scenarios_are_listed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenarios"]) == 0
    out = capsys.readouterr().out
    for name in ("young_high_income", "ext_source_bug", "revolving_mix"):
        assert name in out


@pytest.mark.parametrize(
    "command",
    [
        ["generate", "--out", "{out}", "--quiet"],
        ["traffic", "--url", "http://127.0.0.1:9"],
    ],
    ids=["generate", "traffic"],
)
def test_unknown_scenario_is_refused_by_the_parser(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [arg.format(out=tmp_path / "out") for arg in command] + ["--scenario", "nope"]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"python -m training {command[0]}: error: argument --scenario: unknown scenario 'nope'" in err
    for known in SCENARIOS:
        assert known in err
    assert not (tmp_path / "out").exists()


def test_bad_numbers_are_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--applicants", "0"])
    assert exit_info.value.code == 2
    assert "must be a positive integer" in capsys.readouterr().err


def test_generate_writes_the_kaggle_files(tmp_path: Path) -> None:
    assert main(["generate", "--out", str(tmp_path), "--applicants", "300", "--quiet"]) == 0
    names = {p.name for p in tmp_path.iterdir()}
    assert {"application_train.csv", "bureau_balance.csv", "true_probability.csv"} <= names


def test_run_keeps_an_existing_model(bentoml_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tag = register(make_tiny_bundle())
    assert main(["run"]) == 0
    out = capsys.readouterr().out
    assert "already registered" in out
    assert tag.split(":")[1] in out


def test_protected_columns_are_read_and_checked_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["train", "--protected", "CNT_CHILDREN, NAME_FAMILY_STATUS"])
    assert args.protected == ("CNT_CHILDREN", "NAME_FAMILY_STATUS")
    assert build_parser().parse_args(["train"]).protected == ()
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--protected", "CNT_CHILDREN,SK_DPD"])
    assert "not columns of the application table: SK_DPD" in capsys.readouterr().err


def test_the_age_rule_is_read_checked_and_reaches_the_training_config(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parser = build_parser()
    assert parser.parse_args(["train"]).age_rule == "monotone"
    args = parser.parse_args(["train", "--age-rule", "excluded", "--protected", "DAYS_BIRTH,CNT_CHILDREN"])
    config = training_config(args)
    assert config.modeling.selection.age_rule == "excluded"
    assert config.modeling.selection.protected() == ["CNT_CHILDREN", "CODE_GENDER", "DAYS_BIRTH"]
    assert (
        training_config(parser.parse_args(["run", "--age-rule", "free"])).modeling.selection.age_rule
        == "free"
    )
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args(["train", "--age-rule", "never"])
    assert exit_info.value.code == 2
    assert "argument --age-rule: invalid choice: 'never'" in capsys.readouterr().err


def test_the_realism_section_settings_reach_the_training_config() -> None:
    parser = build_parser()
    default = training_config(parser.parse_args(["train", "--data", "real"]))
    assert default.realism_in_report and default.realism_rows == 20_000
    config = training_config(
        parser.parse_args(["run", "--data", "real", "--no-realism-in-report", "--realism-rows", "500"])
    )
    assert (config.realism_in_report, config.realism_rows) == (False, 500)
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--realism-rows", "0"])


def test_protecting_age_under_another_age_rule_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--protected", "DAYS_BIRTH", "--artifacts", str(tmp_path / "artifacts")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --age-rule: DAYS_BIRTH is a protected attribute" in err
    assert "must be 'excluded', not 'monotone'" in err
    assert not (tmp_path / "artifacts").exists()
