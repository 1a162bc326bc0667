"""The BentoML entry service: ``/score``, ``/explain``, ``/spec``, ``/docs.json`` and BentoML's own routes.

Serve it with ``bentoml serve service.service:CreditScorer`` (``bentofile.yaml`` points here). Configuration
comes from ``CREDIT_SCORING_*`` environment variables (``service/settings.py``). ``POST /score`` and
``POST /explain`` are answered by the front door (``service/front_door.py``) wrapped around BentoML's app by
:class:`FrontDoorService`; the other routes go through BentoML.

BentoML has no public hook to wrap its whole ASGI app (``add_asgi_middleware`` sits inside its own layers),
so :class:`FrontDoorService` overrides ``bentoml.Service.to_asgi(is_main)``, a method of BentoML 1.4's
``Service`` that ``bentoml serve`` calls to build each worker's app; ``tests/service/test_front_door.py``
fails with a clear message if a BentoML release changes it.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import bentoml
import numpy as np

from service.booster import LoadedModel
from service.explainer import Explainer
from service.front_door import ScoringFrontDoor
from service.handlers import ScoringState
from service.loader import BackgroundLoader, settings_for_served_bento
from service.metrics import ServiceMetrics
from service.payload_log import PayloadLogWriter, new_writer_id
from service.settings import ServiceSettings
from service.spec_routes import build_app

logger = logging.getLogger(__name__)

SETTINGS = ServiceSettings()
STATE = ScoringState()
APP = build_app(STATE)

EXPLAINER_CALL_ATTEMPTS = 2
"""Tries per explainer call: a pooled keep-alive connection the explainer closed at the moment it was
reused fails with a connection error; the call is a pure function, so it is retried once."""


class FrontDoorService(bentoml.Service):
    """BentoML's service, with its ASGI app wrapped by the scoring front door (``service/front_door.py``).

    Only the entry service's app is wrapped; the explainer's (``is_main=False``) is BentoML's as is.
    """

    __slots__ = ()

    def to_asgi(self, is_main: bool = True) -> Any:
        """BentoML's ASGI app, behind the front door when it is the entry service's."""
        app = super().to_asgi(is_main=is_main)
        if not is_main:
            return app
        STATE.max_explaining = math.ceil(SETTINGS.explain_max_concurrency / SETTINGS.workers)
        return ScoringFrontDoor(
            app, STATE, max_in_flight=math.ceil(SETTINGS.max_concurrency / SETTINGS.workers)
        )


@bentoml.service(
    service_class=FrontDoorService,
    name="credit_scoring",
    workers=SETTINGS.workers,
    traffic={"timeout": SETTINGS.timeout_s, "max_concurrency": SETTINGS.max_concurrency},
    # readiness is this service's own: a busy or restarting explainer only affects explanations (503)
    runner_probe={"enabled": False},
    logging={"access": {"enabled": SETTINGS.access_log}},
)
@bentoml.asgi_app(APP, path="/")
class CreditScorer:
    """Credit-default scoring: probability of default, decision under the bundle's threshold, SHAP reasons."""

    explainer = bentoml.depends(Explainer)

    def __init__(self) -> None:
        self.metrics = ServiceMetrics()
        self.metrics.ready.set(0)
        STATE.metrics = self.metrics
        self.writer_id = new_writer_id()
        self.writer: PayloadLogWriter | None = None
        STATE.settings = SETTINGS
        STATE.explain = self._explain
        settings = settings_for_served_bento(SETTINGS, CreditScorer)
        self._loader = BackgroundLoader(settings, self._install)
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
                flush_interval_s=SETTINGS.payload_flush_interval_s,
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
        import aiohttp  # BentoML's client for composed services; already imported by it

        for attempt in range(EXPLAINER_CALL_ATTEMPTS):
            try:
                answer = await self.explainer.contributions(matrix=matrix)
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
                if attempt + 1 == EXPLAINER_CALL_ATTEMPTS:
                    raise
                logger.info("explainer connection was closed; retrying once")
                continue
            return answer["model_tag"], np.asarray(answer["contributions"])
        raise AssertionError("unreachable")

    async def __is_ready__(self) -> bool:
        """Ready once the bundle is loaded and warmed up; the explainer's state is not part of it.

        A coroutine, so that BentoML answers ``/readyz`` on the event loop rather than through its thread
        pool, which batches scored on threads may be using."""
        if not STATE.ready:
            STATE.not_ready_reason = self._loader.error or "shutting down"
        return STATE.ready

    @bentoml.on_shutdown
    def shutdown(self) -> None:
        """Stop taking requests (503), then write what the payload log holds and close its segment."""
        STATE.shutting_down = True
        STATE.ready = False
        STATE.not_ready_reason = "shutting down"
        self._loader.stop()
        if self.writer is not None:
            self.writer.close()
