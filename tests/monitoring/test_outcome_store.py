"""Loading outcomes into the store, on SQLite and a real PostgreSQL: idempotent, all or nothing, conflicts
refused unless replacing, unknown ids stored and counted."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from monitoring import store_schema as schema
from monitoring.outcome_store import OutcomeConflictError, load_outcomes
from monitoring.outcomes import read_csv
from tests.monitoring.store_data import decision, seed

HEADER = "request_id,applicant_id,defaulted,observed_at\n"


def outcomes_in(url: str) -> dict[tuple[str, str], tuple[bool, str]]:
    with schema.open_engine(url).connect() as connection:
        rows = connection.execute(select(schema.outcomes))
        return {(r.id_kind, r.subject_id): (r.defaulted, r.observed_at.isoformat()) for r in rows}


def csv(*lines: str) -> bytes:
    return (HEADER + "".join(f"{line}\n" for line in lines)).encode()


def test_loading_the_same_outcomes_twice_stores_them_once(store_url: str) -> None:
    seed(store_url, [decision("r-1", 0.1), decision("r-2", 0.2, caller_id="a-2")])
    engine = schema.open_engine(store_url)
    data = csv("r-1,,1,2026-06-01", ",a-2,0,2026-06-02")
    first = load_outcomes(engine, read_csv(data))
    again = load_outcomes(engine, read_csv(data))
    assert first.as_dict() == {"rows": 2, "stored": 2, "unchanged": 0, "replaced": 0, "unknown_ids": 0}
    assert again.as_dict() == {"rows": 2, "stored": 0, "unchanged": 2, "replaced": 0, "unknown_ids": 0}
    assert outcomes_in(store_url) == {
        ("request", "r-1"): (True, "2026-06-01T00:00:00"),
        ("applicant", "a-2"): (False, "2026-06-02T00:00:00"),
    }


def test_a_contradicting_outcome_refuses_the_whole_load(store_url: str) -> None:
    engine = schema.open_engine(store_url)
    load_outcomes(engine, read_csv(csv("r-1,,1,2026-06-01")))
    before = outcomes_in(store_url)
    with pytest.raises(OutcomeConflictError, match=r"row 2: request_id 'r-1' already has .* defaulted=True"):
        load_outcomes(engine, read_csv(csv("r-9,,0,2026-06-01", "r-1,,0,2026-06-05")))
    assert outcomes_in(store_url) == before  # r-9 was not stored either


def test_replace_corrects_a_stored_outcome(store_url: str) -> None:
    engine = schema.open_engine(store_url)
    load_outcomes(engine, read_csv(csv("r-1,,1,2026-06-01", "r-2,,0,2026-06-01")))
    summary = load_outcomes(engine, read_csv(csv("r-1,,0,2026-06-05", "r-2,,0,2026-06-09")), replace=True)
    assert (summary.replaced, summary.unchanged, summary.stored) == (1, 1, 0)
    assert outcomes_in(store_url) == {
        ("request", "r-1"): (False, "2026-06-05T00:00:00"),
        ("request", "r-2"): (False, "2026-06-01T00:00:00"),  # same value: the first observation stays
    }


def test_unknown_ids_are_stored_and_counted(store_url: str) -> None:
    seed(store_url, [decision("r-1", 0.1, caller_id="a-1")])
    summary = load_outcomes(
        schema.open_engine(store_url),
        read_csv(csv("r-1,,1,2026-06-01", "r-404,,1,2026-06-01", ",a-1,1,2026-06-01", ",a-404,0,2026-06-01")),
    )
    assert (summary.stored, summary.unknown_ids) == (4, 2)
    assert len(outcomes_in(store_url)) == 4
