"""Every option of the drift sidecar, read from command-line flags and ``CREDIT_SCORING_MONITOR_*`` variables.

One dataclass holds the options; the docstring under each field is the single source of its ``--help`` text,
so the documentation cannot drift from the code. Precedence: flag > environment variable > default.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import itertools
import os
from dataclasses import MISSING, dataclass, fields
from functools import cache
from pathlib import Path
from typing import Any

ENV_PREFIX = "CREDIT_SCORING_MONITOR_"
"""Prefix of the environment variables that set options (``CREDIT_SCORING_MONITOR_WINDOW_RECORDS=...``)."""


@dataclass
class MonitorSettings:
    """Configuration of the drift sidecar (ingest, windows, drift computation, HTTP endpoint)."""

    spool_dir: Path = Path("spool")
    """Directory of payload-log segments shared with the scoring service (``seg-*.jsonl[.open]``)."""
    state_dir: Path | None = None
    """Where the checkpoint (offsets + window) is kept; default ``<spool_dir>/.drift-sidecar``."""
    bundle_dir: Path | None = None
    """Directory of a saved model bundle to read the reference sample from; overrides ``model_tag``."""
    model_tag: str = "credit_scorer:latest"
    """BentoML model-store tag of the bundle whose reference sample is the drift baseline."""
    host: str = "127.0.0.1"
    """Address the HTTP endpoint binds to; set ``0.0.0.0`` in a pod so Prometheus can scrape it."""
    port: int = 9108
    """Port of the sidecar's own ``/metrics``, ``/livez``, ``/readyz`` and ``/report``."""
    report_min_interval_seconds: float = 60.0
    """``/report`` renders Evidently's HTML report at most once per this many seconds (seconds of CPU each);
    requests in between get the last page."""
    window_records: int = 5_000
    """Count-based window: drift is computed on at most the last N records."""
    window_minutes: float = 0.0
    """Time-based window: only records scored in the last T minutes count (0 disables the time limit)."""
    max_window_records: int = 50_000
    """Hard cap on records held in memory, whatever the window settings (bounds memory and checkpoints)."""
    min_records: int = 1_000
    """Below this many records in the window, drift is not computed and "insufficient data" is reported."""
    recompute_rows: int = 1_000
    """Recompute drift once this many new records arrived since the last computation..."""
    recompute_interval_seconds: float = 60.0
    """...or once this many seconds passed and the window changed, whichever comes first."""
    poll_interval_seconds: float = 0.5
    """Pause between two scans of the spool when there is nothing new to read."""
    checkpoint_interval_seconds: float = 2.0
    """Least time between checkpoints of offsets and window (later reads are redone after a crash)."""
    read_chunk_bytes: int = 4 * 1024 * 1024
    """Most bytes read from one segment in one step (bounds the ingest buffer)."""
    stale_open_seconds: float = 600.0
    """An ``.open`` segment unchanged for this long belongs to a dead writer and is treated as closed."""
    delete_consumed: bool = True
    """Delete closed segments once fully consumed and checkpointed (the spool's only garbage collector)."""
    drift_share: float = 0.2
    """Dataset drift is flagged when at least this share of features drifted. Not Evidently's 0.5: on the
    generator's trained bundle (40 features) undrifted windows never drift more than 1 feature, a broad
    population shift (``young_high_income``) drifts 17-19 and never reaches 0.5 (BENCHMARKS.md,
    Monitoring)."""
    calibration_windows: int = 30
    """Bootstrap windows drawn from the reference sample to calibrate each feature's drift threshold."""
    calibration_sigmas: float = 4.0
    """A threshold starts at mean + this many standard deviations of the bootstrapped no-drift scores."""
    calibration_margin: float = 1.5
    """Factor applied on top, for what the bootstrap cannot see (heavy tails, a small reference sample)."""
    wasserstein_min_threshold: float = 0.05
    """Floor of the normalised Wasserstein threshold (numeric features): smaller shifts never alarm."""
    jensenshannon_min_threshold: float = 0.03
    """Floor of the Jensen-Shannon distance threshold (0/1 flags and categorical features)."""
    missing_share_min_diff: float = 0.02
    """A feature's missing share must move by at least this much from the reference to count as drift."""
    missing_share_z: float = 5.0
    """...and by this many binomial standard errors (guards against noise on small windows)."""
    seed: int = 0
    """Seed of the calibration bootstrap, so thresholds are reproducible."""
    log_level: str = "INFO"
    """Logging level (DEBUG, INFO, WARNING, ERROR)."""

    @property
    def checkpoint_path(self) -> Path:
        """File holding the checkpoint (offsets, counters and window, written atomically together)."""
        base = self.state_dir if self.state_dir is not None else self.spool_dir / ".drift-sidecar"
        return base / "checkpoint.npz"

    @property
    def window_seconds(self) -> float | None:
        """Time-based window length in seconds, or ``None`` when only the count limits the window."""
        return self.window_minutes * 60.0 if self.window_minutes > 0 else None

    def validate(self) -> MonitorSettings:
        """Raise :class:`ValueError` naming the first inconsistent option; return ``self`` otherwise."""
        if self.window_records < 1 or self.min_records < 1:
            raise ValueError("window_records and min_records must be at least 1")
        if self.max_window_records < self.window_records:
            raise ValueError("max_window_records must be >= window_records")
        if self.min_records > self.window_records:
            raise ValueError("min_records must be <= window_records")
        if not 0 < self.drift_share <= 1:
            raise ValueError("drift_share must be in (0, 1]")
        if self.calibration_sigmas <= 0 or self.calibration_margin <= 0:
            raise ValueError("calibration_sigmas and calibration_margin must be positive")
        if self.report_min_interval_seconds < 0:
            raise ValueError("report_min_interval_seconds must be >= 0")
        if self.calibration_windows < 5:
            raise ValueError("calibration_windows must be at least 5")
        return self


@cache
def field_help() -> dict[str, str]:
    """The docstring under each :class:`MonitorSettings` field, by field name."""
    tree = ast.parse(inspect.getsource(MonitorSettings))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs: dict[str, str] = {}
    for node, following in itertools.pairwise(body):
        is_field = isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
        if is_field and isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant):
            docs[node.target.id] = " ".join(str(following.value.value).split())
    return docs


def _converter(name: str) -> Any:
    default = {f.name: f.default for f in fields(MonitorSettings)}[name]
    if name in ("state_dir", "bundle_dir", "spool_dir"):
        return Path
    if isinstance(default, bool):
        return _parse_bool
    if isinstance(default, int):
        return int
    if isinstance(default, float):
        return float
    return str


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {text!r}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add one ``--flag`` per setting to ``parser``; help text names the environment variable and default."""
    helps = field_help()
    for f in fields(MonitorSettings):
        flag = "--" + f.name.replace("_", "-")
        env = ENV_PREFIX + f.name.upper()
        default = None if f.default is MISSING else f.default
        convert = _converter(f.name)
        metavar = "BOOL" if convert is _parse_bool else None
        parser.add_argument(
            flag,
            dest=f.name,
            type=convert,
            default=None,
            metavar=metavar,
            help=f"{helps.get(f.name, '')} [env {env}; default {default}]",
        )


def from_sources(
    args: argparse.Namespace | None = None, environ: dict[str, str] | None = None
) -> MonitorSettings:
    """Build validated settings from parsed flags, then environment variables, then defaults."""
    environ = dict(os.environ) if environ is None else environ
    values: dict[str, Any] = {}
    for f in fields(MonitorSettings):
        flag_value = getattr(args, f.name, None) if args is not None else None
        if flag_value is not None:
            values[f.name] = flag_value
            continue
        raw = environ.get(ENV_PREFIX + f.name.upper())
        if raw is not None and raw != "":
            try:
                values[f.name] = _converter(f.name)(raw)
            except ValueError as exc:
                raise ValueError(f"{ENV_PREFIX}{f.name.upper()}: {exc}") from exc
    return MonitorSettings(**values).validate()
