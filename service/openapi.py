"""The OpenAPI document served at BentoML's docs route (``/docs.json``, shown by the UI at ``/``).

The scoring routes live in a mounted Starlette app, which BentoML's generator cannot see, so this module
writes the document itself: every feature of the loaded bundle with its type, observed range and valid
range, the request and response shapes, and every error status the routes answer with.
"""

from __future__ import annotations

from typing import Any

from service.bundle import FeatureSpec
from service.settings import ServiceSettings
from service.validation import MAX_CALLER_ID_CHARS


def _feature_schema(spec: FeatureSpec) -> dict[str, Any]:
    parts = [spec.description.strip()] if spec.description else []
    parts.append(f"type {spec.dtype}")
    if spec.observed_min is not None and spec.observed_max is not None:
        parts.append(f"observed in training: [{spec.observed_min:g}, {spec.observed_max:g}]")
    if spec.valid_min is not None or spec.valid_max is not None:
        low = "-inf" if spec.valid_min is None else f"{spec.valid_min:g}"
        high = "+inf" if spec.valid_max is None else f"{spec.valid_max:g}"
        parts.append(f"valid: [{low}, {high}]")
    parts.append("null or absent = missing" if spec.missing_allowed else "required")
    schema: dict[str, Any]
    if spec.categories is not None:
        schema = {"type": "string", "enum": list(spec.categories)}
    elif spec.dtype == "bool":
        schema = {"type": "integer", "enum": [0, 1]}
    else:
        schema = {"type": "integer" if spec.dtype == "int" else "number"}
        if spec.valid_min is not None:
            schema["minimum"] = spec.valid_min
        if spec.valid_max is not None:
            schema["maximum"] = spec.valid_max
    schema["nullable"] = spec.missing_allowed
    schema["description"] = "; ".join(parts)
    return schema


def _features_schema(features: list[FeatureSpec] | None) -> dict[str, Any]:
    if features is None:
        return {
            "type": "object",
            "description": "Feature values by name; the model is not loaded yet, see /spec once ready.",
            "additionalProperties": {"type": "number", "nullable": True},
        }
    return {
        "type": "object",
        "description": "Feature values by name (see /spec); null or absent means missing.",
        "properties": {spec.name: _feature_schema(spec) for spec in features},
        "required": [spec.name for spec in features if not spec.missing_allowed],
        "additionalProperties": False,
    }


def _json(schema_ref: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}}


def _errors(*statuses: int) -> dict[str, Any]:
    described = {
        400: "Malformed body (not JSON, wrong shape).",
        413: "Batch above the applicant limit or body above the byte limit.",
        415: "Body not sent as application/json.",
        422: "Unknown feature, wrong type or impossible value; `field` names it.",
        429: "Over capacity; retry later.",
        503: "Not ready (model loading, explainer unavailable or shutting down).",
        504: "Took longer than the configured timeout.",
    }
    out: dict[str, Any] = {}
    for status in statuses:
        ref = "TrafficError" if status in (429, 504) else "Error"
        out[str(status)] = {"description": described[status], "content": _json(ref)}
    return out


def build_openapi(
    *,
    features: list[FeatureSpec] | None,
    threshold: float | None,
    model_tag: str | None,
    settings: ServiceSettings,
) -> dict[str, Any]:
    """The OpenAPI 3.0 document for the loaded bundle (generic feature schema while loading)."""
    applicant = {
        "type": "object",
        "required": ["features"],
        "additionalProperties": False,
        "properties": {
            "id": {
                "type": "string",
                "nullable": True,
                "maxLength": MAX_CALLER_ID_CHARS,
                "description": "The caller's id for this applicant, returned and logged as is.",
            },
            "features": {"$ref": "#/components/schemas/Features"},
        },
    }
    explain_k = {
        "type": "integer",
        "minimum": 0,
        "maximum": settings.explain_max_k,
        "description": "Add the k strongest reasons (SHAP contributions) to each result.",
    }
    batch = {
        "type": "object",
        "required": ["applicants"],
        "additionalProperties": False,
        "properties": {
            "applicants": {
                "type": "array",
                "minItems": 1,
                "maxItems": settings.max_batch_size,
                "items": {"$ref": "#/components/schemas/Applicant"},
            },
        },
    }
    column_names = ["id", *(spec.name for spec in features)] if features is not None else None
    columnar = {
        "type": "object",
        "required": ["columns", "rows"],
        "additionalProperties": False,
        "description": (
            "Compact batch form for bulk callers: feature names once in `columns` (plus an optional `id` "
            "column), then one list of values per applicant in `rows`, in column order. Validated like "
            "`applicants` (errors name `rows[i].<feature>`); columns not sent are missing. Parsed about "
            "3x faster than `applicants` (BENCHMARKS.md)."
        ),
        "properties": {
            "columns": {
                "type": "array",
                "uniqueItems": True,
                "items": {"type": "string", **({"enum": column_names} if column_names else {})},
                "description": "Feature names (see /spec) and optionally `id`, each at most once.",
            },
            "rows": {
                "type": "array",
                "minItems": 1,
                "maxItems": settings.max_batch_size,
                "items": {
                    "type": "array",
                    "description": "One applicant: a value per column, in column order (null = missing).",
                    "items": {"nullable": True, "anyOf": [{"type": "number"}, {"type": "string"}]},
                },
            },
            "explain": explain_k,
        },
    }
    score_single = {**applicant, "properties": {**applicant["properties"], "explain": explain_k}}
    score_batch = {**batch, "properties": {**batch["properties"], "explain": explain_k}}
    reason = {
        "type": "object",
        "required": ["feature", "value", "contribution", "direction"],
        "properties": {
            "feature": {"type": "string"},
            "value": {"type": "number", "nullable": True},
            "contribution": {"type": "number", "description": "Contribution to the log-odds of default."},
            "direction": {"type": "string", "enum": ["increases_risk", "decreases_risk"]},
        },
    }
    score_result = {
        "type": "object",
        "required": ["id", "request_id", "probability", "decision", "model_tag"],
        "properties": {
            "id": {"type": "string", "nullable": True},
            "request_id": {"type": "string", "description": "Our id of this scoring, as in the payload log."},
            "probability": {"type": "number", "minimum": 0, "maximum": 1},
            "decision": {"type": "string", "enum": ["accept", "refuse"]},
            "model_tag": {"type": "string"},
            "reasons": {"type": "array", "items": {"$ref": "#/components/schemas/Reason"}},
        },
    }
    explain_result = {
        "type": "object",
        "required": ["id", "model_tag", "base_value", "margin", "probability", "contributions"],
        "properties": {
            "id": {"type": "string", "nullable": True},
            "model_tag": {"type": "string"},
            "base_value": {"type": "number", "description": "Expected log-odds over the training data."},
            "margin": {"type": "number", "description": "base_value + sum(contributions): the log-odds."},
            "probability": {"type": "number", "minimum": 0, "maximum": 1},
            "contributions": {"type": "object", "additionalProperties": {"type": "number"}},
        },
    }
    error = {
        "type": "object",
        "required": ["error", "field", "reason"],
        "properties": {
            "error": {"type": "string", "description": "Stable error code."},
            "field": {"type": "string", "nullable": True, "description": "The offending field, if any."},
            "reason": {"type": "string", "description": "The rule that was broken (never the value)."},
        },
    }
    decision_note = (
        f" Model {model_tag}: refuse when probability >= {threshold:g}."
        if model_tag and threshold is not None
        else ""
    )
    return {
        "openapi": "3.0.2",
        "info": {
            "title": "credit-scoring",
            "version": model_tag or "not loaded",
            "description": "Probability of default and accept/refuse decision for credit applicants."
            + decision_note,
        },
        "servers": [{"url": "."}],
        "paths": {
            "/score": {
                "post": {
                    "summary": "Score one applicant or a batch",
                    "description": (
                        "One applicant, an `applicants` batch, or the compact columnar batch form "
                        '`{"columns": [...], "rows": [[...], ...]}` described by the `ScoreColumnar` '
                        "schema (not listed as an alternative body because JSON Schema cannot say that each "
                        "row holds one value per column of the column's type; the service checks it and "
                        "names `rows[i].<feature>` when it does not)."
                    ),
                    "operationId": "score",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "anyOf": [
                                        {"$ref": "#/components/schemas/ScoreSingle"},
                                        {"$ref": "#/components/schemas/ScoreBatch"},
                                    ]
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "One result per applicant (an object, or `results` for a batch).",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "anyOf": [
                                            {"$ref": "#/components/schemas/ScoreResult"},
                                            {
                                                "type": "object",
                                                "required": ["results"],
                                                "properties": {
                                                    "results": {
                                                        "type": "array",
                                                        "items": {"$ref": "#/components/schemas/ScoreResult"},
                                                    }
                                                },
                                            },
                                        ]
                                    }
                                }
                            },
                        },
                        **_errors(400, 413, 415, 422, 429, 503, 504),
                    },
                }
            },
            "/explain": {
                "post": {
                    "summary": "Every feature's SHAP contribution, the base value and the margin",
                    "operationId": "explain",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "anyOf": [
                                        {"$ref": "#/components/schemas/Applicant"},
                                        {"$ref": "#/components/schemas/Batch"},
                                    ]
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "One explanation per applicant.",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "anyOf": [
                                            {"$ref": "#/components/schemas/ExplainResult"},
                                            {
                                                "type": "object",
                                                "required": ["results"],
                                                "properties": {
                                                    "results": {
                                                        "type": "array",
                                                        "items": {
                                                            "$ref": "#/components/schemas/ExplainResult"
                                                        },
                                                    }
                                                },
                                            },
                                        ]
                                    }
                                }
                            },
                        },
                        **_errors(400, 413, 415, 422, 429, 503, 504),
                    },
                }
            },
            "/spec": {
                "get": {
                    "summary": "The feature spec, threshold and request limits of the loaded model",
                    "operationId": "spec",
                    "responses": {
                        "200": {
                            "description": "Feature spec.",
                            "content": {"application/json": {"schema": {}}},
                        },
                        **_errors(503),
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "Features": _features_schema(features),
                "Applicant": applicant,
                "Batch": batch,
                "ScoreSingle": score_single,
                "ScoreBatch": score_batch,
                "ScoreColumnar": columnar,
                "Reason": reason,
                "ScoreResult": score_result,
                "ExplainResult": explain_result,
                "Error": error,
                "TrafficError": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {"type": "string"}},
                },
            }
        },
    }
