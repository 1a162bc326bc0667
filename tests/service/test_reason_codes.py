"""Principal reasons: grouping by characteristic, ordering, the cap of four, missing values, the catalogue."""

from __future__ import annotations

import numpy as np
import pytest

from service.reason_codes import MAX_PRINCIPAL_REASONS, PrincipalReasons, Reason, ReasonCatalogue

NAMES = ["EXT_MEAN", "EXT_MISSING_COUNT", "LATE_SHARE", "LATE_DAYS", "INCOME", "DEBT", "BUREAU_COUNT", "AGE"]
CATALOGUE = ReasonCatalogue(
    3,
    (
        Reason("R001", "External scores", "No external score", ("EXT_MEAN", "EXT_MISSING_COUNT")),
        Reason("R002", "Late payments", "No instalment history", ("LATE_SHARE", "LATE_DAYS")),
        Reason("R003", "Income", "Income not known", ("INCOME",)),
        Reason("R004", "Debt", "No debt known", ("DEBT",)),
        Reason("R005", "Number of bureau credits", "unused", ("BUREAU_COUNT",)),
        Reason("R006", "Age", "Age not known", ("AGE",)),
    ),
)
NEVER_MISSING = ("EXT_MISSING_COUNT", "BUREAU_COUNT")


def _contributions(*per_feature: float) -> np.ndarray:
    return np.array([[*per_feature, -1.5]])  # base value last, never part of a reason


def _reasons(matrix: np.ndarray, contributions: np.ndarray, limit: int = MAX_PRINCIPAL_REASONS) -> list:
    return PrincipalReasons(CATALOGUE, NAMES, NEVER_MISSING, limit).of(matrix, contributions)


ROW = np.array([[0.4, 0.0, 0.1, 3.0, 90000.0, 5000.0, 2.0, -12000.0]])


def test_contributions_are_added_per_characteristic_and_only_pushes_toward_refusal_count() -> None:
    (answer,) = _reasons(ROW, _contributions(0.30, 0.05, 0.20, -0.10, -0.40, 0.02, 0.0, 0.12))
    assert [(r["code"], r["reason"]) for r in answer] == [
        ("R001", "External scores"),
        ("R006", "Age"),
        ("R002", "Late payments"),
        ("R004", "Debt"),
    ]
    assert [r["contribution"] for r in answer] == pytest.approx([0.35, 0.12, 0.10, 0.02])
    assert not any(r["value_missing"] for r in answer)


def test_at_most_four_reasons_strongest_first_and_none_that_lowered_the_risk() -> None:
    (answer,) = _reasons(ROW, _contributions(0.1, 0.0, 0.2, 0.0, 0.3, 0.4, 0.5, 0.6))
    assert [r["code"] for r in answer] == ["R006", "R005", "R004", "R003"]
    (lowered,) = _reasons(ROW, _contributions(-0.1, 0.0, -0.2, 0.0, -0.3, 0.0, -0.5, -0.6))
    assert lowered == []
    (two,) = _reasons(ROW, _contributions(0.1, 0.0, 0.2, 0.0, 0.3, 0.4, 0.5, 0.6), limit=2)
    assert [r["code"] for r in two] == ["R006", "R005"]


def test_a_characteristic_whose_values_are_all_missing_is_stated_as_missing() -> None:
    row = ROW.copy()
    row[0, [0, 2, 3]] = np.nan  # no external score (the count of missing scores is a value), no instalments
    row[0, 1] = 3.0
    (answer,) = _reasons(row, _contributions(0.3, 0.1, 0.2, 0.05, 0.0, 0.0, 0.0, 0.0))
    assert answer == [
        {
            "code": "R001",
            "reason": "No external score",
            "value_missing": True,
            "contribution": pytest.approx(0.4),
        },
        {
            "code": "R002",
            "reason": "No instalment history",
            "value_missing": True,
            "contribution": pytest.approx(0.25),
        },
    ]


def test_partly_missing_is_not_missing_and_counts_alone_never_are() -> None:
    row = ROW.copy()
    row[0, 2] = np.nan  # one of the two late-payment features
    row[0, 6] = np.nan  # a count sent as null in a feature vector: still not a statement about missing data
    (answer,) = _reasons(row, _contributions(0.0, 0.0, 0.2, 0.1, 0.0, 0.0, 0.4, 0.0))
    assert [(r["code"], r["value_missing"]) for r in answer] == [("R005", False), ("R002", False)]


def test_rows_are_answered_independently_as_a_plain_loop_would() -> None:
    rng = np.random.default_rng(4)
    matrix = rng.normal(size=(300, len(NAMES)))
    matrix[rng.random(matrix.shape) < 0.3] = np.nan
    contributions = np.hstack([rng.normal(scale=0.3, size=(300, len(NAMES))), np.zeros((300, 1))])
    answers = _reasons(matrix, contributions)
    for row in range(300):
        expected = []
        for reason in CATALOGUE.reasons:
            cols = [NAMES.index(f) for f in reason.features]
            total = float(contributions[row, cols].sum())
            can_miss = [c for c in cols if NAMES[c] not in NEVER_MISSING]
            missing = bool(can_miss) and bool(np.isnan(matrix[row, can_miss]).all())
            if total > 0:
                expected.append((reason.code, missing, total))
        expected.sort(key=lambda item: -item[2])
        got = [(r["code"], r["value_missing"], r["contribution"]) for r in answers[row]]
        assert [g[:2] for g in got] == [e[:2] for e in expected[:MAX_PRINCIPAL_REASONS]]
        assert [g[2] for g in got] == pytest.approx([e[2] for e in expected[:MAX_PRINCIPAL_REASONS]])


class TestCatalogue:
    def test_json_round_trip(self) -> None:
        assert ReasonCatalogue.from_json(CATALOGUE.to_json()) == CATALOGUE

    @pytest.mark.parametrize(
        ("names", "message"),
        [
            (NAMES[:-1], "not model features: AGE"),
            ([*NAMES, "EXTRA"], "under none: EXTRA"),
        ],
    )
    def test_it_must_cover_the_features_exactly(self, names: list[str], message: str) -> None:
        with pytest.raises(ValueError, match=message):
            PrincipalReasons(CATALOGUE, names)

    def test_a_feature_under_two_reasons_is_refused(self) -> None:
        doubled = ReasonCatalogue(1, (*CATALOGUE.reasons, Reason("R009", "Again", "Again", ("AGE",))))
        with pytest.raises(ValueError, match="under two reasons: AGE"):
            doubled.check_covers(NAMES)

    @pytest.mark.parametrize(
        "data",
        [
            None,
            {"version": "1", "reasons": []},
            {"version": 1, "reasons": []},
            {
                "version": 1,
                "reasons": [{"code": "R1", "statement": "", "missing_statement": "x", "features": ["A"]}],
            },
            {
                "version": 1,
                "reasons": [{"code": "R1", "statement": "s", "missing_statement": "x", "features": []}],
            },
            {
                "version": 1,
                "reasons": [
                    {"code": "R1", "statement": "s", "missing_statement": "x", "features": ["A"]},
                    {"code": "R1", "statement": "t", "missing_statement": "y", "features": ["B"]},
                ],
            },
        ],
    )
    def test_malformed_json_is_refused(self, data: object) -> None:
        with pytest.raises(ValueError):
            ReasonCatalogue.from_json(data)
