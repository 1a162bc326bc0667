"""Configuration of the scoring service, read from ``CREDIT_SCORING_*`` environment variables.

Every field of :class:`ServiceSettings` maps to one variable named after it in upper case with the prefix,
e.g. ``max_batch_size`` <- ``CREDIT_SCORING_MAX_BATCH_SIZE`` (pydantic-settings, as for the drift sidecar and
the load-test gate); unknown ``CREDIT_SCORING_*`` variables are ignored, bad values refused at start-up.
"""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.applicant.protected import protected_list

ENV_PREFIX = "CREDIT_SCORING_"
"""Prefix of the environment variables that configure the service."""


class ServiceSettings(BaseSettings):
    """Settings of the scoring and explainer services."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", frozen=True, use_attribute_docstrings=True
    )

    bundle_tag: str = "credit_scorer:latest"
    """BentoML model tag of the bundle to serve (``name:version`` or ``name:latest``); served from a Bento,
    ``name:latest`` means the version the Bento was built with (``service/loader.py``)."""
    max_batch_size: int = Field(default=1000, ge=1)
    """Most applicants accepted in one request; larger batches are answered with 413."""
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    """Largest request body in bytes on the scoring routes; larger bodies are answered with 413."""
    explain_max_k: int = Field(default=20, ge=0)
    """Largest ``explain`` count (strongest reasons per applicant) a caller may ask for on ``/score``."""
    refusal_reasons: bool = True
    """Give every refused applicant its principal reasons (``principal_reasons``: up to four reason codes
    with plain-language statements, from the contributions of the refused rows only); false leaves them
    out and saves that work (~50 µs of CPU per refused applicant)."""
    refusal_explainer_wait_s: float = Field(default=2.0, gt=0)
    """Seconds ``/score`` waits for the explainer service on the contributions of a batch's refused
    applicants (batches beyond ``local_explain_max_rows``) before computing them in the scoring worker.
    A restarting explainer accepts connections but answers only once its model is loaded, which can take
    longer than the caller's timeout; the worker can always compute them, so it does not wait that long."""
    local_explain_max_rows: int = Field(default=16, ge=0)
    """``/score`` requests with ``explain`` and at most this many applicants get their reasons from the
    scoring worker itself (``pred_contrib``, one thread, ~0.1-0.3 ms a row); larger batches and ``/explain``
    go to the explainer service. 0 sends every explanation to the explainer service."""
    multithread_min_rows: int = Field(default=2000, ge=1)
    """Batches with at least this many rows use LightGBM's default threading; smaller ones use one thread."""
    load_retry_s: float = Field(default=5.0, gt=0)
    """Seconds between attempts to load the bundle while it cannot be found (the service stays unready)."""
    payload_log_enabled: bool = True
    """Whether scored applicants are appended to the payload-log spool for the drift sidecar."""
    spool_dir: str = "/tmp/credit-scoring/spool"
    """Directory of the payload-log spool, shared with the drift sidecar (an ``emptyDir`` in Kubernetes)."""
    spool_max_bytes: int = Field(default=256 * 1024 * 1024, ge=0)
    """Byte limit of the whole spool directory; beyond it new records are dropped and counted."""
    segment_max_bytes: int = Field(default=8 * 1024 * 1024, ge=1)
    """A segment is closed (renamed to ``.arrows``) once it holds at least this many bytes."""
    segment_max_age_s: float = Field(default=30.0, gt=0)
    """A segment is closed once it has been open this many seconds, so the sidecar sees records promptly."""
    payload_queue_size: int = Field(default=20_000, ge=1)
    """Most records waiting for the payload-log writer thread; beyond, new ones are dropped and counted."""
    payload_flush_interval_s: float = Field(default=0.05, gt=0, le=5.0)
    """Seconds between two drains of the payload-log queue. Each drain pauses the event loop while it encodes
    the records queued since the last (about 2 µs a record in a busy worker, BENCHMARKS.md): longer intervals
    make fewer, longer pauses, and the p99 latency grows with the pause."""
    workers: int = Field(default=1, ge=1)
    """Worker processes of the scoring service (measured on 2 cores: see BENCHMARKS.md)."""
    max_concurrency: int = Field(default=64, ge=1)
    """Requests in flight per service (split evenly over the workers) before it answers 429."""
    explain_max_concurrency: int = Field(default=8, ge=1)
    """Explanations in flight per service (split evenly over the workers): ``/explain`` requests, and
    ``/score`` requests whose reasons the explainer service computes. Beyond it they get 429, from a count
    of their own: ``/explain`` holds no ``/score`` slot, and ``/score`` requests waiting for the explainer
    hold at most this many, so explanations cannot starve plain scoring."""
    body_read_timeout_s: float = Field(default=10.0, gt=0)
    """Seconds a client has to send the whole body of a ``/score`` or ``/explain`` request; a slower one
    gets 408 and its connection is closed. No capacity is held while a body is being read."""
    max_bodies_reading: int = Field(default=512, ge=1)
    """Bodies of scoring requests being read at once per worker; one more gets 429 at once."""
    max_url_bytes: int = Field(default=8192, ge=256)
    """Longest path plus query string accepted on any route (414 beyond)."""
    max_header_bytes: int = Field(default=16384, ge=1024)
    """Largest total size of a request's header names and values on any route (431 beyond)."""
    timeout_s: float = Field(default=10.0, gt=0)
    """Seconds a request on BentoML's routes may take before BentoML answers 504 (BentoML requires a limit);
    ``/score`` and ``/explain`` are answered by the front door, and ``/explain`` bounds its call to the
    explainer by ``explainer_timeout_s`` instead."""
    explainer_timeout_s: float = Field(default=10.0, gt=0)
    """Seconds an explanation may take in the explainer service before it answers 504; the scoring
    service then answers 503 ``explainer_unavailable``."""
    protected_attributes: list[str] = Field(default_factory=list)
    """Application columns no feature of the served bundle may read, besides ``CODE_GENDER`` and the
    bundle's own list (``service/applicant/protected.py``), as a JSON list, e.g.
    ``["NAME_FAMILY_STATUS", "CNT_CHILDREN"]``; a bundle whose features read one is refused at load."""
    access_log: bool = False
    """Whether BentoML writes one access-log line per request (costs throughput; off by default). The
    front door answers ``/score`` and ``/explain``, so they are not in it (see their request metrics)."""

    @field_validator("protected_attributes")
    @classmethod
    def _application_columns(cls, names: list[str]) -> list[str]:
        protected_list(names)  # ValueError for a name that is not an application column
        return names
