"""The SLO file (``loadtests/slo.yaml``): limits per scenario, the load they hold for, tolerances.

The file is validated by the pydantic models below: every key must be one of their fields, every number a
non-negative number (not a string, not a boolean), and a bad file is refused with an :class:`SLOError` that
names the file, the key and the value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

DEFAULT_SLO_PATH = Path(__file__).with_name("slo.yaml")
"""The SLO file versioned with the code."""

Amount = Annotated[float, Field(ge=0, strict=True)]
"""A non-negative number written as a number (``10`` or ``0.5``; ``"10"`` or ``true`` are refused)."""

Count = Annotated[int, Field(ge=0, strict=True)]
"""A non-negative whole number written as a number."""


class SLOError(ValueError):
    """The SLO file is missing a field or holds one that cannot be right."""


class _Section(BaseModel):
    """A mapping of the SLO file: only its known keys, immutable; an empty (``null``) one means defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys_only(cls, data: Any) -> Any:
        if data is None:
            return {}
        if isinstance(data, dict):
            unknown = sorted(str(key) for key in set(data) - set(cls.model_fields))
            if unknown:
                known = ", ".join(cls.model_fields)
                raise ValueError(f"unknown key {unknown[0]!r} (known: {known})")
        return data


class ScenarioLimits(_Section):
    """Limits for one Locust request name (or ``Aggregated``); ``None`` means not checked."""

    p95_ms: Amount | None = None
    """Largest acceptable 95th percentile of response time, in milliseconds."""
    p99_ms: Amount | None = None
    """Largest acceptable 99th percentile of response time, in milliseconds."""
    max_error_rate: Annotated[Amount, Field(le=1)] | None = None
    """Largest acceptable share of failed requests (0.001 = 0.1 %), at most 1."""
    min_rps: Amount | None = None
    """Smallest acceptable throughput in requests per second, under the SLO's load profile."""


class LoadSettings(_Section):
    """The load the limits were set for; the gate uses it unless told otherwise."""

    users: Count = 10
    """Simulated users."""
    spawn_rate: Amount = 10.0
    """Users started per second."""
    run_seconds: Count = 30
    """Length of the run, in seconds."""
    user_rps: Amount = 2.0
    """Requests per second each user tries to send."""

    def same_offered_load(self, other: LoadSettings) -> bool:
        """Whether ``other`` offers the same request rate (users x per-user rate), whatever its length."""
        return self.users == other.users and self.user_rps == other.user_rps


class RegressionLimits(_Section):
    """How much worse than the last accepted run a new run may be."""

    max_throughput_drop: Amount = 0.10
    """Largest acceptable relative drop of aggregated throughput (0.10 = 10 %)."""
    max_p99_increase: Amount = 0.10
    """Largest acceptable relative rise of a p99 latency (0.10 = 10 %)."""
    p99_noise_floor_ms: Amount = 5.0
    """A p99 rise smaller than this many milliseconds never counts (timer and scheduler noise)."""


class SoakLimits(_Section):
    """How much a soak may drift between its start and its end."""

    max_rss_growth_mib_per_hour: Amount = 64.0
    """Largest acceptable growth trend of the service's resident memory (MiB per hour, least squares)."""
    max_p95_growth: Amount = 0.5
    """Largest acceptable rise of the aggregated p95 from the soak's first third to its last (0.5 = 50 %)."""


class SLO(_Section):
    """The limits of an SLO file."""

    model_config = ConfigDict(coerce_numbers_to_str=True)

    version: str = Field(min_length=1)
    """Version of the limits; bump it whenever a limit changes, so results name the limits they met."""
    scenarios: dict[str, ScenarioLimits] = Field(min_length=1)
    """Limits per Locust request name, plus ``Aggregated`` for all requests together."""
    load: LoadSettings = LoadSettings()
    """The load under which the limits (throughput especially) hold."""
    regression: RegressionLimits = RegressionLimits()
    """Tolerances of the comparison with the last accepted run."""
    soak: SoakLimits = SoakLimits()
    """Drift limits of the soak mode."""
    knee_line: str = "Aggregated"
    """Line whose p95 and p99 limits decide the knee in a step ramp (every line's error limit also counts)."""

    @model_validator(mode="after")
    def _knee_line_is_a_scenario(self) -> Self:
        if self.knee_line not in self.scenarios:
            raise ValueError(f"knee_line {self.knee_line!r} is not one of the scenarios")
        return self


class SLOFile(SLO):
    """The SLO file as written: the limits and the layout they are written in."""

    format: Literal[1]
    """Layout of the file; this code reads layout 1 and refuses any other rather than misread it."""


def _where(location: tuple[int | str, ...]) -> str:
    """``('scenarios', '/explain', 'p99_ms')`` -> ``scenarios['/explain'].p99_ms``."""
    text = ""
    for index, part in enumerate(location):
        inside_scenarios = index == 1 and location[0] == "scenarios"
        text += f"[{part!r}]" if inside_scenarios else f".{part}" if text else str(part)
    return text


def _describe(error: ErrorDetails) -> str:
    """One validation error as ``key: problem (got value)``."""
    problem = str(error["ctx"]["error"]) if error["type"] == "value_error" else error["msg"]
    if error["type"] not in ("value_error", "missing"):
        problem += f" (got {error['input']!r})"
    where = _where(error["loc"])
    return f"{where}: {problem}" if where else problem


def parse_slo(raw: Any) -> SLO:
    """Check and convert the parsed YAML of an SLO file; raise :class:`SLOError` naming each bad key."""
    if not isinstance(raw, dict):
        raise SLOError("the SLO file must be a mapping")
    try:
        return SLOFile.model_validate(raw)
    except ValidationError as exc:
        raise SLOError("; ".join(_describe(error) for error in exc.errors())) from None


def load_slo(path: str | Path = DEFAULT_SLO_PATH) -> SLO:
    """Read an SLO file; raise :class:`SLOError` naming the file and the problem."""
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as exc:
        raise SLOError(f"{path}: not valid YAML: {exc}") from None
    try:
        return parse_slo(raw)
    except SLOError as exc:
        raise SLOError(f"{path}: {exc}") from None
