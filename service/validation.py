"""Request validation: JSON body -> float64 matrix in the booster's feature order, no pandas.

Every request has one exact definition of valid: the per-value loop (:meth:`RequestValidator._fill_row`)
checks name, JSON type and real-world range against the bundle's feature spec, writes each value straight
into a preallocated numpy array (``NaN`` = missing) and raises a :class:`~service.errors.ServiceError`
naming the first offending field and the rule, never the value.

Batches first take a vectorised path (:mod:`service.batch_validation`): one list and one numpy array per
feature column, checked with array comparisons. When any vectorised check fails, the per-value loop runs
on the whole batch to name the exact field, so both paths accept and refuse the same bodies.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import orjson

from service.batch_validation import (
    KIND_BOOL,
    KIND_CATEGORY,
    KIND_FLOAT,
    KIND_INT,
    ColumnRule,
    fill_applicants,
    fill_columnar,
)
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

VECTORISED_MIN_ROWS = 8
"""Batches with at least this many applicants are validated column by column first."""

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
    """Whether the body held one applicant object rather than an ``applicants`` list or columnar rows."""


def decode_json(body: bytes) -> object:
    """Parse a JSON body with orjson; fall back to ``json`` for what orjson refuses but we judge per field.

    orjson rejects the ``NaN``/``Infinity`` literals and out-of-range numbers such as ``1e999``; the standard
    parser reads them, so that validation answers 422 "must be finite" naming the field instead of 400.
    Strings with lone surrogates, which orjson also rejects, stay refused (400).
    """
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        payload = json.loads(body)
        # the standard parser also accepts escaped lone UTF-16 surrogates ("\ud800"), which no UTF-8 answer,
        # log record or error message can hold: refuse them here rather than fail later with a 500
        json.dumps(payload, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedRequestError("body is not valid JSON: a string has a lone UTF-16 surrogate") from None
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise MalformedRequestError("body is not valid JSON") from None
    return payload


class RequestValidator:
    """Checks request bodies against one bundle's feature spec."""

    def __init__(self, features: list[FeatureSpec], *, max_batch_size: int, explain_max_k: int) -> None:
        self.features = features
        self.max_batch_size = max_batch_size
        self.explain_max_k = explain_max_k
        self._rules: dict[str, ColumnRule] = {}
        for index, spec in enumerate(features):
            if spec.categories is not None:
                kind = KIND_CATEGORY
            else:
                kind = {"float": KIND_FLOAT, "int": KIND_INT, "bool": KIND_BOOL}[spec.dtype]
            self._rules[spec.name] = ColumnRule(
                name=spec.name,
                index=index,
                kind=kind,
                low=-math.inf if spec.valid_min is None else float(spec.valid_min),
                high=math.inf if spec.valid_max is None else float(spec.valid_max),
                missing_allowed=spec.missing_allowed,
                categories=None if spec.categories is None else {c: i for i, c in enumerate(spec.categories)},
            )
        self._ordered_rules = list(self._rules.values())
        self._required = [s.name for s in features if not s.missing_allowed]

    def parse(self, body: bytes, *, allow_explain: bool = True) -> ScoringRequest:
        """Decode and validate a request body; raise a :class:`ServiceError` subclass on the first problem."""
        payload = decode_json(body)
        if not isinstance(payload, dict):
            raise MalformedRequestError("body must be a JSON object")
        explain_k = 0
        if "explain" in payload:
            if not allow_explain:
                raise UnknownFeatureError("is not a field of this endpoint", field="explain")
            explain_k = self._explain_k(payload["explain"])
        if "rows" in payload or "columns" in payload:
            return self._parse_columnar(payload, explain_k)
        applicants = payload.get("applicants")
        if applicants is None:
            extra = set(payload) - {"id", "features", "explain"}
            if extra:
                raise MalformedRequestError("unknown top-level field", field=sorted(extra)[0])
            matrix = np.full((1, len(self.features)), _NAN, dtype=np.float64)
            caller_id = self._fill_row(payload, matrix, 0, "", single=True)
            return ScoringRequest(matrix=matrix, caller_ids=[caller_id], explain_k=explain_k, single=True)
        extra = set(payload) - {"applicants", "explain"}
        if extra:
            raise MalformedRequestError("unknown top-level field", field=sorted(extra)[0])
        if not isinstance(applicants, list):
            raise WrongTypeError("must be a list of applicants", field="applicants")
        self._check_batch_size(len(applicants), "applicants")
        if len(applicants) >= VECTORISED_MIN_ROWS:
            filled = fill_applicants(applicants, self._ordered_rules, MAX_CALLER_ID_CHARS)
            if filled is not None:
                matrix, caller_ids = filled
                return ScoringRequest(matrix=matrix, caller_ids=caller_ids, explain_k=explain_k, single=False)
        matrix = np.full((len(applicants), len(self.features)), _NAN, dtype=np.float64)
        caller_ids = [
            self._fill_row(item, matrix, row, f"applicants[{row}].", single=False)
            for row, item in enumerate(applicants)
        ]
        return ScoringRequest(matrix=matrix, caller_ids=caller_ids, explain_k=explain_k, single=False)

    def _parse_columnar(self, payload: dict, explain_k: int) -> ScoringRequest:
        """``{"columns": [names], "rows": [[values], ...]}``; an ``id`` column carries caller ids."""
        extra = set(payload) - {"columns", "rows", "explain"}
        if extra:
            raise MalformedRequestError("unknown top-level field", field=sorted(extra)[0])
        columns, rows = payload.get("columns"), payload.get("rows")
        if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
            raise WrongTypeError("must be a list of feature names (and optionally 'id')", field="columns")
        if len(set(columns)) != len(columns):
            raise MalformedRequestError("names a column twice", field="columns")
        for name in columns:
            if name != "id" and name not in self._rules:
                raise UnknownFeatureError("is not a feature of this model", field=f"columns.{name}")
        if not isinstance(rows, list):
            raise WrongTypeError("must be a list of rows (lists of values in column order)", field="rows")
        self._check_batch_size(len(rows), "rows")
        filled = fill_columnar(columns, rows, self._rules, self._ordered_rules, MAX_CALLER_ID_CHARS)
        if filled is None:
            # name the exact field: check each row as an applicant object, with fields named rows[i].<name>
            matrix = np.full((len(rows), len(self.features)), _NAN, dtype=np.float64)
            caller_ids = []
            for row, values in enumerate(rows):
                if not isinstance(values, list) or len(values) != len(columns):
                    raise WrongTypeError(f"must be a list of {len(columns)} values", field=f"rows[{row}]")
                named = dict(zip(columns, values, strict=True))
                caller_id = named.pop("id", None)
                caller_ids.append(self._fill_applicant(caller_id, named, matrix, row, f"rows[{row}]."))
            filled = (matrix, caller_ids)
        matrix, caller_ids = filled
        return ScoringRequest(matrix=matrix, caller_ids=caller_ids, explain_k=explain_k, single=False)

    def _check_batch_size(self, n: int, field: str) -> None:
        if n == 0:
            raise MalformedRequestError("must hold at least one applicant", field=field)
        if n > self.max_batch_size:
            raise BatchTooLargeError(f"at most {self.max_batch_size} applicants per request", field=field)

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
        features = item.get("features")
        caller_id = self._caller_id(item.get("id"), where)
        if not isinstance(features, dict):
            raise WrongTypeError("must be an object of feature values by name", field=f"{where}features")
        self._fill_features(features, matrix, row, f"{where}features.")
        return caller_id

    def _fill_applicant(
        self, caller_id: object, features: dict, matrix: np.ndarray, row: int, where: str
    ) -> str | None:
        checked = self._caller_id(caller_id, where)
        self._fill_features(features, matrix, row, where)
        return checked

    def _caller_id(self, caller_id: object, where: str) -> str | None:
        if caller_id is None:
            return None
        if isinstance(caller_id, bool) or not isinstance(caller_id, str | int):
            raise WrongTypeError("must be a string or an integer", field=f"{where}id")
        caller_id = str(caller_id)
        if len(caller_id) > MAX_CALLER_ID_CHARS:
            raise ImpossibleValueError(
                f"must be at most {MAX_CALLER_ID_CHARS} characters", field=f"{where}id"
            )
        return caller_id

    def _fill_features(self, features: dict, matrix: np.ndarray, row: int, prefix: str) -> None:
        """Check one applicant's features; ``prefix`` + name is the field path in errors."""
        values = matrix[row]
        rules = self._rules
        for name, value in features.items():
            rule = rules.get(name)
            if rule is None:
                raise UnknownFeatureError("is not a feature of this model", field=f"{prefix}{name}")
            if value is None:
                if not rule.missing_allowed:
                    raise ImpossibleValueError("is required", field=f"{prefix}{name}")
                continue
            values[rule.index] = _convert(rule, value, f"{prefix}{name}")
        for name in self._required:
            if features.get(name) is None:
                raise ImpossibleValueError("is required", field=f"{prefix}{name}")


def _convert(rule: ColumnRule, value: object, field: str) -> float:
    """One JSON value -> float for the booster, or raise naming the field."""
    kind = rule.kind
    if kind == KIND_CATEGORY:
        if not isinstance(value, str):
            raise WrongTypeError("must be a category label (string)", field=field)
        assert rule.categories is not None
        code = rule.categories.get(value)
        if code is None:
            raise ImpossibleValueError("is not one of the model's categories", field=field)
        return float(code)
    if isinstance(value, bool):
        if kind == KIND_BOOL:
            return 1.0 if value else 0.0
        raise WrongTypeError("must be a number, not true/false", field=field)
    if not isinstance(value, int | float):
        raise WrongTypeError("must be a number or null", field=field)
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ImpossibleValueError("must be finite", field=field)
    if kind == KIND_BOOL:
        if number != 0.0 and number != 1.0:
            raise ImpossibleValueError("must be 0 or 1", field=field)
        return number
    if kind == KIND_INT and not number.is_integer():
        raise ImpossibleValueError("must be a whole number", field=field)
    if number < rule.low:
        raise ImpossibleValueError(f"must be >= {rule.low:g}", field=field)
    if number > rule.high:
        raise ImpossibleValueError(f"must be <= {rule.high:g}", field=field)
    return number
