"""Request validation: JSON body -> float64 matrix in the booster's feature order, no pandas.

One pass over each applicant's features checks name, JSON type and real-world range against the bundle's
feature spec and writes the value straight into a preallocated numpy array (``NaN`` = missing). The first
problem found raises a :class:`~service.errors.ServiceError` naming the field and the rule, never the value.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np

from service.bundle import FeatureSpec
from service.errors import (
    BatchTooLargeError,
    ImpossibleValueError,
    MalformedRequestError,
    UnknownFeatureError,
    WrongTypeError,
)

MAX_CALLER_ID_CHARS = 128
"""Longest caller id accepted; ids are logged in the payload record."""

_KIND_FLOAT, _KIND_INT, _KIND_BOOL, _KIND_CATEGORY = 0, 1, 2, 3
_NAN = float("nan")


@dataclass(frozen=True)
class ScoringRequest:
    """A validated ``/score`` or ``/explain`` request."""

    matrix: np.ndarray
    """Feature values, shape ``(n_applicants, n_features)``, float64, ``NaN`` for missing."""
    caller_ids: list[str | None]
    """The caller's id of each applicant, or ``None``."""
    explain_k: int
    """How many strongest reasons to add per applicant (0 = none)."""
    single: bool
    """Whether the body held one applicant object rather than an ``applicants`` list."""


@dataclass(frozen=True)
class _Rule:
    index: int
    kind: int
    low: float
    high: float
    missing_allowed: bool
    categories: dict[str, int] | None


class RequestValidator:
    """Checks request bodies against one bundle's feature spec."""

    def __init__(self, features: list[FeatureSpec], *, max_batch_size: int, explain_max_k: int) -> None:
        self.features = features
        self.max_batch_size = max_batch_size
        self.explain_max_k = explain_max_k
        self._rules: dict[str, _Rule] = {}
        for index, spec in enumerate(features):
            if spec.categories is not None:
                kind = _KIND_CATEGORY
            else:
                kind = {"float": _KIND_FLOAT, "int": _KIND_INT, "bool": _KIND_BOOL}[spec.dtype]
            self._rules[spec.name] = _Rule(
                index=index,
                kind=kind,
                low=-math.inf if spec.valid_min is None else float(spec.valid_min),
                high=math.inf if spec.valid_max is None else float(spec.valid_max),
                missing_allowed=spec.missing_allowed,
                categories=None if spec.categories is None else {c: i for i, c in enumerate(spec.categories)},
            )
        self._required = [s.name for s in features if not s.missing_allowed]

    def parse(self, body: bytes, *, allow_explain: bool = True) -> ScoringRequest:
        """Decode and validate a request body; raise a :class:`ServiceError` subclass on the first problem."""
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise MalformedRequestError("body is not valid JSON") from None
        if not isinstance(payload, dict):
            raise MalformedRequestError("body must be a JSON object")
        explain_k = 0
        if "explain" in payload:
            if not allow_explain:
                raise UnknownFeatureError("is not a field of this endpoint", field="explain")
            explain_k = self._explain_k(payload["explain"])
        applicants = payload.get("applicants")
        if applicants is None:
            extra = set(payload) - {"id", "features", "explain"}
            if extra:
                raise MalformedRequestError("unknown top-level field", field=sorted(extra)[0])
            items, prefix, single = [payload], "", True
        else:
            extra = set(payload) - {"applicants", "explain"}
            if extra:
                raise MalformedRequestError("unknown top-level field", field=sorted(extra)[0])
            if not isinstance(applicants, list):
                raise WrongTypeError("must be a list of applicants", field="applicants")
            if not applicants:
                raise MalformedRequestError("must hold at least one applicant", field="applicants")
            if len(applicants) > self.max_batch_size:
                raise BatchTooLargeError(
                    f"at most {self.max_batch_size} applicants per request", field="applicants"
                )
            items, prefix, single = applicants, "applicants", False
        matrix = np.full((len(items), len(self.features)), _NAN, dtype=np.float64)
        caller_ids: list[str | None] = []
        for row, item in enumerate(items):
            where = f"{prefix}[{row}]." if prefix else ""
            caller_ids.append(self._fill_row(item, matrix, row, where, single))
        return ScoringRequest(matrix=matrix, caller_ids=caller_ids, explain_k=explain_k, single=single)

    def _explain_k(self, value: object) -> int:
        if value is None or value is False:
            return 0
        if isinstance(value, bool) or not isinstance(value, int):
            raise WrongTypeError("must be a whole number", field="explain")
        if value < 0 or value > self.explain_max_k:
            raise ImpossibleValueError(f"must be between 0 and {self.explain_max_k}", field="explain")
        return value

    def _fill_row(self, item: object, matrix: np.ndarray, row: int, where: str, single: bool) -> str | None:
        if not isinstance(item, dict):
            raise WrongTypeError("must be an object with 'features'", field=where.rstrip(".") or None)
        for key in item:
            if key not in ("id", "features") and not (single and key == "explain"):
                raise MalformedRequestError("unknown applicant field", field=f"{where}{key}")
        caller_id = item.get("id")
        if caller_id is not None:
            if isinstance(caller_id, bool) or not isinstance(caller_id, str | int):
                raise WrongTypeError("must be a string or an integer", field=f"{where}id")
            caller_id = str(caller_id)
            if len(caller_id) > MAX_CALLER_ID_CHARS:
                raise ImpossibleValueError(
                    f"must be at most {MAX_CALLER_ID_CHARS} characters", field=f"{where}id"
                )
        features = item.get("features")
        if not isinstance(features, dict):
            raise WrongTypeError("must be an object of feature values by name", field=f"{where}features")
        values = matrix[row]
        rules = self._rules
        for name, value in features.items():
            rule = rules.get(name)
            if rule is None:
                raise UnknownFeatureError("is not a feature of this model", field=f"{where}features.{name}")
            if value is None:
                if not rule.missing_allowed:
                    raise ImpossibleValueError("is required", field=f"{where}features.{name}")
                continue
            values[rule.index] = _convert(rule, value, where, name)
        for name in self._required:
            if name not in features:
                raise ImpossibleValueError("is required", field=f"{where}features.{name}")
        return caller_id


def _convert(rule: _Rule, value: object, where: str, name: str) -> float:
    """One JSON value -> float for the booster, or raise naming the field."""
    kind = rule.kind
    if kind == _KIND_CATEGORY:
        if not isinstance(value, str):
            raise WrongTypeError("must be a category label (string)", field=f"{where}features.{name}")
        assert rule.categories is not None
        code = rule.categories.get(value)
        if code is None:
            raise ImpossibleValueError(
                "is not one of the model's categories", field=f"{where}features.{name}"
            )
        return float(code)
    if isinstance(value, bool):
        if kind == _KIND_BOOL:
            return 1.0 if value else 0.0
        raise WrongTypeError("must be a number, not true/false", field=f"{where}features.{name}")
    if not isinstance(value, int | float):
        raise WrongTypeError("must be a number or null", field=f"{where}features.{name}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ImpossibleValueError("must be finite", field=f"{where}features.{name}")
    if kind == _KIND_BOOL:
        if number != 0.0 and number != 1.0:
            raise ImpossibleValueError("must be 0 or 1", field=f"{where}features.{name}")
        return number
    if kind == _KIND_INT and not number.is_integer():
        raise ImpossibleValueError("must be a whole number", field=f"{where}features.{name}")
    if number < rule.low:
        raise ImpossibleValueError(f"must be >= {rule.low:g}", field=f"{where}features.{name}")
    if number > rule.high:
        raise ImpossibleValueError(f"must be <= {rule.high:g}", field=f"{where}features.{name}")
    return number
