"""The applicant document: the application and its credit history as a caller sends them, with Kaggle's names.

One JSON object holds the application record (the columns of Kaggle's ``application_test``; ``SK_ID_CURR``
optional) and, under their Kaggle table names, lists of the applicant's history records: ``bureau`` (each
credit with its monthly ``bureau_balance`` records), ``previous_application``, ``POS_CASH_balance``,
``installments_payments`` and ``credit_card_balance``. Every column is optional; null or absent means
missing, as do Kaggle's ``365243`` in a ``DAYS_*`` column and the label ``XNA``.

The msgspec types here are generated from :mod:`service.applicant.schema` and
:mod:`service.applicant.domains`, so they are the one definition of a valid document: decoding checks
types (JSON integers for Kaggle's whole-number columns, numbers, text), real-world ranges (no negative
amount, no positive number of days before the application), unknown column names and the number of history
records (:data:`ROW_LIMITS`), naming the field path of the first problem; the OpenAPI document is generated
from the same types. :func:`check_document` adds the one rule a msgspec type cannot express (the ``365243``
sentinel in a column that is otherwise never positive), which the JSON Schema states
(:func:`describe_sentinels`): whatever the published schema accepts, the service accepts.
"""

from __future__ import annotations

import functools
import math
from operator import attrgetter
from typing import Annotated, Any

import msgspec

from service.applicant.domains import column_domain
from service.applicant.schema import (
    MISSING_LABEL,
    SENTINEL_DAYS,
    SENTINEL_DAYS_COLUMNS,
    TABLES,
    ColumnSpec,
    schema_table,
)

__all__ = [
    "HISTORY_TABLES",
    "MAX_WHOLE_NUMBER",
    "ROW_LIMITS",
    "DocumentError",
    "applicant_type",
    "check_document",
    "describe_sentinels",
    "sentinel_columns",
    "unknown_labels",
    "whole_number",
]

HISTORY_TABLES: tuple[str, ...] = (
    "bureau",
    "previous_application",
    "POS_CASH_balance",
    "installments_payments",
    "credit_card_balance",
)
"""History tables listed directly under the applicant (bureau_balance is listed under each bureau credit)."""

ROW_LIMITS: dict[str, int] = {
    "bureau": 200,
    "bureau_balance": 200,
    "previous_application": 200,
    "POS_CASH_balance": 1_000,
    "installments_payments": 2_000,
    "credit_card_balance": 1_000,
}
"""Most records accepted per applicant in each history list (``bureau_balance``: per bureau credit).

About twice the largest history in Kaggle's files (116 bureau credits, 97 monthly statuses per credit, 77
previous applications) and well above the generator's heaviest applicants (48 credits, 41 previous
applications, 307 POS/cash snapshots, 637 instalments, 301 card snapshots among 50,000); a request above
them is refused with 413 naming the list. The request body limit bounds the total."""

MAX_WHOLE_NUMBER = 2**53
"""Largest magnitude accepted for a whole-number column: every such value is exact as a float64."""

_IDS = ("SK_ID_CURR", "SK_ID_BUREAU", "SK_ID_PREV")


class DocumentError(ValueError):
    """A document breaks a rule its types cannot express; ``field`` is the path, ``reason`` the rule."""

    def __init__(self, reason: str, field: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.reason = reason
        self.field = field


def whole_number(low: float | None = None, high: float | None = None, **meta: Any) -> Any:
    """The msgspec type of a whole number in ``[low, high]``: a JSON integer, or a number such as ``2.0``.

    JSON Schema calls both integers, so both are accepted; a fractional number is refused. Without a bound,
    the magnitude is capped at :data:`MAX_WHOLE_NUMBER` so that every value is exact as a float64.
    """
    low = -MAX_WHOLE_NUMBER if low is None else low
    high = MAX_WHOLE_NUMBER if high is None else high
    return (
        Annotated[int, msgspec.Meta(ge=math.ceil(low), le=math.floor(high), **meta)]
        | Annotated[float, msgspec.Meta(ge=float(low), le=float(high), multiple_of=1, **meta)]
    )


def sentinel_columns(table: str) -> tuple[str, ...]:
    """Columns of ``table`` that are never positive except for Kaggle's ``365243`` "no date"."""
    return tuple(
        column
        for column in SENTINEL_DAYS_COLUMNS[schema_table(table)]
        if column_domain(table, column)[1] == 0.0
    )


def _description(table: str, spec: ColumnSpec) -> str:
    text = spec.description[0].upper() + spec.description[1:]
    if spec.kind == "str":
        return f"{text}. Kaggle's labels; 'XNA' = missing, another label is scored as no known label."
    if spec.name in _IDS and table != "application":
        return f"{text} (optional; the nesting links the record, this id is kept but not compared)."
    if spec.name in _IDS:
        return f"{text} (optional)."
    low, high = column_domain(table, spec.name)
    if spec.name in SENTINEL_DAYS_COLUMNS[schema_table(table)] and str(SENTINEL_DAYS) not in text:
        text += f"; {SENTINEL_DAYS} = no date (missing)"
    if low is not None or high is not None:
        text += f"; in [{'-inf' if low is None else f'{low:g}'}, {'+inf' if high is None else f'{high:g}'}]"
    return text + ("; a JSON integer." if spec.kind == "int" else ".")


def _field_type(table: str, spec: ColumnSpec) -> Any:
    """The msgspec type of one column: its kind, its real-world range, always nullable."""
    meta: dict[str, Any] = {"description": _description(table, spec)}
    if spec.kind == "str":
        return Annotated[str, msgspec.Meta(examples=list(spec.categories), **meta)] | None
    if spec.name in _IDS:
        return whole_number(0, MAX_WHOLE_NUMBER, **meta) | None
    low, high = column_domain(table, spec.name)
    if spec.name in sentinel_columns(table):
        high = float(SENTINEL_DAYS)  # the rest of the range is checked by check_document
    if spec.kind == "int":
        return whole_number(low, high, **meta) | None
    if low is not None:
        meta["ge"] = low
    if high is not None:
        meta["le"] = high
    return Annotated[float, msgspec.Meta(**meta)] | None


def _record_type(name: str, table: str, extra: tuple = ()) -> type[msgspec.Struct]:
    schema = TABLES[schema_table(table)]
    fields = [(spec.name, _field_type(table, spec), None) for spec in schema.columns]
    return msgspec.defstruct(
        name,
        [*fields, *extra],
        kw_only=True,
        forbid_unknown_fields=True,
        omit_defaults=True,
        module=__name__,
    )


def _history(record: type, table: str) -> Any:
    limit = ROW_LIMITS[table]
    return Annotated[
        list[record],  # type: ignore[valid-type]
        msgspec.Meta(
            max_length=limit,
            description=f"The applicant's {table} records (Kaggle's columns), at most {limit:,}.",
        ),
    ]


_RECORD_TABLES: dict[str, str] = {
    "Applicant": "application",
    "BureauRecord": "bureau",
    "BureauBalanceRecord": "bureau_balance",
    "PreviousApplicationRecord": "previous_application",
    "PosCashBalanceRecord": "POS_CASH_balance",
    "InstallmentsPaymentsRecord": "installments_payments",
    "CreditCardBalanceRecord": "credit_card_balance",
}
"""Name of each record type (as in the JSON Schema) and the table it holds a record of."""


def describe_sentinels(schemas: dict[str, Any]) -> None:
    """Make the JSON Schema of the record types say what :func:`check_document` adds to their types.

    ``schemas`` maps type names to their JSON Schema (msgspec's output, changed in place): a column that is
    never positive but for Kaggle's 365243 accepts a number <= 0, 365243 or null.
    """
    for name, table in _RECORD_TABLES.items():
        if name not in schemas:
            continue
        properties = schemas[name]["properties"]
        for column in sentinel_columns(table):
            branches = properties[column]["anyOf"]
            numbers = [branch for branch in branches if branch.get("type") in ("integer", "number")]
            for number in numbers:
                number["maximum"] = 0 if number["type"] == "integer" else 0.0
            branches.insert(branches.index(numbers[-1]) + 1, {"const": SENTINEL_DAYS})


@functools.cache
def applicant_type() -> type[msgspec.Struct]:
    """The msgspec type of an applicant document (built once)."""
    balance = _record_type("BureauBalanceRecord", "bureau_balance")
    bureau = _record_type(
        "BureauRecord",
        "bureau",
        (("bureau_balance", _history(balance, "bureau_balance"), msgspec.field(default_factory=list)),),
    )
    records = {
        "bureau": bureau,
        "previous_application": _record_type("PreviousApplicationRecord", "previous_application"),
        "POS_CASH_balance": _record_type("PosCashBalanceRecord", "POS_CASH_balance"),
        "installments_payments": _record_type("InstallmentsPaymentsRecord", "installments_payments"),
        "credit_card_balance": _record_type("CreditCardBalanceRecord", "credit_card_balance"),
    }
    history = tuple(
        (table, _history(records[table], table), msgspec.field(default_factory=list))
        for table in HISTORY_TABLES
    )
    return _record_type("Applicant", "application", history)


# ----------------------------------------------------------------------------------- checks after decoding


_DAYS_RULE = f"must be <= 0 (days before the application), or {SENTINEL_DAYS} for no date"


@functools.cache
def _sentinel_getters(table: str) -> tuple[tuple[str, Any], ...]:
    return tuple((column, attrgetter(column)) for column in sentinel_columns(table))


def _first_positive_day(records: Any, table: str) -> tuple[int, str] | None:
    """(index, column) of the first record holding a positive number of days other than 365243, or None."""
    for column, get in _sentinel_getters(table):
        wrong = [v for v in map(get, records) if v is not None and v > 0 and v != SENTINEL_DAYS]
        if wrong:
            return next(
                i for i, v in enumerate(map(get, records)) if v is not None and v > 0 and v != SENTINEL_DAYS
            ), column
    return None


def check_document(applicant: Any, where: str = "applicant") -> None:
    """Refuse what the decoding types do not check: a positive number of days other than 365243.

    (The JSON Schema says it, :func:`describe_sentinels`.) Raises :class:`DocumentError` naming the field
    path under ``where``. The linking ids of history records are not compared with the applicant's: the
    nesting links each record, as the JSON Schema, which cannot compare two values, documents.
    """
    found = _first_positive_day((applicant,), "application")
    if found is not None:
        raise DocumentError(_DAYS_RULE, f"{where}.{found[1]}")
    for table in HISTORY_TABLES:
        records = getattr(applicant, table)
        if records:
            found = _first_positive_day(records, table)
            if found is not None:
                raise DocumentError(_DAYS_RULE, f"{where}.{table}[{found[0]}].{found[1]}")


def _known_labels(table: str) -> tuple[tuple[tuple[str, Any, frozenset], ...], Any]:
    """Per text column of ``table``: (column, getter, labels that are not "unknown": the schema's, XNA and
    null); and a getter of all text columns at once (a tuple), when there are several."""
    schema = TABLES[schema_table(table)]
    columns = tuple(
        (spec.name, attrgetter(spec.name), frozenset((*spec.categories, MISSING_LABEL, None)))
        for spec in schema.columns
        if spec.kind == "str"
    )
    return columns, attrgetter(*(name for name, _, _ in columns)) if len(columns) > 1 else None


_KNOWN = {table: _known_labels(table) for table in ("application", *HISTORY_TABLES, "bureau_balance")}


def _unknown_in(records: Any, table: str, out: list[tuple[str, str]]) -> None:
    """Append (table, column) once per record of ``records`` holding an unknown label in that column."""
    columns, get_all = _KNOWN[table]
    if get_all is None:  # one text column, or none
        for column, get, known in columns:
            if not known.issuperset(map(get, records)):
                out.extend((table, column) for record in records if get(record) not in known)
        return
    if len(records) == 1:  # one record: all its labels in one call
        values = get_all(records[0])
        for (column, _, known), value in zip(columns, values, strict=True):
            if value not in known:
                out.append((table, column))
        return
    for (column, _, known), values in zip(columns, zip(*map(get_all, records), strict=True), strict=True):
        if not known.issuperset(values):
            out.extend((table, column) for value in values if value not in known)


def unknown_labels(applicant: Any) -> list[tuple[str, str]]:
    """(table, column) once per record whose text label the schema does not know (``XNA`` and null are known).

    Such a label is scored as training scores it (none of the column's known labels, so its indicators are
    0); the service counts them so that operators see a new label appear upstream.
    """
    out: list[tuple[str, str]] = []
    _unknown_in((applicant,), "application", out)
    for table in HISTORY_TABLES:
        records = getattr(applicant, table)
        if records:
            _unknown_in(records, table, out)
    for credit in applicant.bureau:
        if credit.bureau_balance:
            _unknown_in(credit.bureau_balance, "bureau_balance", out)
    return out
