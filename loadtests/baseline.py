"""The last accepted run (``--accept``): what the next run is compared with for regressions."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from loadtests.results import LineStats, line_from_json, line_to_json

DEFAULT_BASELINE_PATH = Path(__file__).with_name("baseline.json")
"""Default baseline file, versioned with the code so that the lead accepts a new one in review."""


@dataclass(frozen=True)
class Baseline:
    """An accepted run's numbers and the conditions they were measured under."""

    accepted_at: str
    """UTC time the run was accepted, ISO 8601."""
    slo_version: str
    """SLO version the run was held to."""
    load: dict[str, Any]
    """Load profile of the run; a run under another load is not compared with it."""
    target: str
    """What was load-tested (URL, model tag or Bento tag)."""
    model_tag: str
    """Exact model tag the service reported."""
    lines: dict[str, LineStats]
    """Per-scenario statistics, as in ``summary.json``."""

    def to_json(self) -> dict[str, Any]:
        """The baseline as stored on disk."""
        data = asdict(self)
        data["lines"] = {name: line_to_json(line) for name, line in self.lines.items()}
        return data


def read_baseline(path: str | Path) -> Baseline | None:
    """The stored baseline, or ``None`` when the file does not exist."""
    source = Path(path)
    if not source.is_file():
        return None
    data = json.loads(source.read_text())
    return Baseline(
        accepted_at=data["accepted_at"],
        slo_version=data["slo_version"],
        load=data["load"],
        target=data.get("target", ""),
        model_tag=data.get("model_tag", ""),
        lines={name: line_from_json(line) for name, line in data["lines"].items()},
    )


def write_baseline(path: str | Path, baseline: Baseline) -> None:
    """Store ``baseline`` at ``path`` (replacing the previous one)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(baseline.to_json(), indent=2) + "\n")
