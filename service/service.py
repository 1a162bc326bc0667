"""The BentoML entry service: ``/score``, ``/explain``, ``/spec``, ``/docs.json`` and BentoML's own routes.

Serve it with ``bentoml serve service.service:CreditScorer`` (``bentofile.yaml`` points here). Configuration
comes from ``CREDIT_SCORING_*`` environment variables (``service/settings.py``).
"""

from __future__ import annotations

import logging

import bentoml
import numpy as np

from service.app import ScoringState, build_app
from service.explainer import Explainer
from service.loader import BackgroundLoader, LoadedModel
from service.metrics import ServiceMetrics
from service.payload_log import PayloadLogWriter, new_writer_id
from service.settings import ServiceSettings

logger = logging.getLogger(__name__)

SETTINGS = ServiceSettings.from_env()
STATE = ScoringState()
APP = build_app(STATE)


@bentoml.service(
    name="credit_scoring",
    workers=SETTINGS.workers,
    traffic={"timeout": SETTINGS.timeout_s, "max_concurrency": SETTINGS.max_concurrency},
    logging={"access": {"enabled": SETTINGS.access_log}},
    tracing={} if SETTINGS.trace_scoring_routes else {"excluded_urls": ["/score", "/explain"]},
)
@bentoml.asgi_app(APP, path="/")
class CreditScorer:
    """Credit-default scoring: probability of default, decision under the bundle's threshold, SHAP reasons."""

    explainer = bentoml.depends(Explainer)

    def __init__(self) -> None:
        self.metrics = ServiceMetrics()
        self.metrics.ready.set(0)
        self.writer_id = new_writer_id()
        self.writer: PayloadLogWriter | None = None
        STATE.settings = SETTINGS
        STATE.explain = self._explain
        self._loader = BackgroundLoader(SETTINGS, self._install)
        self._loader.start()

    def _install(self, model: LoadedModel) -> None:
        if SETTINGS.payload_log_enabled:
            metrics = self.metrics
            self.writer = PayloadLogWriter(
                SETTINGS.spool_dir,
                model.bundle.feature_names,
                max_bytes=SETTINGS.spool_max_bytes,
                segment_max_bytes=SETTINGS.segment_max_bytes,
                segment_max_age_s=SETTINGS.segment_max_age_s,
                queue_size=SETTINGS.payload_queue_size,
                on_written=lambda records, nbytes: (
                    metrics.payload_records_written.inc(records),
                    metrics.payload_bytes_written.inc(nbytes),
                ),
                on_dropped=lambda reason, records: metrics.payload_records_dropped.labels(reason).inc(
                    records
                ),
                on_spool_bytes=metrics.spool_bytes.set,
                writer_id=self.writer_id,
            )
            self.writer.start()
        STATE.publish(SETTINGS, model, self.metrics, self.writer, request_id_prefix=self.writer_id)

    async def _explain(self, matrix: np.ndarray) -> tuple[str, np.ndarray]:
        answer = await self.explainer.contributions(matrix=matrix)
        return answer["model_tag"], np.asarray(answer["contributions"])

    def __is_ready__(self) -> bool:
        """Ready once the bundle is loaded and warmed up (BentoML also probes the explainer's readiness)."""
        if not STATE.ready:
            STATE.not_ready_reason = self._loader.error or "shutting down"
        return STATE.ready

    @bentoml.on_shutdown
    def shutdown(self) -> None:
        """Stop taking requests (503), then flush the payload log and close its segment."""
        STATE.shutting_down = True
        STATE.ready = False
        STATE.not_ready_reason = "shutting down"
        self._loader.stop()
        if self.writer is not None:
            self.writer.close()
