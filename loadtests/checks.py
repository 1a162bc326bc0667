"""Validation of every response the load test receives: schema, probability range, decision vs threshold.

Answers asked with ``"return_features": true`` must also carry the feature row the model saw: exactly the
model's features, each a finite number or null, and the same values the reasons quote.

Each check returns ``None`` when the body is right, else a short reason without any value from the body, so
Locust groups failures into a handful of rows (one per scenario and reason) instead of one per request.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

DECISIONS = ("accept", "refuse")
"""Decisions the service may return."""

MARGIN_TOLERANCE = 1e-6
"""Largest accepted gap between the raw margin and base value + sum of contributions on ``/explain``."""

DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
"""Request body limit assumed when ``GET /spec`` does not publish one (the service's default)."""

NO_APPLICANT_FORM = "GET /spec does not describe the applicant form (a service from before it)"
"""Why the applicant form is taken as unavailable when ``GET /spec`` has no ``applicant`` section."""


def applicant_form(body: Mapping[str, Any]) -> tuple[bool, str | None]:
    """Whether the service behind a ``GET /spec`` body scores applicant documents, and if not, why."""
    section = body.get("applicant")
    if not isinstance(section, Mapping):
        return False, NO_APPLICANT_FORM
    if section.get("available") is True:
        return True, None
    return False, str(section.get("unavailable_reason") or "GET /spec says the applicant form is unavailable")


@dataclass(frozen=True)
class ServiceSpec:
    """What ``GET /spec`` says about the model being served, as far as response checks need it."""

    model_tag: str
    """Exact ``name:version`` every response must carry."""
    threshold: float
    """Probability of default at or above which the decision must be ``refuse``."""
    feature_names: tuple[str, ...]
    """Features of the model, in booster order."""
    max_batch_size: int
    """Most applicants per request."""
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    """Largest request body the service reads."""
    applicant_available: bool = False
    """Whether the service scores applicant documents with this model."""
    applicant_unavailable_reason: str | None = None
    """Why it does not (``None`` when it does)."""

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> ServiceSpec:
        """Build from the ``GET /spec`` body; raise ``ValueError`` when a field is missing or malformed."""
        try:
            available, reason = applicant_form(body)
            return cls(
                model_tag=str(body["model_tag"]),
                threshold=float(body["threshold"]),
                feature_names=tuple(str(f["name"]) for f in body["features"]),
                max_batch_size=int(body.get("max_batch_size", 1000)),
                max_body_bytes=int(body.get("max_body_bytes", DEFAULT_MAX_BODY_BYTES)),
                applicant_available=available,
                applicant_unavailable_reason=reason,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"GET /spec answered an unexpected body ({type(exc).__name__}: {exc})") from None


def _is_probability(value: Any) -> bool:
    return isinstance(value, float | int) and not isinstance(value, bool) and 0.0 <= value <= 1.0


def _is_close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def check_feature_row(row: Any, spec: ServiceSpec) -> str | None:
    """Check the feature row of a ``return_features`` answer: the model's features, numbers or null."""
    if not isinstance(row, dict):
        return "feature row missing although return_features was asked"
    if set(row) != set(spec.feature_names):
        return "feature row does not hold exactly the model's features"
    for value in row.values():
        if value is not None and (
            not isinstance(value, float | int) or isinstance(value, bool) or not math.isfinite(value)
        ):
            return "feature row value is not a finite number or null"
    return None


def _check_features_field(result: dict, spec: ServiceSpec, return_features: bool) -> str | None:
    if not return_features:
        return None if "features" not in result else "feature row returned without return_features"
    return check_feature_row(result.get("features"), spec)


def check_scored(
    result: Any, spec: ServiceSpec, expected_id: str | None, explain_k: int, return_features: bool = False
) -> str | None:
    """Check one scored applicant of a ``/score`` answer (and its feature row when ``return_features``)."""
    if not isinstance(result, dict):
        return "result is not an object"
    if result.get("id") != expected_id:
        return "result id does not match the applicant sent"
    probability = result.get("probability")
    if not _is_probability(probability):
        return "probability missing or outside [0, 1]"
    decision = result.get("decision")
    if decision not in DECISIONS:
        return "decision is not accept/refuse"
    if (decision == "refuse") != (probability >= spec.threshold):
        return "decision inconsistent with probability and threshold"
    if result.get("model_tag") != spec.model_tag:
        return "model_tag differs from GET /spec"
    problem = _check_features_field(result, spec, return_features)
    if problem is not None:
        return problem
    reasons = result.get("reasons")
    if explain_k == 0:
        return None if reasons is None else "reasons returned without explain"
    if not isinstance(reasons, list) or len(reasons) != min(explain_k, len(spec.feature_names)):
        return "wrong number of reasons"
    names = set(spec.feature_names)
    strengths = []
    for reason in reasons:
        if not isinstance(reason, dict) or reason.get("feature") not in names:
            return "reason names an unknown feature"
        contribution = reason.get("contribution")
        if not isinstance(contribution, float | int) or not math.isfinite(contribution):
            return "reason contribution is not a finite number"
        if return_features:
            seen, quoted = result["features"][reason["feature"]], reason.get("value")
            if (seen is None) != (quoted is None) or (
                seen is not None and (not isinstance(quoted, float | int) or not _is_close(seen, quoted))
            ):
                return "reason value differs from the returned feature row"
        strengths.append(abs(contribution))
    if strengths != sorted(strengths, reverse=True):
        return "reasons not ordered strongest first"
    return None


def check_score_response(
    body: Any,
    spec: ServiceSpec,
    ids: Sequence[str | None],
    single: bool,
    explain_k: int,
    return_features: bool = False,
) -> str | None:
    """Check a whole ``/score`` answer for the applicants ``ids`` (one object, or ``{"results": [...]}``)."""
    if single:
        return check_scored(body, spec, ids[0], explain_k, return_features)
    results = body.get("results") if isinstance(body, dict) else None
    if not isinstance(results, list) or len(results) != len(ids):
        return "batch answer does not hold one result per applicant"
    for result, expected_id in zip(results, ids, strict=True):
        problem = check_scored(result, spec, expected_id, explain_k, return_features)
        if problem is not None:
            return problem
    return None


def check_explained(
    result: Any, spec: ServiceSpec, expected_id: str | None, return_features: bool = False
) -> str | None:
    """Check one applicant of an ``/explain`` answer: every contribution, base value, margin, probability
    (and its feature row when ``return_features``)."""
    if not isinstance(result, dict):
        return "result is not an object"
    if result.get("id") != expected_id:
        return "result id does not match the applicant sent"
    if result.get("model_tag") != spec.model_tag:
        return "model_tag differs from GET /spec"
    contributions = result.get("contributions")
    if not isinstance(contributions, dict) or set(contributions) != set(spec.feature_names):
        return "contributions do not cover exactly the model's features"
    base, margin = result.get("base_value"), result.get("margin")
    numbers = [base, margin, *contributions.values()]
    if not all(isinstance(v, float | int) and math.isfinite(v) for v in numbers):
        return "contribution, base value or margin is not a finite number"
    if abs(base + sum(contributions.values()) - margin) > MARGIN_TOLERANCE * max(1.0, abs(margin)):
        return "margin differs from base value + contributions"
    if not _is_probability(result.get("probability")):
        return "probability missing or outside [0, 1]"
    return _check_features_field(result, spec, return_features)


def check_explain_response(
    body: Any, spec: ServiceSpec, ids: Sequence[str | None], single: bool, return_features: bool = False
) -> str | None:
    """Check a whole ``/explain`` answer for the applicants ``ids``."""
    if single:
        return check_explained(body, spec, ids[0], return_features)
    results = body.get("results") if isinstance(body, dict) else None
    if not isinstance(results, list) or len(results) != len(ids):
        return "batch answer does not hold one result per applicant"
    for result, expected_id in zip(results, ids, strict=True):
        problem = check_explained(result, spec, expected_id, return_features)
        if problem is not None:
            return problem
    return None
