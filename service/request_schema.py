"""What a valid ``/score`` or ``/explain`` request is: msgspec types, built once per loaded bundle.

This is the one definition of a valid request. The types are generated from two sources: the bundle's
feature spec (the ``features`` form: the model's own inputs, by name, with their type and real-world range)
and the applicant document (:mod:`service.applicant.document`: the application and its credit history with
Kaggle's names, the same for every model). msgspec decodes and checks a body in one pass in C; the OpenAPI
document (:mod:`service.openapi`) is generated from the same types.

A body is one of three forms, told apart by the fields it holds:

* one applicant: ``{"id", "features" | "applicant", "explain", "return_features"}``;
* a batch: ``{"applicants": [{"id", "features" | "applicant"}, ...], "explain", "return_features"}``;
* a columnar batch of feature vectors: ``{"columns": [names], "rows": [[values], ...], ...}``.

Errors name the field path (``applicants[2].applicant.bureau[0].AMT_CREDIT_SUM``) and the rule, never the
value (:func:`_refusal` translates msgspec's messages, which never carry values except an unknown key).
"""

from __future__ import annotations

import json
import math
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import msgspec
import numpy as np

from service.applicant.document import (
    DocumentError,
    applicant_type,
    check_document,
    unknown_labels,
    whole_number,
)
from service.applicant.evaluate import FeatureRow
from service.applicant.groups import NO_GROUPS, group_code
from service.bundle import FeatureSpec
from service.errors import (
    ApplicantFormUnavailableError,
    BatchTooLargeError,
    ImpossibleValueError,
    MalformedRequestError,
    ServiceError,
    TooManyRecordsError,
    UnknownFeatureError,
    UnknownFieldError,
    WrongTypeError,
)
from service.repeated_keys import RepeatedKeys

__all__ = [
    "FORM_APPLICANT",
    "FORM_FEATURES",
    "MAX_CALLER_ID_CHARS",
    "RequestSchema",
    "ScoringRequest",
    "decode_error",
]

MAX_CALLER_ID_CHARS = 128
"""Longest caller id accepted; ids are logged in the payload record."""

FORM_FEATURES = "features"
"""Input form of an applicant sent as the model's feature vector."""
FORM_APPLICANT = "applicant"
"""Input form of an applicant sent as its application and credit history."""

_MAX_KEY_CHARS = 64
"""Longest unknown key repeated in an error's field path (longer keys are cut)."""
_COLUMN_DECODERS = 64
"""Columnar decoders kept (one per distinct ``columns`` list seen)."""

CallerId = Annotated[str, msgspec.Meta(max_length=MAX_CALLER_ID_CHARS)] | whole_number() | None
"""The caller's id of an applicant (text, or a whole number read as text); echoed in the answer."""


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
    """Whether the body held one applicant rather than an ``applicants`` list or columnar rows."""
    return_features: bool = False
    """Whether the answer carries the feature row the model saw."""
    forms: list[str] = field(default_factory=list)
    """Input form of each applicant: :data:`FORM_FEATURES` or :data:`FORM_APPLICANT`."""
    unknown_labels: list[tuple[str, str]] = field(default_factory=list)
    """(table, column) of each history record or application whose text label the schema does not know."""
    groups: list[int] = field(default_factory=list)
    """Monitoring groups of each applicant (:func:`service.applicant.groups.group_code`; ``NO_GROUPS`` for
    a feature vector), for the payload log only: the model never sees them."""


def _feature_type(spec: FeatureSpec) -> Any:
    """The msgspec type of one model feature: its dtype and valid range, nullable when missing is allowed."""
    meta: dict[str, Any] = {"description": _feature_description(spec)}
    kind: Any
    if spec.categories is not None:
        kind = Annotated[Literal[tuple(spec.categories)], msgspec.Meta(**meta)]  # type: ignore[misc]
    elif spec.dtype == "bool":
        kind = bool | whole_number(0, 1, **meta)
    elif spec.dtype == "int":
        kind = whole_number(spec.valid_min, spec.valid_max, **meta)
    else:
        if spec.valid_min is not None:
            meta["ge"] = float(spec.valid_min)
        if spec.valid_max is not None:
            meta["le"] = float(spec.valid_max)
        kind = Annotated[float, msgspec.Meta(**meta)]
    return kind | None if spec.missing_allowed else kind


def _feature_description(spec: FeatureSpec) -> str:
    parts = [spec.description.strip().rstrip(".")] if spec.description else []
    if spec.observed_min is not None and spec.observed_max is not None:
        parts.append(f"observed in training: [{spec.observed_min:g}, {spec.observed_max:g}]")
    parts.append("null or absent = missing" if spec.missing_allowed else "required")
    return "; ".join(parts) + "."


def _struct(name: str, fields: list[tuple], **options: Any) -> type[msgspec.Struct]:
    return msgspec.defstruct(name, fields, module=__name__, **options)


class RequestSchema:
    """The request types of one bundle, their decoders, and the conversion of a body into a matrix."""

    def __init__(
        self,
        features: Sequence[FeatureSpec],
        *,
        max_batch_size: int,
        explain_max_k: int,
        feature_row: FeatureRow | None = None,
        applicant_unavailable: str | None = None,
    ) -> None:
        """Build the types for ``features`` (the bundle's, in booster order).

        ``feature_row`` computes those features from an applicant document; ``None`` means the bundle cannot
        be scored from applicants here, for the reason ``applicant_unavailable``.
        """
        self.features = list(features)
        self.names = [spec.name for spec in self.features]
        self.max_batch_size = max_batch_size
        self.feature_row = feature_row
        self.applicant_unavailable = applicant_unavailable
        self._categories = {
            i: {label: float(code) for code, label in enumerate(spec.categories)}
            for i, spec in enumerate(self.features)
            if spec.categories is not None
        }
        self._required = [spec.name for spec in self.features if not spec.missing_allowed]
        self._types = {spec.name: _feature_type(spec) for spec in self.features}
        """The msgspec type of each feature (the ``features`` form's fields, the columnar rows' values)."""
        self.features_type = _struct(
            "Features",
            [
                (spec.name, self._types[spec.name], None)
                if spec.missing_allowed
                else (spec.name, self._types[spec.name])
                for spec in self.features
            ],
            kw_only=True,
            forbid_unknown_fields=True,
            omit_defaults=True,
        )
        self.applicant_type = applicant_type()
        unset = msgspec.UNSET
        features_field = ("features", self.features_type | msgspec.UnsetType, unset)
        applicant_field = ("applicant", self.applicant_type | msgspec.UnsetType, unset)
        id_field = ("id", CallerId, None)
        self.item_type = _struct(
            "ApplicantItem",
            [id_field, features_field, applicant_field],
            kw_only=True,
            forbid_unknown_fields=True,
            omit_defaults=True,
        )
        applicants = Annotated[list[self.item_type], msgspec.Meta(min_length=1, max_length=max_batch_size)]  # type: ignore[name-defined]
        explain = whole_number(0, explain_max_k)
        common = [("return_features", bool, False)]
        body_fields = [
            id_field,
            features_field,
            applicant_field,
            ("applicants", applicants | msgspec.UnsetType, unset),
            ("columns", list[str] | msgspec.UnsetType, unset),
            ("rows", msgspec.Raw | msgspec.UnsetType, unset),
            *common,
        ]
        options = {"kw_only": True, "forbid_unknown_fields": True, "omit_defaults": True}  # see repeated_keys
        self.score_type = _struct("ScoreBody", [*body_fields, ("explain", explain, 0)], **options)
        self.explain_type = _struct("ExplainBody", body_fields, **options)
        self._score_decoder = msgspec.json.Decoder(self.score_type)
        self._explain_decoder = msgspec.json.Decoder(self.explain_type)
        self._score_keys = RepeatedKeys(self.score_type)
        self._explain_keys = RepeatedKeys(self.explain_type)
        self._column_decoders: OrderedDict[tuple[str, ...], msgspec.json.Decoder] = OrderedDict()

    # ----------------------------------------------------------------------------------------- parse

    def parse(self, body: bytes, *, allow_explain: bool = True) -> ScoringRequest:
        """Decode and validate a request body; raise a :class:`ServiceError` naming the first problem."""
        decoder = self._score_decoder if allow_explain else self._explain_decoder
        try:
            request = decoder.decode(body)
        except msgspec.ValidationError as error:
            raise _refusal(str(error)) from None
        except msgspec.DecodeError:
            raise decode_error(body, decoder.type) from None
        repeated = (self._score_keys if allow_explain else self._explain_keys).repeated(body, request)
        if repeated is not None:
            raise MalformedRequestError("a key appears more than once in one object", _key(repeated) or None)
        explain_k = int(request.explain) if allow_explain else 0
        unset = msgspec.UNSET
        if request.applicants is not unset:
            self._only(request, ("applicants", "explain", "return_features"))
            return self._batch(request.applicants, explain_k, request.return_features)
        if request.columns is not unset or request.rows is not unset:
            self._only(request, ("columns", "rows", "explain", "return_features"))
            return self._columnar(request.columns, request.rows, explain_k, request.return_features)
        matrix = np.empty((1, len(self.names)), dtype=np.float64)
        forms: list[str] = []
        unknown: list[tuple[str, str]] = []
        groups: list[int] = []
        self._fill(request, matrix, 0, "", forms, unknown, groups)
        return ScoringRequest(
            matrix, [_caller_id(request.id)], explain_k, True, request.return_features, forms, unknown, groups
        )

    def _only(self, request: Any, allowed: tuple[str, ...]) -> None:
        for name in ("id", "features", "applicant", "applicants", "columns", "rows"):
            if (
                name not in allowed
                and getattr(request, name) is not msgspec.UNSET
                and (name != "id" or request.id is not None)
            ):
                raise MalformedRequestError("unknown top-level field for this form of request", field=name)

    def _batch(self, items: list, explain_k: int, return_features: bool) -> ScoringRequest:
        matrix = np.empty((len(items), len(self.names)), dtype=np.float64)
        forms: list[str] = []
        unknown: list[tuple[str, str]] = []
        groups: list[int] = []
        for row, item in enumerate(items):
            self._fill(item, matrix, row, f"applicants[{row}].", forms, unknown, groups)
        caller_ids = [_caller_id(item.id) for item in items]
        return ScoringRequest(matrix, caller_ids, explain_k, False, return_features, forms, unknown, groups)

    def _fill(
        self, item: Any, matrix: np.ndarray, row: int, where: str, forms: list, unknown: list, groups: list
    ) -> None:
        """Write one applicant (``features`` or ``applicant`` form) into ``matrix[row]``; append its form,
        unknown labels and monitoring groups to the lists."""
        features, applicant = item.features, item.applicant
        if applicant is msgspec.UNSET:
            if features is msgspec.UNSET:
                raise WrongTypeError(
                    "an applicant needs its 'applicant' document (application and credit history) "
                    "or the model's 'features'",
                    field=f"{where}applicant",
                )
            self._fill_features(features, matrix, row, f"{where}features.")
            forms.append(FORM_FEATURES)
            groups.append(NO_GROUPS)
            return
        if features is not msgspec.UNSET:
            raise MalformedRequestError("send 'applicant' or 'features', not both", field=f"{where}features")
        if self.feature_row is None:
            raise ApplicantFormUnavailableError(self.applicant_unavailable or "not available", field=None)
        try:
            check_document(applicant, f"{where}applicant")
        except DocumentError as error:
            raise ImpossibleValueError(error.reason, field=error.field) from None
        matrix[row] = self.feature_row.values(applicant)
        forms.append(FORM_APPLICANT)
        unknown.extend(unknown_labels(applicant))
        groups.append(group_code(applicant))

    def _fill_features(self, features: Any, matrix: np.ndarray, row: int, where: str) -> None:
        values = msgspec.structs.astuple(features)
        if self._categories:
            values = self._coded(list(values), range(len(values)))
        matrix[row] = values  # None -> NaN, True/False -> 1.0/0.0

    def _coded(self, values: list, positions: Sequence[int]) -> list:
        """``values`` (of the features at ``positions``) with category labels replaced by their codes."""
        for j, position in enumerate(positions):
            codes = self._categories.get(position)
            if codes is not None and values[j] is not None:
                values[j] = codes[values[j]]
        return values

    def _columnar(self, columns: Any, rows: Any, explain_k: int, return_features: bool) -> ScoringRequest:
        """``{"columns": [names], "rows": [[values], ...]}``; an ``id`` column carries caller ids."""
        if columns is msgspec.UNSET:
            raise WrongTypeError("must be a list of feature names (and optionally 'id')", field="columns")
        if rows is msgspec.UNSET:
            raise WrongTypeError("must be a list of rows (lists of values in column order)", field="rows")
        if len(set(columns)) != len(columns):
            raise MalformedRequestError("names a column twice", field="columns")
        known = set(self.names)
        for name in columns:
            if name != "id" and name not in known:
                raise UnknownFeatureError("is not a feature of this model", field=f"columns.{_key(name)}")
        missing = [name for name in self._required if name not in columns]
        if missing:
            raise ImpossibleValueError("is required", field=f"columns.{missing[0]}")
        decoder = self._column_decoder(tuple(columns))
        try:
            decoded = decoder.decode(rows)
        except msgspec.ValidationError as error:
            raise _columnar_refusal(str(error), columns, rows) from None
        except msgspec.DecodeError:
            raise MalformedRequestError("rows are not valid JSON", field="rows") from None
        if not decoded:
            raise MalformedRequestError("must hold at least one applicant", field="rows")
        if len(decoded) > self.max_batch_size:
            raise BatchTooLargeError(f"at most {self.max_batch_size} applicants per request", field="rows")
        positions = [self.names.index(name) for name in columns if name != "id"]
        id_position = columns.index("id") if "id" in columns else None
        values = [msgspec.structs.astuple(record) for record in decoded]
        matrix = np.full((len(values), len(self.names)), np.nan, dtype=np.float64)
        block = [[v for j, v in enumerate(record) if j != id_position] for record in values]
        if self._categories:
            block = [self._coded(record, positions) for record in block]
        if positions:
            matrix[:, positions] = np.array(block, dtype=np.float64).reshape(len(values), len(positions))
        caller_ids = (
            [_caller_id(record[id_position]) for record in values]
            if id_position is not None
            else [None] * len(values)
        )
        forms = [FORM_FEATURES] * len(values)
        groups = [NO_GROUPS] * len(values)
        return ScoringRequest(matrix, caller_ids, explain_k, False, return_features, forms, [], groups)

    def _column_decoder(self, columns: tuple[str, ...]) -> msgspec.json.Decoder:
        decoder = self._column_decoders.get(columns)
        if decoder is not None:
            self._column_decoders.move_to_end(columns)
            return decoder
        row_fields = [
            (f"c{j}", CallerId if name == "id" else self._types[name]) for j, name in enumerate(columns)
        ]
        row = _struct("ColumnarRow", row_fields, array_like=True, forbid_unknown_fields=True)
        decoder = msgspec.json.Decoder(list[row])  # type: ignore[valid-type]
        self._column_decoders[columns] = decoder
        if len(self._column_decoders) > _COLUMN_DECODERS:
            self._column_decoders.popitem(last=False)
        return decoder


def _caller_id(value: str | int | float | None) -> str | None:
    return value if value is None or isinstance(value, str) else str(int(value))


# ------------------------------------------------------------------------------------- error messages

_AT = re.compile(r"^(?P<reason>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_UNKNOWN_FIELD = re.compile(r"^Object contains unknown field `(?P<key>.*)`$", re.S)
_MISSING_FIELD = re.compile(r"^Object missing required field `(?P<key>.*)`$", re.S)
_BOUND = re.compile(r"^Expected `(?P<type>[^`]+)` (?P<op>>=|<=|>|<) (?P<bound>\S+)$")
_LENGTH = re.compile(r"^Expected `(?P<type>array|str|object)` of length (?P<op><=|>=) (?P<bound>\d+)$")
_TYPE = re.compile(r"^Expected `(?P<expected>[^`]+)`, got `(?P<got>[^`]+)`$")
_WORDS = {
    "float": "a number",
    "int": "a whole number (a JSON integer)",
    "str": "text",
    "bool": "true or false",
    "null": "null",
    "object": "an object",
    "array": "a list",
}


def _key(name: str) -> str:
    """An unknown key as it may appear in a field path: at most 64 characters."""
    return name if len(name) <= _MAX_KEY_CHARS else name[:_MAX_KEY_CHARS] + "..."


def _field(path: str | None) -> str | None:
    """msgspec's ``$.a[0].b`` path as ours: ``a[0].b`` (``None`` for the body itself)."""
    if not path:
        return None
    return path[1:] if path.startswith(".") else path


def _expected_words(expected: str) -> str:
    parts = [part.strip() for part in expected.split("|")]
    words = [_WORDS.get(part, "a valid value") for part in parts]
    return " or ".join(dict.fromkeys(words))


def _refusal(message: str, where: str | None = None) -> ServiceError:
    """The error answered for a msgspec validation message (which never holds a value, only keys).

    ``where`` names the field when the message does not (a value of a columnar row).
    """
    match = _AT.match(message)
    assert match is not None  # the pattern matches any text
    reason = match.group("reason")
    where = where or _field(match.group("path"))
    unknown = _UNKNOWN_FIELD.match(reason)
    if unknown:
        key = _key(unknown.group("key"))
        if where is None:
            return MalformedRequestError("unknown top-level field", field=key)
        path = f"{where}.{key}"
        if where.endswith("features"):
            return UnknownFeatureError("is not a feature of this model", field=path)
        if where.startswith("applicants[") and "." not in where:
            return MalformedRequestError("unknown applicant field", field=path)
        return UnknownFieldError(f"is not a column of {_table_of(where)}", field=path)
    missing = _MISSING_FIELD.match(reason)
    if missing:
        return ImpossibleValueError(
            "is required", field=f"{where}.{missing.group('key')}" if where else missing.group("key")
        )
    length = _LENGTH.match(reason)
    if length:
        bound = int(length.group("bound"))
        if length.group("type") == "array" and length.group("op") == "<=":
            if where == "applicants":
                return BatchTooLargeError(f"at most {bound} applicants per request", field=where)
            return TooManyRecordsError(f"at most {bound:,} records per applicant", field=where)
        if length.group("type") == "array":
            return MalformedRequestError("must hold at least one applicant", field=where)
        return ImpossibleValueError(f"must be at most {bound} characters", field=where)
    bound = _BOUND.match(reason)
    if bound:
        number = float(bound.group("bound"))
        return ImpossibleValueError(f"must be {bound.group('op')} {number:g}", field=where)
    typed = _TYPE.match(reason)
    if typed and where is None:
        return MalformedRequestError("body must be a JSON object")
    if typed:
        expected, got = typed.group("expected"), typed.group("got")
        if got == "_NonFinite":
            return ImpossibleValueError("must be finite", field=where)
        return WrongTypeError(f"must be {_expected_words(expected)}", field=where)
    if reason.startswith("Expected `float` that's a multiple of"):
        return ImpossibleValueError("must be a whole number", field=where)
    if reason.startswith("Number out of range"):
        return ImpossibleValueError("must be finite", field=where)
    if reason.startswith("Invalid enum value"):
        return ImpossibleValueError("is not one of the allowed labels", field=where)
    return WrongTypeError("is not a valid value here", field=where)


def _table_of(where: str) -> str:
    """The Kaggle table of the record at ``where`` (for "is not a column of ...")."""
    last = where.rsplit(".", 1)[-1]
    table = last.split("[", 1)[0]
    return "the application" if table == "applicant" else table


_ROW_PATH = re.compile(r"^\[(?P<row>\d+)\](?:\[(?P<column>\d+)\])?$")


def _columnar_refusal(message: str, columns: list[str], rows: msgspec.Raw) -> ServiceError:
    """A refusal of the ``rows`` of a columnar body, naming ``rows[i].<column>``."""
    match = _AT.match(message)
    assert match is not None
    reason, path = match.group("reason"), match.group("path") or ""
    at = _ROW_PATH.match(path)
    if at is None and reason.startswith("Expected `array` of at most length"):
        # msgspec names no row for a row that is too long: find it
        lengths = [len(row) for row in msgspec.json.decode(rows, type=list[list[Any]])]
        first = next(i for i, n in enumerate(lengths) if n != len(columns))
        return WrongTypeError(f"must be a list of {len(columns)} values", field=f"rows[{first}]")
    if at is None:
        return WrongTypeError("must be a list of rows (lists of values in column order)", field="rows")
    row = at.group("row")
    if at.group("column") is None:
        return WrongTypeError(f"must be a list of {len(columns)} values", field=f"rows[{row}]")
    return _refusal(reason, f"rows[{row}].{columns[int(at.group('column'))]}")


class _NonFinite:
    """Stands for a NaN or infinite number in a body that only the standard JSON parser reads."""


def _parse_float(text: str) -> float | _NonFinite:
    number = float(text)
    return number if math.isfinite(number) else _NonFinite()


def decode_error(body: bytes, request_type: Any) -> ServiceError:
    """The error for a body msgspec cannot read as JSON.

    Such a body is refused (400) unless the only problem is a number JSON cannot hold (``NaN``,
    ``Infinity``, ``1e999``), which the standard parser reads: then the field is named (422 "must be
    finite"), as for any impossible value.
    """
    try:
        payload = json.loads(
            body.decode("utf-8"), parse_constant=lambda _: _NonFinite(), parse_float=_parse_float
        )
    except (ValueError, UnicodeDecodeError, RecursionError):
        return MalformedRequestError("body is not valid JSON")
    try:
        msgspec.convert(payload, request_type)
    except msgspec.ValidationError as error:
        refusal = _refusal(str(error))
        if refusal.reason == "must be finite":
            return refusal
    except Exception:  # e.g. a key with a lone surrogate: not JSON we answer about
        pass
    return MalformedRequestError("body is not valid JSON")
