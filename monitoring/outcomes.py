"""Outcome files: read a CSV or Parquet file of loan outcomes and validate every row, naming row and column.

Columns (names exact; any other column is refused, so that a misspelt one is not silently ignored):

| column | meaning |
|---|---|
| ``request_id`` | the ``request_id`` the scoring answer carried for this applicant |
| ``applicant_id`` | the ``caller_id`` the caller sent with the applicant (give one id column or both) |
| ``defaulted`` | ``1``/``0``, ``true``/``false``, ``yes``/``no`` (any case); in Parquet also boolean or 0/1 |
| ``observed_at`` | when the outcome was observed: ISO 8601 date or date-time; without a zone it is UTC |

Each row names its applicant by exactly one of the two ids. Validation is all-or-nothing: a file with any bad
row is refused whole, with the first :data:`MAX_PROBLEMS_SHOWN` problems, each naming its row (1 = the first
data row; for a CSV also its line) and column. Two rows for the same id are one outcome when they agree on
``defaulted`` (the earliest ``observed_at`` is kept) and a problem when they do not.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from monitoring.store_schema import SUBJECT_ID_LENGTH

ID_COLUMNS = {"request_id": "request", "applicant_id": "applicant"}
"""Id columns and the kind of id each holds (the ``id_kind`` of the ``outcomes`` table)."""
COLUMNS = (*ID_COLUMNS, "defaulted", "observed_at")
"""Every column an outcome file may have."""
TRUE_WORDS = frozenset({"1", "true", "yes", "t", "y"})
"""Spellings of a default (compared in lower case)."""
FALSE_WORDS = frozenset({"0", "false", "no", "f", "n"})
"""Spellings of a repaid loan (compared in lower case)."""
MAX_PROBLEMS_SHOWN = 20
"""Problems listed in one error; the count of the others follows."""
FUTURE_TOLERANCE = timedelta(days=1)
"""An ``observed_at`` later than now by more than this is refused (a typo of the year, a wrong zone)."""


@dataclass(frozen=True)
class Outcome:
    """One validated outcome."""

    id_kind: str
    """``request`` or ``applicant``."""
    subject_id: str
    """The request id or the applicant (caller) id."""
    defaulted: bool
    """Whether the loan defaulted."""
    observed_at: datetime
    """When the outcome was observed (UTC, without a zone)."""
    row: int
    """Row of the file it came from (1 = first data row), for error messages."""


class OutcomeFileError(ValueError):
    """The file (or body) is unreadable or has bad rows; :attr:`problems` name each row and column."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = problems[:MAX_PROBLEMS_SHOWN]
        more = len(problems) - len(shown)
        text = "; ".join(shown) + (f"; and {more} more problems" if more else "")
        super().__init__(f"outcomes refused, nothing was loaded: {text}")


def read_file(path: Path) -> list[Outcome]:
    """The validated outcomes of a ``.csv`` or ``.parquet`` file."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_csv(path.read_bytes())
    if suffix in (".parquet", ".pq"):
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
            raise OutcomeFileError([f"{path.name} is not a readable Parquet file ({exc})"]) from None
        return validate(frame, csv=False)
    raise OutcomeFileError([f"{path.name}: outcome files are .csv or .parquet, not {suffix or 'no suffix'}"])


def read_csv(data: bytes) -> list[Outcome]:
    """The validated outcomes of CSV text (UTF-8, a header line first)."""
    try:
        frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise OutcomeFileError([f"not readable as CSV ({str(exc).strip()})"]) from None
    return validate(frame, csv=True)


def read_records(records: object) -> list[Outcome]:
    """The validated outcomes of a JSON body: a list of objects with the file's column names as keys."""
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise OutcomeFileError(["the body must be a JSON list of objects (one per outcome)"])
    keys = {key for record in records for key in record}
    return validate(pd.DataFrame.from_records(records, columns=sorted(keys)), csv=False)


def validate(frame: pd.DataFrame, *, csv: bool) -> list[Outcome]:
    """Validate every row of ``frame``; raise :class:`OutcomeFileError` naming every problem found."""
    columns = [str(c) for c in frame.columns]
    problems = [f"column {c!r} is not an outcome column (expected {', '.join(COLUMNS)})" for c in columns
                if c not in COLUMNS]  # fmt: skip
    problems += [f"column {c!r} is missing" for c in ("defaulted", "observed_at") if c not in columns]
    if not any(c in columns for c in ID_COLUMNS):
        problems.append("no id column: give request_id or applicant_id (or both)")
    if problems:
        raise OutcomeFileError(problems)
    if len(frame) == 0:
        raise OutcomeFileError(["the file has no rows"])
    now = datetime.now(UTC).replace(tzinfo=None)
    kept: dict[tuple[str, str], Outcome] = {}
    for i, values in enumerate(frame.to_dict("records"), start=1):
        where = f"row {i} (line {i + 1})" if csv else f"row {i}"
        row_problems: list[str] = []
        ids = [(kind, _text(values.get(column))) for column, kind in ID_COLUMNS.items()]
        given = [(kind, value) for kind, value in ids if value]
        if len(given) != 1:
            row_problems.append(f"{where}: give exactly one of request_id, applicant_id ({len(given)} given)")
        elif len(given[0][1]) > SUBJECT_ID_LENGTH:
            column = "request_id" if given[0][0] == "request" else "applicant_id"
            row_problems.append(f"{where}, column {column}: longer than {SUBJECT_ID_LENGTH} characters")
        defaulted = _boolean(values["defaulted"])
        if defaulted is None:
            row_problems.append(
                f"{where}, column defaulted: {_shown(values['defaulted'])} is not 1/0, true/false or yes/no"
            )
        observed_at, why = _time(values["observed_at"])
        if observed_at is None:
            row_problems.append(f"{where}, column observed_at: {why}")
        elif observed_at > now + FUTURE_TOLERANCE:
            row_problems.append(f"{where}, column observed_at: {observed_at.isoformat()} is in the future")
        if row_problems:
            problems += row_problems
            continue
        kind, subject = given[0]
        assert defaulted is not None and observed_at is not None
        outcome = Outcome(kind, subject, defaulted, observed_at, i)
        earlier = kept.get((kind, subject))
        if earlier is None:
            kept[(kind, subject)] = outcome
        elif earlier.defaulted != defaulted:
            column = "request_id" if kind == "request" else "applicant_id"
            problems.append(
                f"{where}, column defaulted: {column} {subject!r} already has defaulted={earlier.defaulted} "
                f"in row {earlier.row}"
            )
        elif observed_at < earlier.observed_at:
            kept[(kind, subject)] = outcome
    if problems:
        raise OutcomeFileError(problems)
    return sorted(kept.values(), key=lambda o: o.row)


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value).strip()


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _boolean(value: object) -> bool | None:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer) and value in (0, 1):
        return bool(value)
    if isinstance(value, float | np.floating) and value in (0.0, 1.0):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    return None


def _time(value: object) -> tuple[datetime | None, str]:
    """``value`` as a UTC datetime without zone, or ``None`` and why not."""
    if isinstance(value, pd.Timestamp):
        if pd.isna(value):
            return None, "missing"
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return None, f"{_shown(value)} is not an ISO 8601 date or date-time"
    else:
        return None, "missing" if _text(value) == "" else f"{_shown(value)} is not a date or date-time"
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed, ""
