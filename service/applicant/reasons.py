"""Reason codes: what each model feature means to an applicant, with a stable code.

A feature's *source* is where its value comes from: the table and the columns it is computed from, plus
the subset of rows it keeps when it keeps only some labels of another column (``previous_application:
DAYS_DECISION where NAME_CONTRACT_STATUS=Refused``). Sources are read off the feature definitions, never
written by hand, so a new feature always has one.

The reviewed catalogue (``reason_catalogue.toml`` beside this module) gives every source a code; one code
may cover several sources (the three external scores and their mean are one characteristic). A reviewed
entry also carries a plain-language statement of the characteristic and one for when its value is missing;
an entry without them, or a source missing from the file, gets statements written from the schema's column
descriptions (:func:`automatic_statements`), and a source missing from the file gets the code
``AUTO-<digest of the source>`` until someone reviews it. ``tests/service/applicant/test_reasons.py``
requires the file to cover every source of today's definitions.

Training stores the catalogue of a model's features in its bundle (:func:`reason_catalogue_for`, in the
JSON form ``service.reason_codes.ReasonCatalogue`` reads), so a bundle's reasons never change under it when
this file is edited later.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from service.applicant.catalog import APPLICATION
from service.applicant.definitions import feature_definition
from service.applicant.expressions import IsLabel, Where
from service.applicant.protected import features_reading
from service.applicant.schema import TABLES

__all__ = [
    "CATALOGUE_FILE",
    "ReviewedCatalogue",
    "ReviewedEntry",
    "automatic_code",
    "automatic_statements",
    "feature_source",
    "read_reviewed_catalogue",
    "reason_catalogue_for",
]

CATALOGUE_FILE = Path(__file__).with_name("reason_catalogue.toml")
"""The reviewed catalogue: codes, statements and the sources each code covers."""

_CODE = re.compile(r"^R[0-9]{2,4}$")
_ROWS = "(rows)"

_TABLE_PHRASES: dict[str, str] = {
    "bureau": "credits reported by other lenders",
    "bureau_balance": "monthly statuses of credits reported by other lenders",
    "previous_application": "previous applications with this lender",
    "POS_CASH_balance": "previous point-of-sale and cash loans with this lender",
    "installments_payments": "instalments of previous loans with this lender",
    "credit_card_balance": "credit cards with this lender",
}
"""How the statements name each history table, as an applicant would."""


# ---------------------------------------------------------------------------------------------- sources


@functools.cache
def feature_source(name: str) -> str:
    """The source of feature ``name``: ``table:COLUMN[+COLUMN...][ where COLUMN=Label[/Label...]]``.

    A name that is not a defined feature (a column given to training as it is) is the application column of
    its name.
    """
    try:
        definition = feature_definition(name)
    except KeyError:
        return f"{APPLICATION}:{name}"
    values: set[tuple[str, str]] = set()
    subsets: set[str] = set()
    _walk(definition.computed, definition.table, values, subsets)
    tables = {table for table, _ in values}
    table = definition.table if definition.table in tables or not tables else sorted(tables)[0]
    columns = sorted(column if t == table else f"{t}.{column}" for t, column in values) or [_ROWS]
    source = f"{table}:{'+'.join(columns)}"
    if subsets:
        source += " where " + " and ".join(sorted(subsets))
    return source


def _walk(node: object, table: str, values: set[tuple[str, str]], subsets: set[str]) -> None:
    """Collect the value columns of an expression tree, and the label subsets its ``Where`` nodes keep."""
    if not dataclasses.is_dataclass(node):
        return
    table = getattr(node, "rows", table)
    if isinstance(node, Where):
        inner: set[tuple[str, str]] = set()
        _walk(node.value, table, inner, subsets)
        values |= inner
        condition = node.condition
        if isinstance(condition, IsLabel) and (table, condition.column) not in inner:
            subsets.add(f"{condition.column}={'/'.join(condition.labels)}")
        return
    for item in dataclasses.fields(node):
        value = getattr(node, item.name)
        if item.name == "column":
            values.add((table, value))
        elif item.name == "columns":
            values.update((table, column) for column in value)
        elif isinstance(value, tuple):
            for element in value:
                _walk(element, table, values, subsets)
        else:
            _walk(value, table, values, subsets)


def automatic_statements(source: str, features: Iterable[str] = ()) -> tuple[str, str]:
    """A statement of the characteristic ``source`` stands for, and one for when its value is missing.

    Written from the schema's descriptions of the columns, the table as an applicant would name it, and the
    subset of rows; a single derived application feature (a ratio) keeps its own description.
    """
    table, _, rest = source.partition(":")
    columns_text, _, subset = rest.partition(" where ")
    columns = columns_text.split("+")
    named = list(features)
    if table == APPLICATION and len(named) == 1 and named[0] not in columns:
        try:
            about = feature_definition(named[0]).description
        except KeyError:
            about = named[0]
        about = re.sub(r"\s*\(table [^)]*\)\.?$", "", about).rstrip(".")
    else:
        about = _join(_column_about(table, column) for column in columns)
    if table != APPLICATION:
        phrase = _TABLE_PHRASES.get(table, table)
        about = f"number of {phrase}" if columns == [_ROWS] else f"{about}, on {phrase}"
    if subset:
        about += ", counting only those where " + subset.replace("=", " is ").replace("/", " or ")
    return about[:1].upper() + about[1:], f"No information on: {about[:1].lower()}{about[1:]}"


def _column_about(table: str, column: str) -> str:
    try:
        return TABLES[table].column(column).description
    except KeyError:
        return column


def _join(parts: Iterable[str]) -> str:
    items = list(dict.fromkeys(parts))
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# ------------------------------------------------------------------------------------ reviewed catalogue


@dataclasses.dataclass(frozen=True)
class ReviewedEntry:
    """One code of the reviewed catalogue."""

    code: str
    """Stable code, ``R`` and 2 to 4 digits; never reused for another meaning."""
    sources: tuple[str, ...]
    """The feature sources (:func:`feature_source`) this characteristic covers."""
    statement: str | None
    """Plain-language statement of the characteristic; ``None``: written automatically."""
    missing: str | None
    """Statement when every feature of the characteristic is missing; ``None``: written automatically."""


@dataclasses.dataclass(frozen=True)
class ReviewedCatalogue:
    """The reviewed catalogue file, validated."""

    version: int
    """Catalogue version: raised whenever a code's meaning or statements change."""
    entries: tuple[ReviewedEntry, ...]
    """Every code, in file order."""

    @functools.cached_property
    def by_source(self) -> dict[str, ReviewedEntry]:
        """The entry covering each source."""
        return {source: entry for entry in self.entries for source in entry.sources}


@functools.cache
def read_reviewed_catalogue(path: Path = CATALOGUE_FILE) -> ReviewedCatalogue:
    """Read and check the reviewed catalogue; ValueError naming the entry for anything malformed."""
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from None
    version = data.get("version")
    if not isinstance(version, int) or version < 1:
        raise ValueError(f"{path}: 'version' must be a positive integer")
    reasons = data.get("reasons")
    if not isinstance(reasons, dict) or not reasons:
        raise ValueError(f"{path}: needs a [reasons] table with at least one code")
    entries = []
    claimed: dict[str, str] = {}
    for code, body in reasons.items():
        entries.append(_entry(path, code, body))
        for source in entries[-1].sources:
            if source in claimed:
                raise ValueError(f"{path}: source {source!r} is under both {claimed[source]} and {code}")
            claimed[source] = code
    return ReviewedCatalogue(version, tuple(entries))


def _entry(path: Path, code: str, body: object) -> ReviewedEntry:
    if not _CODE.match(code):
        raise ValueError(f"{path}: code {code!r} must be R followed by 2 to 4 digits")
    if not isinstance(body, dict) or set(body) - {"sources", "statement", "missing"}:
        raise ValueError(f"{path}: {code} may hold only 'sources', 'statement' and 'missing'")
    sources = body.get("sources")
    if not isinstance(sources, list) or not sources or not all(isinstance(s, str) and s for s in sources):
        raise ValueError(f"{path}: {code}.sources must be a non-empty list of sources")
    texts = [body.get(key) for key in ("statement", "missing")]
    for key, text in zip(("statement", "missing"), texts, strict=True):
        if text is not None and (not isinstance(text, str) or not text.strip()):
            raise ValueError(f"{path}: {code}.{key} must be non-empty text")
    return ReviewedEntry(code, tuple(sources), texts[0], texts[1])


def automatic_code(source: str) -> str:
    """The code of a source the reviewed catalogue does not list yet: stable, and marked as unreviewed."""
    return "AUTO-" + hashlib.sha256(source.encode()).hexdigest()[:8].upper()


# ---------------------------------------------------------------------------------- a model's catalogue


def reason_catalogue_for(
    feature_names: Iterable[str],
    protected: Iterable[str] = (),
    reviewed: ReviewedCatalogue | None = None,
) -> dict[str, Any]:
    """The reasons of a model's features, one per code in the order their first feature comes, as
    ``{"version", "reasons": [{"code", "statement", "missing_statement", "features"}, ...]}``.

    ValueError when a feature reads a ``protected`` attribute: such a feature can never be a stated reason,
    and no bundle holding one is served.
    """
    names = list(feature_names)
    reading = features_reading(names, protected)
    if reading:
        listed = "; ".join(f"{name} reads {', '.join(columns)}" for name, columns in reading.items())
        raise ValueError(f"features that read a protected attribute cannot be given as reasons: {listed}")
    reviewed = reviewed or read_reviewed_catalogue()
    grouped: dict[str, list[str]] = {}
    sources: dict[str, list[str]] = {}
    for name in names:
        source = feature_source(name)
        entry = reviewed.by_source.get(source)
        code = entry.code if entry is not None else automatic_code(source)
        grouped.setdefault(code, []).append(name)
        sources.setdefault(code, [])
        if source not in sources[code]:
            sources[code].append(source)
    reasons = []
    entries = {entry.code: entry for entry in reviewed.entries}
    for code, features in grouped.items():
        statement, missing = _statements(sources[code], features)
        entry = entries.get(code)
        if entry is not None:
            statement = entry.statement or statement
            missing = entry.missing or missing
        reasons.append(
            {"code": code, "statement": statement, "missing_statement": missing, "features": features}
        )
    return {"version": reviewed.version, "reasons": reasons}


def _statements(sources: list[str], features: list[str]) -> tuple[str, str]:
    if len(sources) == 1:
        return automatic_statements(sources[0], features)
    pairs = [automatic_statements(src, [f for f in features if feature_source(f) == src]) for src in sources]
    return "; ".join(p[0] for p in pairs), "; ".join(p[1] for p in pairs)
