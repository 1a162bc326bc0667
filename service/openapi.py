"""The OpenAPI document served at BentoML's docs route (``/docs.json``, shown by the UI at ``/``).

The scoring routes live in the front door and a mounted Starlette app, which BentoML's generator cannot see,
so this module writes the document itself, from the request types of :mod:`service.request_schema`
(msgspec generates their JSON Schema): the applicant document with every Kaggle column, its type, range and
meaning, the loaded model's features, the three body forms, the answers and every error status. OpenAPI
3.1, whose schemas are JSON Schema 2020-12 as msgspec writes them.
"""

from __future__ import annotations

import functools
from typing import Any

import msgspec

from service.applicant.document import applicant_type, describe_sentinels
from service.reason_codes import MAX_PRINCIPAL_REASONS
from service.request_schema import RequestSchema
from service.settings import ServiceSettings

__all__ = ["applicant_json_schema", "build_openapi"]

_REF = "#/components/schemas/{name}"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF.format(name=name)}


def _tidy(node: Any) -> Any:
    """msgspec's JSON Schema made easier to read, same meaning: ``anyOf [X, null]`` becomes X with its type
    widened to null, and a description inside an ``anyOf`` branch moves to the property."""
    if isinstance(node, list):
        return [_tidy(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _tidy(value) for key, value in node.items()}
    branches = node.get("anyOf")
    if branches:
        branches = node["anyOf"] = _whole_numbers(branches)
        for branch in branches:
            if "description" in branch and "description" not in node:
                node["description"] = branch.pop("description")
        plain = [b for b in branches if b != {"type": "null"}]
        if len(plain) == 1 and len(branches) == 2 and isinstance(plain[0].get("type"), str):
            del node["anyOf"]
            node = {**plain[0], **node, "type": [plain[0]["type"], "null"]}
    return node


def _whole_numbers(branches: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An integer branch and a "number, multiple of 1" branch with the same bounds mean one thing: integer."""
    out = []
    for branch in branches:
        if (
            branch.get("type") == "number"
            and branch.get("multipleOf") == 1
            and out
            and out[-1].get("type") == "integer"
            and out[-1].get("minimum") == branch.get("minimum")
            and out[-1].get("maximum") == branch.get("maximum")
        ):
            continue
        out.append(branch)
    return out


@functools.cache
def applicant_json_schema() -> dict[str, Any]:
    """JSON Schema of the applicant document, self-contained (``$defs``): the stable, model-free contract."""
    schema = msgspec.json.schema(applicant_type())
    describe_sentinels(schema["$defs"])
    return _tidy(schema)


def _variant(body: dict[str, Any], keep: tuple[str, ...], required: tuple[str, ...], text: str) -> dict:
    """An object schema holding the properties ``keep`` of ``body``, ``required`` among them."""
    properties = body["properties"]
    return {
        "type": "object",
        "description": text,
        "properties": {name: properties[name] for name in keep if name in properties},
        "required": list(required),
        "additionalProperties": False,
    }


def _components(schema: RequestSchema, model_loaded: bool) -> dict[str, Any]:
    """Component schemas: msgspec's for the request types, then the body forms built from their fields."""
    _, components = msgspec.json.schema_components(
        [schema.score_type, schema.explain_type, schema.item_type], ref_template=_REF
    )
    if not model_loaded:
        components["Features"] = {
            "type": "object",
            "description": "The model's features by name; the model is not loaded yet, see /spec once ready.",
            "additionalProperties": {"type": ["number", "string", "boolean", "null"]},
        }
    else:
        components["Features"]["description"] = (
            "The model's features by name (GET /spec lists them with their ranges); null or absent = "
            "missing. Callers with a feature store send these; other callers send the `applicant` document."
        )
    score, explain, item = (
        components.pop("ScoreBody"),
        components.pop("ExplainBody"),
        components.pop("ApplicantItem"),
    )
    for properties in (score["properties"], explain["properties"], item["properties"]):
        properties["id"]["description"] = "The caller's id for this applicant, returned and logged as is."
    score["properties"]["explain"]["description"] = "Add the k strongest reasons (SHAP contributions)."
    for body in (score, explain):
        body["properties"]["return_features"]["description"] = "Add the feature row the model saw."
    components["ItemWithApplicant"] = _variant(
        item, ("id", "applicant"), ("applicant",), "One applicant of a batch: its application and history."
    )
    components["ItemWithFeatures"] = _variant(
        item, ("id", "features"), ("features",), "One applicant of a batch: the model's feature vector."
    )
    items = {"anyOf": [_ref("ItemWithApplicant"), _ref("ItemWithFeatures")]}
    for prefix, body, extra in (("Score", score, ("explain",)), ("Explain", explain, ())):
        tail = (*extra, "return_features")
        components[f"{prefix}Applicant"] = _variant(
            body,
            ("id", "applicant", *tail),
            ("applicant",),
            "One applicant: its application and credit history.",
        )
        components[f"{prefix}Features"] = _variant(
            body, ("id", "features", *tail), ("features",), "One applicant: the model's feature vector."
        )
        batch = _variant(
            body, ("applicants", *tail), ("applicants",), "A batch of applicants, in either form."
        )
        batch["properties"]["applicants"] = {**body["properties"]["applicants"], "items": items}
        components[f"{prefix}Batch"] = batch
        components[f"{prefix}Columnar"] = {
            "type": "object",
            "description": (
                "Compact batch of feature vectors for bulk callers: feature names once in `columns` (plus an "
                "optional `id` column), then one list of values per applicant in `rows`, in column order. "
                "Validated like `features` (errors name `rows[i].<feature>`); columns not sent are missing. "
                "Not listed among the request bodies because JSON Schema cannot tie each row's values to "
                "the columns' types; the service checks them."
            ),
            "required": ["columns", "rows"],
            "additionalProperties": False,
            "properties": {
                "columns": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
                "rows": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": schema.max_batch_size,
                    "items": {"type": "array", "items": {"type": ["number", "string", "boolean", "null"]}},
                },
                **{name: body["properties"][name] for name in tail},
            },
        }
    describe_sentinels(components)
    components.update(_answers())
    return _tidy(components)


def _answers() -> dict[str, Any]:
    reason = {
        "type": "object",
        "required": ["feature", "value", "contribution", "direction"],
        "properties": {
            "feature": {"type": "string"},
            "value": {"type": ["number", "null"]},
            "contribution": {"type": "number", "description": "Contribution to the log-odds of default."},
            "direction": {"type": "string", "enum": ["increases_risk", "decreases_risk"]},
        },
    }
    principal_reason = {
        "type": "object",
        "description": "A principal reason of a refusal: a characteristic of the applicant, by reason code.",
        "required": ["code", "reason", "value_missing", "contribution"],
        "properties": {
            "code": {"type": "string", "description": "Stable reason code (see `GET /spec`, `reasons`)."},
            "reason": {"type": "string", "description": "The characteristic in plain language."},
            "value_missing": {
                "type": "boolean",
                "description": "True when the reason is that this information was missing.",
            },
            "contribution": {
                "type": "number",
                "description": "How far the characteristic's features pushed the log-odds of default up.",
            },
        },
    }
    features = {
        "type": "object",
        "description": "The feature row the model saw (with `return_features`); null = missing.",
        "additionalProperties": {"type": ["number", "null"]},
    }
    score_result = {
        "type": "object",
        "required": ["id", "request_id", "probability", "decision", "model_tag"],
        "properties": {
            "id": {"type": ["string", "null"]},
            "request_id": {"type": "string", "description": "Our id of this scoring, as in the payload log."},
            "probability": {"type": "number", "minimum": 0, "maximum": 1},
            "decision": {"type": "string", "enum": ["accept", "refuse"]},
            "model_tag": {"type": "string"},
            "principal_reasons": {
                "type": "array",
                "maxItems": MAX_PRINCIPAL_REASONS,
                "description": "On a refusal only: the characteristics that pushed the score toward refusal, "
                "strongest first.",
                "items": _ref("PrincipalReason"),
            },
            "reasons": {"type": "array", "items": _ref("Reason")},
            "features": _ref("FeatureRow"),
        },
    }
    explain_result = {
        "type": "object",
        "required": ["id", "model_tag", "base_value", "margin", "probability", "contributions"],
        "properties": {
            "id": {"type": ["string", "null"]},
            "model_tag": {"type": "string"},
            "base_value": {"type": "number", "description": "Expected log-odds over the training data."},
            "margin": {"type": "number", "description": "base_value + sum(contributions): the log-odds."},
            "probability": {"type": "number", "minimum": 0, "maximum": 1},
            "contributions": {"type": "object", "additionalProperties": {"type": "number"}},
            "features": _ref("FeatureRow"),
        },
    }
    error = {
        "type": "object",
        "required": ["error", "field", "reason"],
        "properties": {
            "error": {"type": "string", "description": "Stable error code."},
            "field": {"type": ["string", "null"], "description": "The offending field's path, if any."},
            "reason": {"type": "string", "description": "The rule that was broken (never the value)."},
        },
    }
    return {
        "Reason": reason,
        "PrincipalReason": principal_reason,
        "FeatureRow": features,
        "ScoreResult": score_result,
        "ExplainResult": explain_result,
        "Error": error,
        "TrafficError": {
            "type": "object",
            "required": ["error"],
            "properties": {"error": {"type": "string"}},
        },
    }


def _errors(*statuses: int) -> dict[str, Any]:
    described = {
        400: "Malformed body (not JSON, wrong shape, unknown top-level field, a key repeated in one object).",
        408: "The body did not arrive within the configured time; the connection is closed.",
        413: "Batch above the applicant limit, a history list above its record limit, or body above the "
        "byte limit.",
        414: "Path and query longer than the configured limit.",
        415: "Body not sent as application/json.",
        422: "Unknown feature or column, wrong type or impossible value (`field` names it); or the loaded "
        "model cannot be scored from an applicant document (`applicant_form_unavailable`).",
        429: "Over capacity (requests, explanations or bodies being received); retry later.",
        431: "Headers larger than the configured limit.",
        503: "Not ready (model loading, explainer unavailable or shutting down).",
        504: "Took longer than the configured timeout.",
    }
    out: dict[str, Any] = {}
    for status in statuses:
        ref = "TrafficError" if status in (429, 504) else "Error"
        out[str(status)] = {
            "description": described[status],
            "content": {"application/json": {"schema": _ref(ref)}},
        }
    return out


def _post(summary: str, description: str, request: list[str], result: str, operation: str) -> dict[str, Any]:
    one_or_many = {
        "anyOf": [
            _ref(result),
            {
                "type": "object",
                "required": ["results"],
                "properties": {"results": {"type": "array", "items": _ref(result)}},
            },
        ]
    }
    return {
        "post": {
            "summary": summary,
            "description": description,
            "operationId": operation,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"anyOf": [_ref(name) for name in request]}}},
            },
            "responses": {
                "200": {
                    "description": "One result per applicant (an object, or `results` for a batch).",
                    "content": {"application/json": {"schema": one_or_many}},
                },
                **_errors(400, 408, 413, 414, 415, 422, 429, 431, 503, 504),
            },
        }
    }


def build_openapi(
    *,
    schema: RequestSchema,
    model_loaded: bool,
    threshold: float | None,
    model_tag: str | None,
    settings: ServiceSettings,
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the scoring routes for ``schema`` (the loaded model's or a placeholder)."""
    decision_note = (
        f" Model {model_tag}: refuse when probability >= {threshold:g}."
        if model_tag and threshold is not None
        else ""
    )
    forms = (
        "Send each applicant as its `applicant` document (the application record and its credit history with "
        "Kaggle's column names; the same for every model) or as the model's `features` (for callers with a "
        "feature store; they change when the model is retrained). A batch takes up to "
        f"{settings.max_batch_size} applicants; the compact columnar form (`ScoreColumnar`) takes feature "
        "vectors only."
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "credit-scoring",
            "version": model_tag or "not loaded",
            "description": "Probability of default and accept/refuse decision for credit applicants."
            + decision_note,
        },
        "servers": [{"url": "."}],
        "paths": {
            "/score": _post(
                "Score one applicant or a batch",
                forms,
                ["ScoreApplicant", "ScoreFeatures", "ScoreBatch"],
                "ScoreResult",
                "score",
            ),
            "/explain": _post(
                "Every feature's SHAP contribution, the base value and the margin",
                forms,
                ["ExplainApplicant", "ExplainFeatures", "ExplainBatch"],
                "ExplainResult",
                "explain",
            ),
            "/spec": {
                "get": {
                    "summary": "Both input contracts: the applicant document and the loaded model's features",
                    "operationId": "spec",
                    "responses": {
                        "200": {
                            "description": "Model tag, threshold, limits, the model's feature spec and the "
                            "applicant document's JSON Schema.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        **_errors(503),
                    },
                }
            },
        },
        "components": {"schemas": _components(schema, model_loaded)},
    }
