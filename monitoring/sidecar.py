"""The sidecar process: ingest loop, drift loop and HTTP endpoint, wired together with their health.

Shutdown (SIGTERM, SIGINT) sets one stop event. The ingest loop finishes its step and writes a last
checkpoint; the drift loop polls the event between Evidently calls, so calibration and drift computations
end within one per-column call (:class:`monitoring.drift.ComputationCancelledError`).
"""

from __future__ import annotations

import logging
import math
import signal
import tempfile
import threading
import time
from functools import partial
from pathlib import Path

from monitoring.bounded_server import HttpLimits
from monitoring.decision_store import open_recorder
from monitoring.drift import ComputationCancelledError, DriftDetector, DriftResult
from monitoring.fairness import FairnessCounter
from monitoring.ingest import Ingestor
from monitoring.metrics import MonitorMetrics, publish
from monitoring.outcomes_endpoint import outcomes_response
from monitoring.report_page import ReportPage, ReportUnavailableError
from monitoring.server import make_server, serve_in_thread
from monitoring.settings import MonitorSettings
from monitoring.stability import StabilityCounter
from monitoring.window import RecomputeTrigger
from service.bundle import Bundle, BundleError, load_registered

log = logging.getLogger(__name__)

NO_BINNING = "none"
"""``binning`` label of the fairness counters of a bundle without stability bins."""

LIVENESS_STALL_SECONDS = 300.0
"""A loop that has not completed an iteration for this long makes ``/livez`` fail."""
INGEST_STOP_TIMEOUT_SECONDS = 30.0
"""Longest wait for the ingest loop to finish its step and write its last checkpoint on shutdown."""
DRIFT_STOP_GRACE_SECONDS = 1.0
"""Longest wait for the drift loop on shutdown. It stops between two Evidently calls, but not while Evidently
is being imported (seconds at start-up); it holds nothing durable, so the process exits without it."""


def load_bundle(settings: MonitorSettings) -> Bundle:
    """The bundle named by the settings (a directory, or a model-store tag), with its reference sample."""
    bundle = (
        Bundle.load(settings.bundle_dir)
        if settings.bundle_dir is not None
        else load_registered(settings.model_tag)
    )
    if bundle.reference is None or len(bundle.reference) == 0:
        raise BundleError("the bundle has no reference sample: drift cannot be computed")
    return bundle


def stability_counter(bundle: Bundle) -> StabilityCounter | None:
    """Counters of the bundle's frozen bins; ``None``, said in one log line, for a bundle without bins."""
    if bundle.stability is None:
        log.warning(
            "the bundle has no stability bins (trained before they existed, or stored in a layout this "
            "version cannot read): no stability counters are exported and no PSI can be computed; retrain "
            "the model to get them"
        )
        return None
    counter = StabilityCounter(bundle.stability, bundle.feature_names)
    log.info(
        "counting records in the bundle's stability bins (binning %s): %d features, %d score bands",
        counter.binning,
        len(bundle.stability.features),
        len(bundle.stability.score.expected),
    )
    return counter


class Sidecar:
    """Owns the metrics, the ingestor, the detector and the two loops."""

    def __init__(
        self,
        settings: MonitorSettings,
        bundle: Bundle | None = None,
        stop_event: threading.Event | None = None,
    ) -> None:
        self.settings = settings
        self.bundle = bundle if bundle is not None else load_bundle(settings)
        self.metrics = MonitorMetrics()
        self.stability = stability_counter(self.bundle)
        """Per-bin counters for the fleet-wide PSI, or ``None`` when the bundle has no stability bins."""
        if self.stability is not None:
            self.metrics.registry.register(self.stability)
        store = settings.decision_store
        self.decisions = (
            open_recorder(
                store,
                self.bundle,
                self.metrics.registry,
                max_pending=settings.decision_store_max_pending,
                retry_max_seconds=settings.decision_store_retry_max_seconds,
            )
            if store is not None
            else None
        )
        """Writes every ingested decision to the decision store before the checkpoint that covers it
        (``None``: no store configured)."""
        self.fairness = FairnessCounter(self.stability.binning if self.stability is not None else NO_BINNING)
        """Decision counts per protected group (applicant documents only), for the adverse-impact rules."""
        self.metrics.registry.register(self.fairness)
        self.ingestor = Ingestor(
            settings,
            self.bundle.feature_names,
            self.metrics,
            self.stability,
            fairness=self.fairness,
            decisions=self.decisions,
        )
        self.detector: DriftDetector | None = None
        """Built by :meth:`prepare_detector` in the drift thread: importing Evidently takes seconds, and
        ingestion must not wait for it after a restart."""
        self.trigger = RecomputeTrigger(settings.recompute_rows, settings.recompute_interval_seconds)
        self.last_result: DriftResult | None = None
        self.report_page = ReportPage(
            self.report_html,
            settings.report_min_interval_seconds,
            state=self._window_state,
            max_concurrent=settings.http_max_threads // 2,
        )
        """``/report``: :meth:`report_html`, rendered at most once per ``report_min_interval_seconds`` and not
        again while the window is unchanged; at most half the HTTP threads render or wait for it."""
        self.metrics.track_window_age(lambda: self.last_result.oldest_time if self.last_result else None)
        self.stop_event = stop_event if stop_event is not None else threading.Event()
        """Set once to stop everything (the signal handlers of :meth:`run_until_signalled` set it)."""
        self._heartbeats: dict[str, float] = {}
        self._threads: list[threading.Thread] = []
        self._server = None

    def prepare_detector(self) -> DriftDetector:
        """Build the detector (imports Evidently) and calibrate its thresholds, once.

        Raises :class:`ComputationCancelledError` when the sidecar is stopped during calibration.
        """
        if self.detector is None:
            detector = DriftDetector(
                self.bundle.reference,
                self.bundle.features,
                self.bundle.threshold,
                self.settings,
                should_stop=self.stop_event.is_set,
            )
            detector.calibrate()
            self.metrics.reference_refusal_ratio.set(detector.reference_refusal_ratio)
            self.detector = detector
        return self.detector

    def compute_once(self) -> DriftResult | None:
        """Compute drift on the window and export it; ``None`` when data is insufficient or it failed.

        Also ``None``, without touching any metric, when shutdown interrupted the computation.
        """
        m = self.metrics
        view = self.ingestor.view()
        self.trigger.mark(self.ingestor.appended_total, time.monotonic())
        if len(view) < self.settings.min_records:
            m.computations_total.labels(outcome="insufficient_data").inc()
            m.insufficient_data.set(1)
            m.window_records.set(len(view))
            m.clear_drift_values()
            self.last_result = None
            return None
        started = time.perf_counter()
        try:
            result = self.prepare_detector().compute(view)
        except ComputationCancelledError:
            log.info("drift computation interrupted: shutting down")
            return None
        except Exception:
            log.exception("drift computation failed; keeping the last values, marked stale")
            m.computation_duration_seconds.observe(time.perf_counter() - started)
            m.computations_total.labels(outcome="failure").inc()
            m.stale.set(1)
            return None
        m.computation_duration_seconds.observe(time.perf_counter() - started)
        publish(m, result)
        m.computations_total.labels(outcome="success").inc()
        self.last_result = result
        log.info(
            "drift: %d records, %d/%d features drifted, dataset drift %s, prediction score %.4f",
            result.n_records,
            result.drifted_count,
            len(result.features),
            result.dataset_drifted,
            result.prediction.score if not math.isnan(result.prediction.score) else -1,
        )
        return result

    def _ingest_loop(self) -> None:
        s = self.settings
        while not self.stop_event.is_set():
            self._heartbeats["ingest"] = time.monotonic()
            try:
                consumed = self.ingestor.step()
                self.ingestor.checkpoint()
            except Exception:
                log.exception("ingest step failed; retrying after the poll interval")
                consumed = 0
            if consumed == 0:
                self.stop_event.wait(s.poll_interval_seconds)
        self.ingestor.checkpoint(force=True)

    def _drift_loop(self) -> None:
        self._heartbeats["drift"] = time.monotonic()
        try:
            self.prepare_detector()
        except ComputationCancelledError:
            log.info("threshold calibration interrupted: shutting down")
            return
        time_window = self.settings.window_seconds is not None
        while not self.stop_event.is_set():
            self._heartbeats["drift"] = time.monotonic()
            if self.trigger.due(self.ingestor.appended_total, time.monotonic(), time_window):
                self.compute_once()
            self.stop_event.wait(min(1.0, self.settings.poll_interval_seconds))

    def livez(self) -> tuple[bool, str]:
        """Alive while both loops run and none is stuck."""
        now = time.monotonic()
        for thread in self._threads:
            if not thread.is_alive():
                return False, f"{thread.name} loop stopped"
        for name, beat in self._heartbeats.items():
            if now - beat > LIVENESS_STALL_SECONDS:
                return False, f"{name} loop stalled for {now - beat:.0f} s"
        return True, "loops running"

    def _window_state(self) -> int | None:
        """What the window's content depends on: the records appended so far (``None`` with a time window,
        whose content also changes as records age out)."""
        return self.ingestor.appended_total if self.settings.window_seconds is None else None

    def report_html(self) -> bytes:
        """Evidently's HTML drift report of the current window against the reference sample (seconds of CPU;
        :attr:`report_page` caches it). Raises :class:`ReportUnavailableError` before calibration or while the
        window holds fewer than ``min_records`` records."""
        from monitoring.report import write_report

        detector = self.detector
        if detector is None:
            raise ReportUnavailableError("drift thresholds are still being calibrated")
        view = self.ingestor.view()
        if len(view) < self.settings.min_records:
            raise ReportUnavailableError(
                f"the window holds {len(view)} records; the report needs at least {self.settings.min_records}"
            )
        renderings = self.metrics.report_renderings_total
        try:
            with tempfile.TemporaryDirectory(prefix="drift-report-") as folder:
                html = write_report(
                    detector, self.bundle.reference, view, Path(folder) / "report.html"
                ).read_bytes()
        except Exception:
            renderings.labels(outcome="failure").inc()
            raise
        renderings.labels(outcome="success").inc()
        return html

    def readyz(self) -> tuple[bool, str]:
        """Ready once the thresholds are calibrated and the loops run."""
        if self.stop_event.is_set():
            return False, "shutting down"
        if self.detector is None:
            return False, "loading Evidently and calibrating drift thresholds"
        alive, reason = self.livez()
        return alive, reason if not alive else "ready"

    def start(self) -> int:
        """Start the HTTP endpoint and both loops; return the bound port."""
        self._server = make_server(
            self.settings.host,
            self.settings.port,
            self.metrics.registry,
            self.livez,
            self.readyz,
            report=self.report_page.get,
            limits=HttpLimits(
                max_threads=self.settings.http_max_threads,
                max_pending=self.settings.http_max_pending_connections,
                request_timeout=self.settings.http_request_timeout_seconds,
                write_timeout=self.settings.http_write_timeout_seconds,
            ),
            on_reject=lambda reason: self.metrics.http_rejected_total.labels(reason=reason).inc(),
            outcomes=partial(outcomes_response, self.decisions.engine) if self.decisions else None,
            max_body_bytes=self.settings.outcomes_max_body_bytes,
        )
        serve_in_thread(self._server)
        for name, target in (("ingest", self._ingest_loop), ("drift", self._drift_loop)):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        port = self._server.server_address[1]
        log.info(
            "drift sidecar listening on %s:%d, spool %s", self.settings.host, port, self.settings.spool_dir
        )
        return port

    def stop(self) -> None:
        """Stop the loops (the ingest loop checkpoints on its way out) and the HTTP endpoint.

        Waits up to :data:`INGEST_STOP_TIMEOUT_SECONDS` for the ingest loop, whose last checkpoint matters,
        and up to :data:`DRIFT_STOP_GRACE_SECONDS` for the drift loop (a daemon thread that saves nothing).
        """
        self.stop_event.set()
        for thread in self._threads:
            thread.join(
                timeout=INGEST_STOP_TIMEOUT_SECONDS if thread.name == "ingest" else DRIFT_STOP_GRACE_SECONDS
            )
            if thread.is_alive():
                level = logging.WARNING if thread.name == "ingest" else logging.INFO
                log.log(level, "%s loop still running at shutdown; exiting without it", thread.name)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def run_until_signalled(self) -> None:
        """Start, then block until SIGTERM or SIGINT (or :attr:`stop_event`); stop cleanly."""
        install_stop_handlers(self.stop_event)
        if self.stop_event.is_set():
            return  # signalled while the bundle was loading: nothing was started
        self.start()
        self.stop_event.wait()
        self.stop()


def install_stop_handlers(stop_event: threading.Event) -> None:
    """Make SIGTERM and SIGINT set ``stop_event`` instead of killing the process (main thread only)."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop_event.set())
