"""What the scoring routes share: the loaded model, its request schema, metrics, payload writer, readiness."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import numpy as np

from service.loader import LoadedModel
from service.metrics import ServiceMetrics
from service.payload_log import PayloadLogWriter
from service.request_schema import RequestSchema
from service.settings import ServiceSettings

ExplainCall = Callable[[np.ndarray], Awaitable[tuple[str, np.ndarray]]]
"""Async function: matrix -> (model tag, contributions with the base value as last column)."""


class ScoringState:
    """What the routes need, filled in by the service once the bundle is loaded."""

    def __init__(self) -> None:
        self.settings = ServiceSettings()
        self.model: LoadedModel | None = None
        self.schema: RequestSchema | None = None
        """What a valid request is for the loaded model (``None`` until loaded)."""
        self.writer: PayloadLogWriter | None = None
        self.metrics: ServiceMetrics | None = None
        self.explain: ExplainCall | None = None
        """The explainer service's contributions call (``/explain`` and large ``explain`` batches)."""
        self.openapi_cache: tuple[object, bytes] | None = None
        """The OpenAPI document last built, with the (model tag, settings) it was built for."""
        self.ready = False
        self.not_ready_reason = "loading"
        self.shutting_down = False
        self._next_seq = 0
        self._request_id_prefix = "r"

    def publish(
        self,
        settings: ServiceSettings,
        model: LoadedModel,
        metrics: ServiceMetrics,
        writer: PayloadLogWriter | None,
        request_id_prefix: str,
    ) -> None:
        """Install a loaded model and mark the routes ready."""
        self.settings = settings
        self.schema = RequestSchema(
            model.bundle.features,
            max_batch_size=settings.max_batch_size,
            explain_max_k=settings.explain_max_k,
            feature_row=model.feature_row,
            applicant_unavailable=model.applicant_unavailable,
        )
        self.metrics = metrics
        self.writer = writer
        self._request_id_prefix = request_id_prefix
        self.model = model
        self.ready = not self.shutting_down
        metrics.ready.set(1 if self.ready else 0)

    def take_request_ids(self, n: int) -> tuple[int, list[str]]:
        """Reserve ``n`` record numbers; return the first and the request ids (unique per process start)."""
        first = self._next_seq
        self._next_seq += n
        return first, list(map(f"{self._request_id_prefix}-{{:x}}".format, range(first, first + n)))
