"""bureau and bureau_balance features against hand-computed values."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from tests.training.features import tiny
from training.features import build_features


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    tables = tiny.all_tables()
    return build_features({k: tables[k] for k in ("application", "bureau", "bureau_balance")})


def test_counts_and_numeric_statistics(features: pd.DataFrame) -> None:
    assert features["BURO_COUNT"].tolist() == [3, 1, 0]
    r101 = features.loc[101]
    assert r101["BURO_DAYS_CREDIT_MEAN"] == -200.0
    assert r101["BURO_DAYS_CREDIT_MAX"] == -100.0
    assert r101["BURO_DAYS_CREDIT_MIN"] == -300.0
    assert r101["BURO_DAYS_CREDIT_MEDIAN"] == -200.0
    assert r101["BURO_AMT_CREDIT_SUM_SUM"] == 6_000.0
    assert r101["BURO_AMT_CREDIT_MAX_OVERDUE_MAX"] == 500.0
    assert r101["BURO_AMT_CREDIT_MAX_OVERDUE_MEAN"] == 300.0  # missing values skipped
    assert math.isnan(r101["BURO_AMT_CREDIT_SUM_LIMIT_SUM"])  # all missing stays missing, not 0


def test_overdue_signals(features: pd.DataFrame) -> None:
    # the unknown applicant 999's overdue credit never leaks in
    assert features["BURO_AMT_CREDIT_SUM_OVERDUE_SUM"].tolist()[:2] == [250.0, 0.0]
    assert features["BURO_CREDIT_DAY_OVERDUE_MAX"].tolist()[:2] == [30.0, 0.0]
    assert features["BURO_OVERDUE_COUNT"].tolist() == [1, 0, 0]
    assert math.isnan(features.loc[103, "BURO_AMT_CREDIT_SUM_OVERDUE_SUM"])


def test_debt_ratio_and_active_closed_subsets(features: pd.DataFrame) -> None:
    r101, r102 = features.loc[101], features.loc[102]
    assert r101["BURO_DEBT_CREDIT_RATIO"] == pytest.approx(1_500 / 6_000)
    assert r101["BURO_ACTIVE_AMT_CREDIT_SUM_SUM"] == 4_000.0
    assert r101["BURO_ACTIVE_AMT_CREDIT_SUM_DEBT_SUM"] == 1_500.0
    assert r101["BURO_ACTIVE_DEBT_CREDIT_RATIO"] == pytest.approx(1_500 / 4_000)
    assert r101["BURO_CLOSED_AMT_CREDIT_SUM_SUM"] == 2_000.0
    assert r101["BURO_CLOSED_DAYS_ENDDATE_FACT_MAX"] == -60.0
    assert r102["BURO_CLOSED_AMT_CREDIT_SUM_SUM"] == 500.0
    assert math.isnan(r102["BURO_ACTIVE_AMT_CREDIT_SUM_SUM"])  # no active credit
    assert math.isnan(r102["BURO_DEBT_CREDIT_RATIO"])  # debt unknown


def test_category_counts_and_shares(features: pd.DataFrame) -> None:
    assert features["BURO_CREDIT_ACTIVE_ACTIVE_COUNT"].tolist() == [2, 0, 0]
    assert features["BURO_CREDIT_ACTIVE_CLOSED_COUNT"].tolist() == [1, 1, 0]
    assert features.loc[101, "BURO_CREDIT_ACTIVE_ACTIVE_SHARE"] == pytest.approx(2 / 3)
    assert math.isnan(features.loc[103, "BURO_CREDIT_ACTIVE_ACTIVE_SHARE"])
    assert features["BURO_CREDIT_TYPE_CONSUMER_CREDIT_COUNT"].tolist() == [2, 0, 0]
    assert features["BURO_CREDIT_TYPE_MICROLOAN_SHARE"].tolist()[:2] == [0.0, 1.0]
    assert features["BURO_CREDIT_TYPE_CAR_LOAN_COUNT"].tolist() == [0, 0, 0]  # only applicant 999 has one


def test_bureau_balance_summarised_per_credit_before_per_applicant(features: pd.DataFrame) -> None:
    r101 = features.loc[101]
    # credit 1: months 0, 1; credit 2: C, C, C, 0; credit 3: no months
    assert r101["BB_MONTHS_COUNT"] == 6
    assert r101["BB_CREDITS_WITH_HISTORY_COUNT"] == 2
    assert r101["BB_MONTHS_COUNT_MEAN"] == pytest.approx(2.0)  # (2 + 4 + 0) / 3 credits
    assert r101["BB_MONTHS_COUNT_MAX"] == 4.0
    # mean of the per-credit shares (0.5 and 0.25), not the pooled share 2 / 6
    assert r101["BB_STATUS_0_SHARE_MEAN"] == pytest.approx(0.375)
    assert r101["BB_STATUS_C_SHARE_MEAN"] == pytest.approx(0.375)
    assert r101["BB_STATUS_1_SHARE_MEAN"] == pytest.approx(0.25)
    assert r101["BB_LATE_SHARE_MEAN"] == pytest.approx(0.25)
    assert r101["BB_LATE_SHARE_MAX"] == pytest.approx(0.5)
    assert r101["BB_WORST_STATUS_MAX"] == 1.0
    assert r101["BB_WORST_STATUS_MEAN"] == pytest.approx(0.5)
    assert r101["BB_MONTHS_BALANCE_MIN_MIN"] == -3.0
    assert r101["BB_MONTHS_BALANCE_MAX_MAX"] == 0.0


def test_bureau_balance_ignores_rows_of_unknown_credits(features: pd.DataFrame) -> None:
    r102 = features.loc[102]
    assert r102["BB_MONTHS_COUNT"] == 2
    assert r102["BB_WORST_STATUS_MAX"] == 5.0
    assert r102["BB_STATUS_X_SHARE_MEAN"] == pytest.approx(0.5)
    # status 4 only occurs for credit 77, which no bureau row knows
    assert features["BB_STATUS_4_SHARE_MEAN"].tolist()[:2] == [0.0, 0.0]
    r103 = features.loc[103]
    assert r103["BB_MONTHS_COUNT"] == 0
    assert math.isnan(r103["BB_WORST_STATUS_MAX"])


def test_missing_bureau_balance_leaves_bureau_features_unchanged(features: pd.DataFrame) -> None:
    tables = tiny.all_tables()
    without = build_features({k: tables[k] for k in ("application", "bureau")})
    pd.testing.assert_frame_equal(without.filter(like="BURO_"), features.filter(like="BURO_"))
    assert without["BB_MONTHS_COUNT"].tolist() == [0, 0, 0]
    assert without["BB_MONTHS_COUNT_MEAN"].tolist()[:2] == [0.0, 0.0]
    assert without["BB_WORST_STATUS_MAX"].isna().all()


def test_unknown_child_labels_add_no_column_but_count_as_rows(features: pd.DataFrame) -> None:
    tables = tiny.all_tables()
    credit_type = tables["bureau"]["CREDIT_TYPE"].astype(object)
    credit_type.iloc[0] = "Space loan"
    tables["bureau"]["CREDIT_TYPE"] = credit_type  # object dtype with a label the schema does not know
    out = build_features({k: tables[k] for k in ("application", "bureau", "bureau_balance")})
    assert list(out.columns) == list(features.columns)
    assert out.loc[101, "BURO_CREDIT_TYPE_CONSUMER_CREDIT_COUNT"] == 1
    assert out.loc[101, "BURO_CREDIT_TYPE_CONSUMER_CREDIT_SHARE"] == pytest.approx(1 / 3)
    assert not any("SPACE" in name for name in out.columns)
