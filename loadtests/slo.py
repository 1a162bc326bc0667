"""The SLO file (``loadtests/slo.yaml``): limits per scenario, the load they hold for, tolerances."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

DEFAULT_SLO_PATH = Path(__file__).with_name("slo.yaml")
"""The SLO file versioned with the code."""

SLO_FORMAT = 1
"""Layout of the SLO file this code reads (the file's ``format``)."""


class SLOError(ValueError):
    """The SLO file is missing a field or holds one that cannot be right."""


@dataclass(frozen=True)
class ScenarioLimits:
    """Limits for one Locust request name (or ``Aggregated``); ``None`` means not checked."""

    p95_ms: float | None = None
    """Largest acceptable 95th percentile of response time, in milliseconds."""
    p99_ms: float | None = None
    """Largest acceptable 99th percentile of response time, in milliseconds."""
    max_error_rate: float | None = None
    """Largest acceptable share of failed requests (0.001 = 0.1 %)."""
    min_rps: float | None = None
    """Smallest acceptable throughput in requests per second, under the SLO's load profile."""


@dataclass(frozen=True)
class LoadSettings:
    """The load the limits were set for; the gate uses it unless told otherwise."""

    users: int = 10
    """Simulated users."""
    spawn_rate: float = 10.0
    """Users started per second."""
    run_seconds: int = 30
    """Length of the run, in seconds."""
    user_rps: float = 2.0
    """Requests per second each user tries to send."""

    def same_offered_load(self, other: LoadSettings) -> bool:
        """Whether ``other`` offers the same request rate (users x per-user rate), whatever its length."""
        return self.users == other.users and self.user_rps == other.user_rps


@dataclass(frozen=True)
class RegressionLimits:
    """How much worse than the last accepted run a new run may be."""

    max_throughput_drop: float = 0.10
    """Largest acceptable relative drop of aggregated throughput (0.10 = 10 %)."""
    max_p99_increase: float = 0.10
    """Largest acceptable relative rise of a p99 latency (0.10 = 10 %)."""
    p99_noise_floor_ms: float = 5.0
    """A p99 rise smaller than this many milliseconds never counts (timer and scheduler noise)."""


@dataclass(frozen=True)
class SoakLimits:
    """How much a soak may drift between its start and its end."""

    max_rss_growth_mib_per_hour: float = 64.0
    """Largest acceptable growth trend of the service's resident memory (MiB per hour, least squares)."""
    max_p95_growth: float = 0.5
    """Largest acceptable rise of the aggregated p95 from the soak's first third to its last (0.5 = 50 %)."""


@dataclass(frozen=True)
class SLO:
    """The whole SLO file."""

    version: str
    """Version of the limits; bump it whenever a limit changes, so results name the limits they met."""
    scenarios: dict[str, ScenarioLimits]
    """Limits per Locust request name, plus ``Aggregated`` for all requests together."""
    load: LoadSettings = field(default_factory=LoadSettings)
    """The load under which the limits (throughput especially) hold."""
    regression: RegressionLimits = field(default_factory=RegressionLimits)
    """Tolerances of the comparison with the last accepted run."""
    soak: SoakLimits = field(default_factory=SoakLimits)
    """Drift limits of the soak mode."""
    knee_line: str = "Aggregated"
    """Line whose p95 and p99 limits decide the knee in a step ramp (every line's error limit also counts)."""


def _build(kind: type, raw: Any, where: str) -> Any:
    if raw is None:
        return kind()
    if not isinstance(raw, dict):
        raise SLOError(f"{where} must be a mapping")
    known = {f.name for f in fields(kind)}
    unknown = set(raw) - known
    if unknown:
        raise SLOError(f"{where}: unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(known))})")
    for key, value in raw.items():
        if value is not None and (not isinstance(value, int | float) or isinstance(value, bool) or value < 0):
            raise SLOError(f"{where}.{key} must be a non-negative number")
    return kind(**raw)


def parse_slo(raw: Any) -> SLO:
    """Check and convert the parsed YAML of an SLO file."""
    if not isinstance(raw, dict):
        raise SLOError("the SLO file must be a mapping")
    if raw.get("format") != SLO_FORMAT:
        raise SLOError(f"format must be {SLO_FORMAT}")
    if not raw.get("version"):
        raise SLOError("version is required")
    scenarios_raw = raw.get("scenarios")
    if not isinstance(scenarios_raw, dict) or not scenarios_raw:
        raise SLOError("scenarios must map request names to limits")
    scenarios = {
        str(name): _build(ScenarioLimits, limits, f"scenarios[{name!r}]")
        for name, limits in scenarios_raw.items()
    }
    for name, limits in scenarios.items():
        if limits.max_error_rate is not None and limits.max_error_rate > 1:
            raise SLOError(f"scenarios[{name!r}].max_error_rate is a share, at most 1")
    knee_line = str(raw.get("knee_line", "Aggregated"))
    if knee_line not in scenarios:
        raise SLOError(f"knee_line {knee_line!r} is not one of the scenarios")
    return SLO(
        version=str(raw["version"]),
        scenarios=scenarios,
        load=_build(LoadSettings, raw.get("load"), "load"),
        regression=_build(RegressionLimits, raw.get("regression"), "regression"),
        soak=_build(SoakLimits, raw.get("soak"), "soak"),
        knee_line=knee_line,
    )


def load_slo(path: str | Path = DEFAULT_SLO_PATH) -> SLO:
    """Read an SLO file; raise :class:`SLOError` naming the file and the problem."""
    try:
        return parse_slo(yaml.safe_load(Path(path).read_text()))
    except SLOError as exc:
        raise SLOError(f"{path}: {exc}") from None
