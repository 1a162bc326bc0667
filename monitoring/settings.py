"""Every option of the drift sidecar, read from command-line flags and ``CREDIT_SCORING_MONITOR_*`` variables.

One pydantic-settings model holds the options; the docstring under each field is the single source of its
``--help`` text, and its name gives both the flag (``window_records`` -> ``--window-records``) and the
environment variable (``CREDIT_SCORING_MONITOR_WINDOW_RECORDS``). Precedence: flag > environment variable >
default. Bad values are refused with a :class:`pydantic.ValidationError` naming the option.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, CliSettingsSource, SettingsConfigDict

ENV_PREFIX = "CREDIT_SCORING_MONITOR_"
"""Prefix of the environment variables that set options (``CREDIT_SCORING_MONITOR_WINDOW_RECORDS=...``)."""


class MonitorSettings(BaseSettings):
    """Configuration of the drift sidecar (ingest, windows, drift computation, HTTP endpoint)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_ignore_empty=True,
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
        cli_kebab_case=True,
        cli_show_env_vars=True,
        cli_hide_none_type=True,
    )

    spool_dir: Path = Path("spool")
    """Directory of payload-log segments shared with the scoring service (``seg-*.arrows[.open]``)."""
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
    report_min_interval_seconds: float = Field(default=60.0, ge=0)
    """``/report`` renders Evidently's HTML report at most once per this many seconds (seconds of CPU each),
    and not again while the window is unchanged; requests in between get the last page. After a failed
    rendering, ``/report`` answers 429 with Retry-After for this long instead of trying again."""
    http_max_threads: int = Field(default=8, ge=2)
    """Requests the HTTP endpoint handles at once (a thread each); a complete request beyond them gets 503
    with Retry-After. At most half of them render or wait for ``/report`` (beyond: 429)."""
    http_max_pending_connections: int = Field(default=64, ge=1)
    """Connections whose request has not fully arrived yet (they hold no thread); one more closes the one
    that waited longest."""
    http_request_timeout_seconds: float = Field(default=5.0, gt=0)
    """A connection must deliver its whole request line and headers within this time after it was accepted,
    or it is closed unanswered."""
    http_write_timeout_seconds: float = Field(default=30.0, gt=0)
    """Longest time to send one whole response; a client that stops reading is disconnected."""
    window_records: int = Field(default=5_000, ge=1)
    """Count-based window: drift is computed on at most the last N records."""
    window_minutes: float = 0.0
    """Time-based window: only records scored in the last T minutes count (0 disables the time limit)."""
    max_window_records: int = 50_000
    """Hard cap on records held in memory, whatever the window settings (bounds memory and checkpoints)."""
    min_records: int = Field(default=1_000, ge=1)
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
    drift_share: float = Field(default=0.2, gt=0, le=1)
    """Dataset drift is flagged when at least this share of features drifted. Not Evidently's 0.5: on the
    generator's trained bundle (40 features) undrifted windows never drift more than 1 feature, a broad
    population shift (``young_high_income``) drifts 17-19 and never reaches 0.5 (BENCHMARKS.md,
    Monitoring)."""
    calibration_windows: int = Field(default=30, ge=5)
    """Bootstrap windows drawn from the reference sample to calibrate each feature's drift threshold."""
    calibration_sigmas: float = Field(default=4.0, gt=0)
    """A threshold starts at mean + this many standard deviations of the bootstrapped no-drift scores."""
    calibration_margin: float = Field(default=1.5, gt=0)
    """Factor applied on top, for what the bootstrap cannot see (heavy tails, a small reference sample)."""
    wasserstein_min_threshold: float = 0.05
    """Floor of the normalised Wasserstein threshold (numeric features): smaller shifts never alarm."""
    jensenshannon_min_threshold: float = 0.03
    """Floor of the Jensen-Shannon distance threshold (0/1 flags and categorical features)."""
    missing_share_min_diff: float = 0.02
    """A feature's missing share must move by at least this much from the reference to count as drift."""
    missing_share_z: float = 5.0
    """...and by this many binomial standard errors (guards against noise on small windows)."""
    decision_store_url: str | None = None
    """SQLAlchemy URL of the decision store every ingested decision is written to: ``sqlite:///path.db`` or
    ``postgresql://user:password@host:5432/db`` (psycopg 3). Default: a SQLite file ``decisions.sqlite`` next
    to the checkpoint. The checkpoint waits for the decisions it covers to be committed. ``none``: no store
    (and no ``POST /outcomes``)."""
    decision_store_max_pending: int = Field(default=100_000, ge=1)
    """Decisions held in memory while the decision store cannot be written; beyond, the sidecar stops
    reading the spool (which then grows up to the service's spool limit) until a write succeeds."""
    decision_store_retry_max_seconds: float = Field(default=30.0, gt=0)
    """Longest wait between two attempts to write to a decision store that failed (1 s doubling up to it)."""
    outcomes_max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    """Largest body of ``POST /outcomes`` (CSV or JSON); a larger one is refused with 413."""
    seed: int = 0
    """Seed of the calibration bootstrap, so thresholds are reproducible."""
    log_level: str = "INFO"
    """Logging level (DEBUG, INFO, WARNING, ERROR)."""

    @model_validator(mode="after")
    def _windows_are_consistent(self) -> Self:
        if self.max_window_records < self.window_records:
            raise ValueError(
                f"max_window_records ({self.max_window_records}) must be >= window_records "
                f"({self.window_records})"
            )
        if self.min_records > self.window_records:
            raise ValueError(
                f"min_records ({self.min_records}) must be <= window_records ({self.window_records})"
            )
        return self

    @property
    def checkpoint_path(self) -> Path:
        """File holding the checkpoint (offsets, counters and window, written atomically together)."""
        base = self.state_dir if self.state_dir is not None else self.spool_dir / ".drift-sidecar"
        return base / "checkpoint.npz"

    @property
    def decision_store(self) -> str | None:
        """The decision store's URL: :attr:`decision_store_url`, or the SQLite file next to the checkpoint;
        ``None`` when it is ``none``."""
        if self.decision_store_url is not None:
            return None if self.decision_store_url.strip().lower() == "none" else self.decision_store_url
        return f"sqlite:///{self.checkpoint_path.parent.resolve() / 'decisions.sqlite'}"

    @property
    def window_seconds(self) -> float | None:
        """Time-based window length in seconds, or ``None`` when only the count limits the window."""
        return self.window_minutes * 60.0 if self.window_minutes > 0 else None


def add_arguments(parser: argparse.ArgumentParser) -> CliSettingsSource[MonitorSettings]:
    """Add one ``--flag`` per setting to ``parser`` (help: docstring, default, environment variable).

    Returns the source that turns the parsed flags into settings: pass it to :func:`from_sources`.
    """
    return CliSettingsSource(MonitorSettings, root_parser=parser)


def from_sources(cli: CliSettingsSource[MonitorSettings], args: argparse.Namespace) -> MonitorSettings:
    """Validated settings from the flags in ``args``, then ``CREDIT_SCORING_MONITOR_*`` variables, then
    defaults.

    Raises :class:`pydantic.ValidationError` (a :class:`ValueError`) naming every bad option.
    """
    return MonitorSettings(_cli_settings_source=cli(parsed_args=args))
