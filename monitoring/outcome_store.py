"""Loading validated outcomes into the decision store: all or nothing, idempotent, conflicts refused.

Rules (``docs/outcomes.md``):

- the same outcome again (same id, same ``defaulted``) is stored once; its first ``observed_at`` stays;
- an outcome that contradicts a stored one (same id, other ``defaulted``) refuses the whole load, naming the
  row, unless ``replace`` is asked for: then the new value and time replace the stored ones (a correction);
- an id that matches no stored decision is stored all the same and counted as unknown: its decision may not
  be stored yet (a sidecar behind, a database that was down), and it joins when it is; an id that never
  matches stays out of every figure;
- a late outcome (of a decision month already reported) is simply stored: the performance job recomputes
  every month of its horizon on each run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from monitoring import store_schema as schema
from monitoring.outcomes import MAX_PROBLEMS_SHOWN, Outcome

QUERY_CHUNK = 1_000
"""Ids per ``IN (...)`` lookup."""


@dataclass(frozen=True)
class LoadSummary:
    """What a load did."""

    rows: int
    """Distinct outcomes in the input."""
    stored: int
    """Outcomes not stored before, now stored."""
    unchanged: int
    """Outcomes already stored with the same value (nothing changed)."""
    replaced: int
    """Stored outcomes whose value the input replaced (only with ``replace``)."""
    unknown_ids: int
    """Outcomes of the input whose id matches no stored decision (yet)."""

    def as_dict(self) -> dict[str, int]:
        """The summary as a JSON-ready dict."""
        return {
            "rows": self.rows,
            "stored": self.stored,
            "unchanged": self.unchanged,
            "replaced": self.replaced,
            "unknown_ids": self.unknown_ids,
        }


class OutcomeConflictError(ValueError):
    """Outcomes of the input contradict stored ones; nothing was loaded."""


def load_outcomes(engine: Engine, outcomes: Sequence[Outcome], *, replace: bool = False) -> LoadSummary:
    """Store ``outcomes`` in one transaction (see the module's rules); raise :class:`OutcomeConflictError`
    (and store nothing) on a contradiction unless ``replace``."""
    loaded_at = datetime.now(UTC).replace(tzinfo=None)
    with engine.begin() as connection:
        schema.ensure_schema(connection)
        stored = _stored(connection, outcomes)
        new = [o for o in outcomes if (o.id_kind, o.subject_id) not in stored]
        conflicting = [
            o for o in outcomes if stored.get((o.id_kind, o.subject_id), o.defaulted) != o.defaulted
        ]
        if conflicting and not replace:
            problems = [
                f"row {o.row}: {'request_id' if o.id_kind == 'request' else 'applicant_id'} {o.subject_id!r} "
                f"already has the stored outcome defaulted={stored[(o.id_kind, o.subject_id)]}"
                for o in conflicting[:MAX_PROBLEMS_SHOWN]
            ]
            more = len(conflicting) - len(problems)
            raise OutcomeConflictError(
                "outcomes refused, nothing was loaded: "
                + "; ".join(problems)
                + (f"; and {more} more" if more else "")
                + " (load with replace to correct stored outcomes)"
            )
        if new:
            connection.execute(insert(schema.outcomes), [_row(o, loaded_at) for o in new])
        if conflicting:
            table = schema.outcomes
            connection.execute(
                update(table)
                .where(table.c.id_kind == bindparam("kind"), table.c.subject_id == bindparam("subject"))
                .values(
                    defaulted=bindparam("new_defaulted"),
                    observed_at=bindparam("new_observed_at"),
                    loaded_at=bindparam("new_loaded_at"),
                ),
                [
                    {
                        "kind": o.id_kind,
                        "subject": o.subject_id,
                        "new_defaulted": o.defaulted,
                        "new_observed_at": o.observed_at,
                        "new_loaded_at": loaded_at,
                    }
                    for o in conflicting
                ],
            )
        known = _known_ids(connection, outcomes)
    return LoadSummary(
        rows=len(outcomes),
        stored=len(new),
        unchanged=len(outcomes) - len(new) - len(conflicting),
        replaced=len(conflicting),
        unknown_ids=sum(1 for o in outcomes if (o.id_kind, o.subject_id) not in known),
    )


def _row(outcome: Outcome, loaded_at: datetime) -> dict:
    return {
        "id_kind": outcome.id_kind,
        "subject_id": outcome.subject_id,
        "defaulted": outcome.defaulted,
        "observed_at": outcome.observed_at,
        "loaded_at": loaded_at,
    }


def _chunks(values: Sequence[str]) -> list[Sequence[str]]:
    return [values[i : i + QUERY_CHUNK] for i in range(0, len(values), QUERY_CHUNK)]


def _stored(connection: Connection, outcomes: Sequence[Outcome]) -> dict[tuple[str, str], bool]:
    """Stored ``defaulted`` of the input's ids."""
    table = schema.outcomes
    found: dict[tuple[str, str], bool] = {}
    for kind in ("request", "applicant"):
        ids = sorted({o.subject_id for o in outcomes if o.id_kind == kind})
        for chunk in _chunks(ids):
            query = select(table.c.subject_id, table.c.defaulted).where(
                table.c.id_kind == kind, table.c.subject_id.in_(chunk)
            )
            found.update({(kind, subject): bool(value) for subject, value in connection.execute(query)})
    return found


def _known_ids(connection: Connection, outcomes: Sequence[Outcome]) -> set[tuple[str, str]]:
    """The input's ids that match a stored decision (request id, or caller id for an applicant id)."""
    table = schema.decisions
    known: set[tuple[str, str]] = set()
    for kind, column in (("request", table.c.request_id), ("applicant", table.c.caller_id)):
        ids = sorted({o.subject_id for o in outcomes if o.id_kind == kind})
        for chunk in _chunks(ids):
            known.update(
                (kind, value) for value in connection.scalars(select(column).where(column.in_(chunk)))
            )
    return known
