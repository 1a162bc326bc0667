"""The scoring routes as a lean Starlette app, mounted into the BentoML service (see ``service/service.py``).

BentoML's ``@bentoml.api`` path (pydantic IO descriptors, a thread hop per call) costs about 10x the work
of scoring one applicant; these handlers read the body, validate straight into a numpy matrix and call the
booster on the event loop, while BentoML still provides the server, traffic control (429/504), metrics,
``/livez``, ``/readyz`` and the process model. Measurements are in BENCHMARKS.md.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from service.errors import (
    BodyTooLargeError,
    ExplainerUnavailableError,
    NotReadyError,
    ServiceError,
    UnsupportedMediaTypeError,
)
from service.loader import LoadedModel
from service.metrics import ServiceMetrics
from service.openapi import build_openapi
from service.payload_log import PayloadLogWriter
from service.settings import ServiceSettings
from service.validation import RequestValidator

logger = logging.getLogger(__name__)

THREADPOOL_MIN_ROWS = 64
"""Batches at least this large are scored on a worker thread so the event loop keeps serving."""

ExplainCall = Callable[[np.ndarray], Awaitable[tuple[str, np.ndarray]]]
"""Async function: matrix -> (model tag, contributions with the base value as last column)."""


class ScoringState:
    """What the routes need, filled in by the service once the bundle is loaded."""

    def __init__(self) -> None:
        self.settings = ServiceSettings()
        self.model: LoadedModel | None = None
        self.validator: RequestValidator | None = None
        self.explain_validator: RequestValidator | None = None
        self.writer: PayloadLogWriter | None = None
        self.metrics: ServiceMetrics | None = None
        self.explain: ExplainCall | None = None
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
        features = model.bundle.features
        self.settings = settings
        self.validator = RequestValidator(
            features, max_batch_size=settings.max_batch_size, explain_max_k=settings.explain_max_k
        )
        self.explain_validator = self.validator
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
        prefix = self._request_id_prefix
        return first, [f"{prefix}-{seq:x}" for seq in range(first, first + n)]


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) anything larger than ``limit`` bytes before or while reading it."""
    content_type = request.headers.get("content-type")
    if content_type is not None and "json" not in content_type.lower():
        raise UnsupportedMediaTypeError("send the body as application/json")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError(f"request bodies are limited to {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError(f"request bodies are limited to {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _json_response(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload, allow_nan=False).encode(), status, media_type="application/json")


def _error_response(state: ScoringState, error: ServiceError) -> Response:
    if state.metrics is not None:
        state.metrics.rejected_requests.labels(error.code).inc()
    headers = {"Retry-After": "5"} if error.status == 503 else None
    return Response(error.body_bytes(), error.status, headers=headers, media_type="application/json")


def _top_reasons(
    names: list[str], matrix: np.ndarray, contributions: np.ndarray, k: int
) -> list[list[dict[str, Any]]]:
    """The ``k`` features with the largest absolute contribution, per row, strongest first."""
    per_feature = contributions[:, :-1]
    k = min(k, per_feature.shape[1])
    order = np.argsort(-np.abs(per_feature), axis=1, kind="stable")[:, :k]
    reasons = []
    for row, columns in enumerate(order.tolist()):
        row_reasons = []
        for col in columns:
            value = float(matrix[row, col])
            contribution = float(per_feature[row, col])
            row_reasons.append(
                {
                    "feature": names[col],
                    "value": None if math.isnan(value) else value,
                    "contribution": contribution,
                    "direction": "increases_risk" if contribution > 0 else "decreases_risk",
                }
            )
        reasons.append(row_reasons)
    return reasons


async def _contributions(state: ScoringState, matrix: np.ndarray, model_tag: str) -> np.ndarray:
    if state.explain is None:
        raise ExplainerUnavailableError("the explainer service is not configured")
    metrics = state.metrics
    try:
        if metrics is not None:
            with metrics.explanation_duration.time():
                tag, contributions = await state.explain(matrix)
        else:
            tag, contributions = await state.explain(matrix)
    except Exception as exc:
        logger.warning("explainer call failed: %s", type(exc).__name__)
        raise ExplainerUnavailableError(
            "the explainer service did not answer; /score without explain works"
        ) from None
    if tag != model_tag:
        raise ExplainerUnavailableError("the explainer serves another model version; retry after the rollout")
    return contributions


def build_app(state: ScoringState) -> Starlette:
    """The Starlette app with ``POST /score``, ``POST /explain``, ``GET /spec`` and ``GET /docs.json``."""

    async def score(request: Request) -> Response:
        model = state.model
        if not state.ready or model is None or state.validator is None:
            return _error_response(state, NotReadyError(state.not_ready_reason))
        try:
            body = await read_body(request, state.settings.max_body_bytes)
            parsed = state.validator.parse(body)
            matrix = parsed.matrix
            n = len(matrix)
            scorer = model.scorer
            if n >= THREADPOOL_MIN_ROWS:
                probabilities = await run_in_threadpool(scorer.probabilities, matrix)
            else:
                probabilities = scorer.probabilities(matrix)
            refused = probabilities >= scorer.threshold
            reasons = None
            if parsed.explain_k:
                contributions = await _contributions(state, matrix, model.tag)
                reasons = _top_reasons(model.bundle.feature_names, matrix, contributions, parsed.explain_k)
        except ServiceError as error:
            return _error_response(state, error)
        first_seq, request_ids = state.take_request_ids(n)
        if state.writer is not None:
            state.writer.submit(first_seq, parsed.caller_ids, model.tag, matrix, probabilities, refused)
        metrics = state.metrics
        n_refused = int(refused.sum()) if n > 1 else int(refused[0])
        if metrics is not None:
            metrics.count_decisions(n_refused, n)
            metrics.observe_probabilities(probabilities)
        results = []
        tag = model.tag
        for i, (caller_id, probability, refuse) in enumerate(
            zip(parsed.caller_ids, probabilities.tolist(), refused.tolist(), strict=True)
        ):
            result: dict[str, Any] = {
                "id": caller_id,
                "request_id": request_ids[i],
                "probability": probability,
                "decision": "refuse" if refuse else "accept",
                "model_tag": tag,
            }
            if reasons is not None:
                result["reasons"] = reasons[i]
            results.append(result)
        return _json_response(results[0] if parsed.single else {"results": results})

    async def explain(request: Request) -> Response:
        model = state.model
        if not state.ready or model is None or state.validator is None:
            return _error_response(state, NotReadyError(state.not_ready_reason))
        try:
            body = await read_body(request, state.settings.max_body_bytes)
            parsed = state.validator.parse(body, allow_explain=False)
            contributions = await _contributions(state, parsed.matrix, model.tag)
        except ServiceError as error:
            return _error_response(state, error)
        names = model.bundle.feature_names
        margins = contributions.sum(axis=1)
        results = []
        for caller_id, row, margin in zip(
            parsed.caller_ids, contributions.tolist(), margins.tolist(), strict=True
        ):
            results.append(
                {
                    "id": caller_id,
                    "model_tag": model.tag,
                    "base_value": row[-1],
                    "margin": margin,
                    "probability": 1.0 / (1.0 + math.exp(-margin)),
                    "contributions": dict(zip(names, row[:-1], strict=True)),
                }
            )
        return _json_response(results[0] if parsed.single else {"results": results})

    async def spec(_: Request) -> Response:
        model = state.model
        if not state.ready or model is None:
            return _error_response(state, NotReadyError(state.not_ready_reason))
        return _json_response(
            {
                "model_tag": model.tag,
                "threshold": model.bundle.threshold,
                "max_batch_size": state.settings.max_batch_size,
                "max_body_bytes": state.settings.max_body_bytes,
                "explain_max_k": state.settings.explain_max_k,
                "features": [asdict(f) for f in model.bundle.features],
            }
        )

    async def openapi(_: Request) -> Response:
        model = state.model
        return _json_response(
            build_openapi(
                features=model.bundle.features if model else None,
                threshold=model.bundle.threshold if model else None,
                model_tag=model.tag if model else None,
                settings=state.settings,
            )
        )

    return Starlette(
        routes=[
            Route("/score", score, methods=["POST"]),
            Route("/explain", explain, methods=["POST"]),
            Route("/spec", spec, methods=["GET"]),
            Route("/docs.json", openapi, methods=["GET"]),
        ]
    )
