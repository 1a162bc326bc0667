"""The scoring routes' logic, independent of the ASGI plumbing: request body in, :class:`Reply` out.

``/score`` validates straight into a numpy matrix, calls the booster (on the event loop for small inputs,
on a worker thread for large batches), adds the principal reasons of every refusal (reason codes, from the
refused rows' contributions) and the strongest feature contributions when asked, hands the records to the
payload writer and answers with orjson. ``/explain`` returns every feature's contribution from the
explainer service. The front door (``service/front_door.py``) calls these functions with the
:class:`ScoringState` the service (``service/service.py``) fills in once the bundle is loaded.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
from starlette.concurrency import run_in_threadpool

from service.booster import LoadedModel
from service.errors import (
    BodyTooLargeError,
    ExplainerUnavailableError,
    NotReadyError,
    ServiceError,
    TooManyRequestsError,
    UnsupportedMediaTypeError,
)
from service.metrics import ServiceMetrics
from service.payload_log import PayloadLogWriter
from service.request_schema import RequestSchema
from service.settings import ServiceSettings

logger = logging.getLogger(__name__)

TOO_MANY_EXPLANATIONS = (
    "too many explanations in flight; retry shortly (scoring without explain is not limited)"
)
"""The reason of the 429 for an explanation beyond ``ScoringState.max_explaining``."""

THREADPOOL_MIN_ROWS = 64
"""Batches at least this large are scored on a worker thread so the event loop keeps serving."""

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
        self.explaining = 0
        """Calls to the explainer service in flight in this worker."""
        self.max_explaining = 1
        """Most calls to the explainer service in flight in this worker; one more request gets 429."""
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

    def take_request_ids(self, n: int) -> list[str]:
        """``n`` new request ids, unique per process start (the payload log's writer id and a counter)."""
        first = self._next_seq
        self._next_seq += n
        return list(map(f"{self._request_id_prefix}-{{:x}}".format, range(first, first + n)))


@dataclass(frozen=True, repr=False)  # no repr of a large body in task reprs or logs
class Reply:
    """An HTTP answer of a scoring route: status and JSON body."""

    status: int
    """HTTP status code."""
    body: bytes
    """JSON body."""

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        """Response headers (ASGI form): content type and length, ``Retry-After`` on 503 and 429."""
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(self.body)).encode())]
        if self.status in (429, 503):
            headers.append((b"retry-after", b"1" if self.status == 429 else b"5"))
        return headers


def error_reply(state: ScoringState, error: ServiceError) -> Reply:
    """The reply for ``error``, counted in ``credit_scoring_rejected_requests_total``."""
    if state.metrics is not None:
        state.metrics.rejected_requests.labels(error.code).inc()
    return Reply(error.status, error.body_bytes())


def content_type_error(content_type: str | None) -> ServiceError | None:
    """415 for a body declared as something other than JSON (no content type is accepted as JSON)."""
    if content_type is not None and "json" not in content_type.lower():
        return UnsupportedMediaTypeError("send the body as application/json")
    return None


def body_too_large(limit: int) -> BodyTooLargeError:
    """The 413 for a body above ``limit`` bytes."""
    return BodyTooLargeError(f"request bodies are limited to {limit} bytes")


def not_ready_reply(state: ScoringState) -> Reply | None:
    """503 while the model is not loaded or the service is shutting down, else ``None``."""
    if not state.ready or state.model is None or state.schema is None:
        return error_reply(state, NotReadyError(state.not_ready_reason))
    return None


def _json(payload: Any) -> bytes:
    return orjson.dumps(payload)


def feature_rows(names: list[str], matrix: np.ndarray) -> list[dict[str, float | None]]:
    """Each row of ``matrix`` as ``{feature: value}``, ``None`` where the value is missing."""
    return [
        {name: None if value != value else value for name, value in zip(names, row, strict=True)}
        for row in matrix.tolist()
    ]


def top_reasons(
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


async def contributions(state: ScoringState, matrix: np.ndarray, *, in_worker: bool) -> np.ndarray:
    """SHAP contributions (base value last): computed here if ``in_worker``, else by the explainer service."""
    model = state.model
    assert model is not None
    metrics = state.metrics
    started = time.perf_counter()
    if in_worker:
        values = model.scorer.contributions(matrix)
        source = "scoring_worker"
    else:
        if state.explain is None:
            raise ExplainerUnavailableError("the explainer service is not configured")
        if state.explaining >= state.max_explaining:
            raise TooManyRequestsError(TOO_MANY_EXPLANATIONS)
        state.explaining += 1
        try:
            tag, values = await state.explain(matrix)
        except Exception as exc:
            logger.warning("explainer call failed: %s", type(exc).__name__)
            raise ExplainerUnavailableError(
                "the explainer service did not answer; /score without explain works"
            ) from None
        finally:
            state.explaining -= 1
        if tag != model.tag:
            raise ExplainerUnavailableError(
                "the explainer serves another model version; retry after the rollout"
            )
        source = "explainer_service"
    if metrics is not None:
        metrics.explanation_duration.labels(source).observe(time.perf_counter() - started)
    return values


async def refusal_contributions(state: ScoringState, matrix: np.ndarray) -> np.ndarray:
    """Contributions of refused rows: from the explainer service for batches beyond the local limit when it
    is configured, else (or when it fails, is full or is slower than ``refusal_explainer_wait_s``) here,
    since a refusal must carry its reasons."""
    model = state.model
    assert model is not None
    settings = state.settings
    if state.explain is not None and len(matrix) > settings.local_explain_max_rows:
        try:
            return await asyncio.wait_for(
                contributions(state, matrix, in_worker=False), settings.refusal_explainer_wait_s
            )
        except (ExplainerUnavailableError, TooManyRequestsError) as exc:
            logger.warning("refusal reasons computed in the scoring worker: %s", exc.reason)
        except TimeoutError:
            logger.warning(
                "refusal reasons computed in the scoring worker: the explainer took over %.1f s",
                settings.refusal_explainer_wait_s,
            )
    if len(matrix) >= THREADPOOL_MIN_ROWS:
        return await run_in_threadpool(model.scorer.contributions, matrix)
    return await contributions(state, matrix, in_worker=True)


async def refusal_reasons(
    state: ScoringState, matrix: np.ndarray, refused: np.ndarray, values: np.ndarray | None
) -> list[list[dict[str, Any]] | None] | None:
    """Per row, the principal reasons of a refusal (``None`` for an accepted row); ``None`` when the
    service does not give them or nobody was refused. ``values``: contributions already computed."""
    model = state.model
    assert model is not None
    builder = model.principal_reasons
    if builder is None or not state.settings.refusal_reasons:
        return None
    rows = np.flatnonzero(refused)
    if len(rows) == 0:
        return None
    refused_matrix = matrix if len(rows) == len(matrix) else matrix[rows]
    if values is not None:
        refused_values = values if len(rows) == len(matrix) else values[rows]
    else:
        refused_values = await refusal_contributions(state, refused_matrix)
    answers: list[list[dict[str, Any]] | None] = [None] * len(matrix)
    for row, reasons in zip(rows.tolist(), builder.of(refused_matrix, refused_values), strict=True):
        answers[row] = reasons
    return answers


async def score(state: ScoringState, body: bytes) -> Reply:
    """``POST /score``: probability, decision and (with ``explain: k``) reasons per applicant."""
    unready = not_ready_reply(state)
    if unready is not None:
        return unready
    model, schema = state.model, state.schema
    assert model is not None and schema is not None
    try:
        parsed = schema.parse(body)
        matrix = parsed.matrix
        n = len(matrix)
        scorer = model.scorer
        if n >= THREADPOOL_MIN_ROWS:
            probabilities = await run_in_threadpool(scorer.probabilities, matrix)
        else:
            probabilities = scorer.probabilities(matrix)
        refused = probabilities >= scorer.threshold
        reasons = None
        values = None
        if parsed.explain_k:
            in_worker = n <= state.settings.local_explain_max_rows
            values = await contributions(state, matrix, in_worker=in_worker)
            reasons = top_reasons(model.bundle.feature_names, matrix, values, parsed.explain_k)
        principal = await refusal_reasons(state, matrix, refused, values)
    except ServiceError as error:
        return error_reply(state, error)
    request_ids = state.take_request_ids(n)
    if state.writer is not None:
        state.writer.submit(
            request_ids,
            parsed.caller_ids,
            model.tag,
            parsed.forms,
            matrix,
            probabilities,
            refused,
            groups=parsed.groups,
        )
    metrics = state.metrics
    refused_list = refused.tolist()
    if metrics is not None:
        n_refused = sum(refused_list)
        metrics.count_decisions(n_refused, n)
        metrics.observe_probabilities(probabilities)
        metrics.count_inputs(parsed.forms, parsed.unknown_labels)
    tag = model.tag
    rows = feature_rows(model.bundle.feature_names, matrix) if parsed.return_features else None
    if parsed.single:
        result: dict[str, Any] = {
            "id": parsed.caller_ids[0],
            "request_id": request_ids[0],
            "probability": float(probabilities[0]),
            "decision": "refuse" if refused_list[0] else "accept",
            "model_tag": tag,
        }
        if principal is not None and principal[0] is not None:
            result["principal_reasons"] = principal[0]
        if reasons is not None:
            result["reasons"] = reasons[0]
        if rows is not None:
            result["features"] = rows[0]
        return Reply(200, _json(result))
    results = [
        {
            "id": caller_id,
            "request_id": request_id,
            "probability": probability,
            "decision": "refuse" if refuse else "accept",
            "model_tag": tag,
        }
        for caller_id, request_id, probability, refuse in zip(
            parsed.caller_ids, request_ids, probabilities.tolist(), refused_list, strict=True
        )
    ]
    if principal is not None:
        for result, row_principal in zip(results, principal, strict=True):
            if row_principal is not None:
                result["principal_reasons"] = row_principal
    if reasons is not None:
        for result, row_reasons in zip(results, reasons, strict=True):
            result["reasons"] = row_reasons
    if rows is not None:
        for result, row in zip(results, rows, strict=True):
            result["features"] = row
    return Reply(200, _json({"results": results}))


async def explain(state: ScoringState, body: bytes) -> Reply:
    """``POST /explain``: every feature's contribution, the base value and the margin, per applicant."""
    unready = not_ready_reply(state)
    if unready is not None:
        return unready
    model, schema = state.model, state.schema
    assert model is not None and schema is not None
    try:
        parsed = schema.parse(body, allow_explain=False)
        values = await contributions(state, parsed.matrix, in_worker=False)
    except ServiceError as error:
        return error_reply(state, error)
    names = model.bundle.feature_names
    margins = values.sum(axis=1)
    rows = feature_rows(names, parsed.matrix) if parsed.return_features else None
    results = []
    for i, (caller_id, row, margin) in enumerate(
        zip(parsed.caller_ids, values.tolist(), margins.tolist(), strict=True)
    ):
        result = {
            "id": caller_id,
            "model_tag": model.tag,
            "base_value": row[-1],
            "margin": margin,
            "probability": 1.0 / (1.0 + math.exp(-margin)),
            "contributions": dict(zip(names, row[:-1], strict=True)),
        }
        if rows is not None:
            result["features"] = rows[i]
        results.append(result)
    return Reply(200, _json(results[0] if parsed.single else {"results": results}))
