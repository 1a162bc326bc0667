"""Outcome files: what is accepted, and every kind of bad row refused with its row and column named."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from monitoring.outcomes import OutcomeFileError, read_csv, read_file, read_records

GOOD = b"""request_id,applicant_id,defaulted,observed_at
r-1,,1,2026-05-01
,a-7,no,2026-05-02T10:30:00+02:00
r-2,,TRUE,2026-05-03T00:00:00
"""


def test_a_good_csv_gives_one_outcome_per_row_in_utc() -> None:
    outcomes = read_csv(GOOD)
    assert [(o.id_kind, o.subject_id, o.defaulted, o.row) for o in outcomes] == [
        ("request", "r-1", True, 1),
        ("applicant", "a-7", False, 2),
        ("request", "r-2", True, 3),
    ]
    assert outcomes[0].observed_at == datetime(2026, 5, 1)
    assert outcomes[1].observed_at == datetime(2026, 5, 2, 8, 30)  # converted to UTC, stored without zone


def test_parquet_with_typed_columns_reads_like_the_csv(tmp_path: Path) -> None:
    path = tmp_path / "outcomes.parquet"
    pd.DataFrame(
        {
            "request_id": ["r-1", None],
            "applicant_id": [None, "a-7"],
            "defaulted": [True, False],
            "observed_at": pd.to_datetime(["2026-05-01 00:00", "2026-05-02 08:30"]).tz_localize(UTC),
        }
    ).to_parquet(path)
    outcomes = read_file(path)
    assert [(o.id_kind, o.subject_id, o.defaulted, o.observed_at) for o in outcomes] == [
        ("request", "r-1", True, datetime(2026, 5, 1)),
        ("applicant", "a-7", False, datetime(2026, 5, 2, 8, 30)),
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("r-1,,maybe,2026-05-01", "row 2 (line 3), column defaulted: 'maybe' is not 1/0"),
        ("r-1,,1,", "row 2 (line 3), column observed_at: missing"),
        ("r-1,,1,05/01/2026", "row 2 (line 3), column observed_at: '05/01/2026' is not an ISO 8601"),
        ("r-1,,1,2999-01-01", "row 2 (line 3), column observed_at: 2999-01-01T00:00:00 is in the future"),
        (",,1,2026-05-01", "row 2 (line 3): give exactly one of request_id, applicant_id (0 given)"),
        ("r-1,a-1,1,2026-05-01", "row 2 (line 3): give exactly one of request_id, applicant_id (2 given)"),
        (
            "r-0,,0,2026-05-01",
            "row 2 (line 3), column defaulted: request_id 'r-0' already has defaulted=True",
        ),
        (f"{'x' * 257},,1,2026-05-01", "row 2 (line 3), column request_id: longer than 256 characters"),
    ],
)
def test_a_bad_row_refuses_the_file_naming_row_and_column(line: str, message: str) -> None:
    data = f"request_id,applicant_id,defaulted,observed_at\nr-0,,1,2026-05-01\n{line}\n".encode()
    with pytest.raises(OutcomeFileError) as error:
        read_csv(data)
    assert message in str(error.value)
    assert "nothing was loaded" in str(error.value)


def test_every_bad_row_is_named_up_to_the_limit() -> None:
    rows = "".join(f"r-{i},,maybe,2026-05-01\n" for i in range(25))
    with pytest.raises(OutcomeFileError) as error:
        read_csv(f"request_id,applicant_id,defaulted,observed_at\n{rows}".encode())
    assert len(error.value.problems) == 25
    assert "row 20 (line 21)" in str(error.value) and "row 21 (line 22)" not in str(error.value)
    assert "and 5 more problems" in str(error.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"request_id,default,observed_at\nr-1,1,2026-05-01\n", "column 'default' is not an outcome column"),
        (b"request_id,observed_at\nr-1,2026-05-01\n", "column 'defaulted' is missing"),
        (b"defaulted,observed_at\n1,2026-05-01\n", "no id column"),
        (b"request_id,defaulted,observed_at\n", "the file has no rows"),
        (b"", "not readable as CSV"),
        (b"request_id,defaulted,observed_at\n\xff\xfe,1,2026-05-01\n", "not readable as CSV"),
    ],
)
def test_a_file_of_the_wrong_shape_is_refused_with_the_reason(data: bytes, message: str) -> None:
    with pytest.raises(OutcomeFileError, match=message):
        read_csv(data)


def test_repeated_identical_outcomes_are_one_keeping_the_first_observation() -> None:
    outcomes = read_csv(b"applicant_id,defaulted,observed_at\na-1,1,2026-06-01\na-1,yes,2026-05-01\n")
    assert len(outcomes) == 1
    assert outcomes[0].observed_at == datetime(2026, 5, 1)


def test_other_file_kinds_and_unreadable_parquet_are_refused(tmp_path: Path) -> None:
    (tmp_path / "o.xlsx").write_bytes(b"x")
    (tmp_path / "o.parquet").write_bytes(b"not parquet")
    with pytest.raises(OutcomeFileError, match=r"outcome files are \.csv or \.parquet, not \.xlsx"):
        read_file(tmp_path / "o.xlsx")
    with pytest.raises(OutcomeFileError, match=r"o\.parquet is not a readable Parquet file"):
        read_file(tmp_path / "o.parquet")


def test_json_records_are_validated_like_rows() -> None:
    outcomes = read_records([{"request_id": "r-1", "defaulted": 0, "observed_at": "2026-05-01"}])
    assert [(o.subject_id, o.defaulted) for o in outcomes] == [("r-1", False)]
    with pytest.raises(OutcomeFileError, match="row 1, column defaulted: 2 is not 1/0"):
        read_records([{"request_id": "r-1", "defaulted": 2, "observed_at": "2026-05-01"}])
    with pytest.raises(OutcomeFileError, match="JSON list of objects"):
        read_records({"request_id": "r-1"})
