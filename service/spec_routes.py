"""The Starlette app mounted into the BentoML service: the contract documents ``/spec`` and ``/docs.json``.

``POST /score`` and ``POST /explain`` never reach it: the front door (``service/front_door.py``) answers them
before BentoML's middleware stack.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from service import handlers
from service.applicant.document import ROW_LIMITS
from service.handlers import Reply, ScoringState
from service.openapi import applicant_json_schema, build_openapi
from service.request_schema import RequestSchema


def _response(reply: Reply) -> Response:
    headers = {"Retry-After": "5"} if reply.status == 503 else None
    return Response(reply.body, reply.status, headers=headers, media_type="application/json")


def _json_response(payload: Any) -> Response:
    return Response(json.dumps(payload, allow_nan=False).encode(), 200, media_type="application/json")


def _openapi_document(state: ScoringState) -> bytes:
    """The OpenAPI document of the loaded model (or of a placeholder while loading), built once per model."""
    model, schema = state.model, state.schema
    key = (model.tag if model else None, state.settings)
    cached = state.openapi_cache
    if cached is not None and cached[0] == key:
        return cached[1]
    loaded = model is not None and schema is not None
    if not loaded:
        schema = RequestSchema(
            [], max_batch_size=state.settings.max_batch_size, explain_max_k=state.settings.explain_max_k
        )
    assert schema is not None
    document = build_openapi(
        schema=schema,
        model_loaded=loaded,
        threshold=model.bundle.threshold if model else None,
        model_tag=model.tag if model else None,
        settings=state.settings,
    )
    body = json.dumps(document, allow_nan=False).encode()
    state.openapi_cache = (key, body)
    return body


def build_app(state: ScoringState) -> Starlette:
    """The Starlette app with ``GET /spec`` and ``GET /docs.json``."""

    async def spec(_: Request) -> Response:
        model = state.model
        if not state.ready or model is None:
            unready = handlers.not_ready_reply(state)
            assert unready is not None
            return _response(unready)
        return _json_response(
            {
                "model_tag": model.tag,
                "threshold": model.bundle.threshold,
                "max_batch_size": state.settings.max_batch_size,
                "max_body_bytes": state.settings.max_body_bytes,
                "explain_max_k": state.settings.explain_max_k,
                "features": [asdict(f) for f in model.bundle.features],
                "reasons": model.principal_reasons.catalogue.to_json() if model.principal_reasons else None,
                "applicant": {
                    "available": model.feature_row is not None,
                    "unavailable_reason": model.applicant_unavailable,
                    "record_limits": ROW_LIMITS,
                    "schema": applicant_json_schema(),
                },
            }
        )

    async def openapi(_: Request) -> Response:
        return Response(_openapi_document(state), 200, media_type="application/json")

    return Starlette(
        routes=[
            Route("/spec", spec, methods=["GET"]),
            Route("/docs.json", openapi, methods=["GET"]),
        ]
    )
