"""Every option of the release gate, read from command-line flags and ``CREDIT_SCORING_GATE_*`` variables.

One pydantic-settings model holds the options, as for the drift sidecar (``monitoring/settings.py``): the
docstring under each field is its ``--help`` text, and its name gives both the flag (``run_time`` ->
``--run-time``) and the environment variable (``CREDIT_SCORING_GATE_RUN_TIME``). Precedence: flag >
environment variable > default. Bad values are refused with a :class:`pydantic.ValidationError` naming the
option (the gate then exits with 2), unknown flags by argparse (exit 2 too).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, CliSettingsSource, SettingsConfigDict

from deploy.bento_server import REPO_ROOT
from loadtests.baseline import DEFAULT_BASELINE_PATH
from loadtests.profile import LoadProfile
from loadtests.slo import DEFAULT_SLO_PATH

ENV_PREFIX = "CREDIT_SCORING_GATE_"
"""Prefix of the environment variables that set options (``CREDIT_SCORING_GATE_MODE=knee``)."""

DEFAULT_BENCHMARKS = REPO_ROOT / "BENCHMARKS.md"
"""File whose "Load tests" section ``--record-benchmark`` writes when it is given without a file."""

DESCRIPTION = (
    "Load-test the credit-scoring service with Locust and judge the run against loadtests/slo.yaml and the "
    "last accepted run. Without --url or --bento, --model-tag is served here with bentoml serve. "
    f"Every option can also be set by an environment variable {ENV_PREFIX}<OPTION> (upper case, "
    "underscores); a flag wins over the variable. "
    "Exit 0 = pass, 1 = a check failed, 2 = the run could not be made."
)


class GateSettings(BaseSettings):
    """Options of one gate, knee or soak run: target, load, SLO, baseline and records."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_ignore_empty=True,
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
        cli_kebab_case=True,
        cli_implicit_flags="toggle",
        cli_show_env_vars=True,
        cli_hide_none_type=True,
    )

    # The target (default: serve --model-tag locally with bentoml serve).
    url: str | None = None
    """Base URL of a running service to load, e.g. http://127.0.0.1:3000 (not with --bento)."""
    bento: str | None = None
    """Tag of a built Bento to serve here (bentoml serve TAG) on a free port (not with --url)."""
    model_tag: str = "credit_scorer:latest"
    """Bundle to serve (with service.service:CreditScorer) and to sample applicants from."""
    allow_remote: bool = False
    """Allow a --url whose host is not the loopback interface."""
    service_env: list[str] = []
    """Extra environment of the served process as NAME=VALUE, e.g. CREDIT_SCORING_WORKERS=2 (repeatable;
    commas separate items, so write a value holding a comma as a JSON list: '["NAME=a,b"]')."""
    ready_timeout: float = Field(default=120.0, gt=0)
    """Seconds to wait for /readyz of a service started here."""

    # The run.
    mode: Literal["gate", "knee", "soak"] = "gate"
    """gate: SLO load and verdict; knee: step ramp, report the knee; soak: steady load, watch drift."""
    slo: Path = DEFAULT_SLO_PATH
    """SLO file: limits per scenario, the load they hold for, regression and soak tolerances."""
    results: Path | None = None
    """Results folder (default: artifacts/loadtests/<time>-<mode>)."""
    users: int | None = Field(default=None, ge=1)
    """Simulated users (default: the SLO file's load.users)."""
    spawn_rate: float | None = Field(default=None, gt=0)
    """Users started per second (default: the SLO file's load.spawn_rate)."""
    run_time: int | None = Field(default=None, ge=1)
    """Length of a gate run in seconds (default: the SLO file's load.run_seconds)."""
    user_rps: float | None = Field(default=None, gt=0)
    """Requests per second per user (default: the SLO file's load.user_rps; knee mode: 5)."""
    locust_processes: int | None = Field(default=None, ge=1)
    """Locust processes generating the load (N > 1: Locust's --processes N, a master and N workers on this
    machine); default: 1 in gate and soak mode, one per core in knee mode."""
    applicants: Path | None = None
    """JSON list of feature vectors ({id, features}) to send instead of the reference sample."""
    applicant_documents: Path | None = None
    """JSON file of applicant documents ({applicants: [{id, applicant}, ...]}) to send instead of the bundle's
    example applicants."""
    reference_rows: int = Field(default=2000, ge=1)
    """Reference rows, and at most as many example applicants, exported for sampling."""
    steps: str = LoadProfile.step_users
    """Knee mode: users per step, comma-separated, ascending."""
    step_seconds: float = Field(default=15.0, gt=0)
    """Knee mode: seconds per step."""
    soak_users: int = Field(default=10, ge=1)
    """Soak mode: users held."""
    soak_seconds: float = Field(default=600.0, gt=0)
    """Soak mode: length in seconds."""
    window_seconds: float = Field(default=30.0, gt=0)
    """Soak mode: drift window width in seconds."""

    # The baseline and records.
    baseline: Path = DEFAULT_BASELINE_PATH
    """Last accepted run, compared with for regressions (written by --accept)."""
    no_baseline: bool = False
    """Skip the regression comparison with the last accepted run."""
    accept: bool = False
    """Gate mode: store this run as the new baseline if every check passed."""
    record_benchmark: Path | None = None
    """Knee mode: write the knee throughput and p99 into the 'Load tests' section of this file
    (given without a file: BENCHMARKS.md)."""
    benchmark_note: str = ""
    """A paragraph added to the recorded section."""

    @field_validator("service_env")
    @classmethod
    def _name_equals_value(cls, pairs: list[str]) -> list[str]:
        for pair in pairs:
            name, sep, _ = pair.partition("=")
            if not sep or not name:
                raise ValueError(f"expects NAME=VALUE, got {pair!r}")
        return pairs

    @model_validator(mode="after")
    def _options_fit_together(self) -> Self:
        if self.url and self.bento:
            raise ValueError("give --url or --bento, not both")
        if self.record_benchmark and self.mode != "knee":
            raise ValueError("--record-benchmark records the knee: use it with --mode knee")
        if self.accept and self.mode != "gate":
            raise ValueError("--accept stores a gate run: use it with --mode gate")
        return self

    @property
    def service_environment(self) -> dict[str, str]:
        """``--service-env`` as a mapping (a later ``NAME`` wins)."""
        return dict(pair.split("=", 1) for pair in self.service_env)


def _add_argument(parser: argparse.ArgumentParser, *names: str, **kwargs: Any) -> argparse.Action:
    """argparse's ``add_argument`` for the flags of :class:`GateSettings`; ``--record-benchmark`` may come
    without its file (then :data:`DEFAULT_BENCHMARKS`)."""
    if "--record-benchmark" in names:
        kwargs.update(nargs="?", const=str(DEFAULT_BENCHMARKS), metavar="FILE")
    return parser.add_argument(*names, **kwargs)


def build_parser() -> tuple[argparse.ArgumentParser, CliSettingsSource[GateSettings]]:
    """The gate's command line (one flag per :class:`GateSettings` field) and the source reading it."""
    parser = argparse.ArgumentParser(prog="python -m loadtests.gate", description=DESCRIPTION)
    return parser, CliSettingsSource(GateSettings, root_parser=parser, add_argument_method=_add_argument)


def parse_settings(argv: Sequence[str]) -> GateSettings:
    """Validated options from the flags in ``argv``, then ``CREDIT_SCORING_GATE_*`` variables, then defaults.

    ``--help`` and unknown flags exit (0 and 2); bad values raise :class:`pydantic.ValidationError`.
    """
    _, source = build_parser()
    return GateSettings(_cli_settings_source=source(args=list(argv)))
