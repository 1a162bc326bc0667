"""previous_application, POS_CASH_balance, installments_payments and credit_card_balance features."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from tests.training.features import tiny
from training.features import build_features


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    return build_features(tiny.all_tables())


def test_previous_applications(features: pd.DataFrame) -> None:
    r101, r102, r103 = (features.loc[i] for i in tiny.APPLICANTS)
    assert features["PREV_COUNT"].tolist() == [4, 1, 0]
    assert r101["PREV_NAME_CONTRACT_STATUS_REFUSED_SHARE"] == pytest.approx(0.5)
    assert r101["PREV_NAME_CONTRACT_STATUS_APPROVED_SHARE"] == pytest.approx(0.25)
    assert r101["PREV_NAME_CONTRACT_STATUS_REFUSED_COUNT"] == 2
    assert r102["PREV_NAME_CONTRACT_STATUS_APPROVED_SHARE"] == 1.0
    assert math.isnan(r103["PREV_NAME_CONTRACT_STATUS_REFUSED_SHARE"])
    # 1000/1100, 2000/2000, 4000/0 (left out), 500/500
    assert r101["PREV_APPLICATION_CREDIT_RATIO_MEAN"] == pytest.approx((1000 / 1100 + 1 + 1) / 3)
    assert r101["PREV_APPLICATION_CREDIT_RATIO_MIN"] == pytest.approx(1000 / 1100)
    assert math.isnan(r102["PREV_APPLICATION_CREDIT_RATIO_MEAN"])  # only a zero amount granted
    assert r101["PREV_REFUSED_AMT_APPLICATION_MEAN"] == 3_000.0
    assert r101["PREV_APPROVED_AMT_CREDIT_SUM"] == 1_100.0
    assert r101["PREV_AMT_ANNUITY_SUM"] == 100.0


def test_pos_cash(features: pd.DataFrame) -> None:
    r101, r102, r103 = (features.loc[i] for i in tiny.APPLICANTS)
    assert features["POS_COUNT"].tolist() == [4, 0, 1]
    assert features["POS_LOANS_COUNT"].tolist() == [2, 0, 1]
    assert r101["POS_SK_DPD_MAX"] == 15.0
    assert r101["POS_SK_DPD_MEAN"] == pytest.approx(3.75)
    assert r101["POS_DPD_SHARE"] == pytest.approx(0.25)
    assert r101["POS_DPD_DEF_SHARE"] == 0.0
    assert r101["POS_NAME_CONTRACT_STATUS_ACTIVE_SHARE"] == pytest.approx(0.75)
    assert r101["POS_NAME_CONTRACT_STATUS_DEMAND_SHARE"] == 0.0  # 999's row ignored
    assert r103["POS_DPD_SHARE"] == 0.0
    assert math.isnan(r102["POS_SK_DPD_MAX"])


def test_installment_delay_and_underpayment(features: pd.DataFrame) -> None:
    r101, r102, r103 = (features.loc[i] for i in tiny.APPLICANTS)
    assert features["INST_COUNT"].tolist() == [2, 1, 0]
    # delays +5 (late) and -3 (early)
    assert r101["INST_PAYMENT_DELAY_MEAN"] == pytest.approx(1.0)
    assert r101["INST_PAYMENT_DELAY_MAX"] == 5.0
    assert r101["INST_PAYMENT_DELAY_MIN"] == -3.0
    assert r101["INST_DAYS_PAST_DUE_MEAN"] == pytest.approx(2.5)
    assert r101["INST_DAYS_BEFORE_DUE_MEAN"] == pytest.approx(1.5)
    assert r101["INST_LATE_SHARE"] == pytest.approx(0.5)
    # shortfalls 100 and 0
    assert r101["INST_UNDERPAYMENT_MEAN"] == pytest.approx(50.0)
    assert r101["INST_UNDERPAYMENT_SUM"] == 100.0
    assert r101["INST_UNDERPAID_SHARE"] == pytest.approx(0.5)
    assert r101["INST_PAYMENT_RATIO_MEAN"] == pytest.approx(0.95)
    # paid 50 on a zero instalment: an overpayment, ratio undefined
    assert r102["INST_UNDERPAYMENT_MEAN"] == -50.0
    assert r102["INST_LATE_SHARE"] == 0.0
    assert math.isnan(r102["INST_PAYMENT_RATIO_MEAN"])
    assert math.isnan(r103["INST_LATE_SHARE"])


def test_credit_card_utilisation_with_zero_limit(features: pd.DataFrame) -> None:
    r101, r102 = features.loc[101], features.loc[102]
    assert features["CC_COUNT"].tolist() == [0, 3, 0]
    # 500/1000, 1000/1000, 300/0 (left out)
    assert r102["CC_UTILISATION_MEAN"] == pytest.approx(0.75)
    assert r102["CC_UTILISATION_MAX"] == 1.0
    assert r102["CC_UTILISATION_MIN"] == 0.5
    # 50/100, 10/0 (left out), 100/50
    assert r102["CC_PAYMENT_MIN_RATIO_MEAN"] == pytest.approx(1.25)
    assert r102["CC_BELOW_MIN_PAYMENT_SHARE"] == pytest.approx(0.5)
    assert r102["CC_DPD_SHARE"] == pytest.approx(1 / 3)
    assert r102["CC_AMT_DRAWINGS_ATM_CURRENT_SUM"] == 100.0
    assert r102["CC_AMT_DRAWINGS_POS_CURRENT_SUM"] == 75.0
    assert r102["CC_NAME_CONTRACT_STATUS_ACTIVE_SHARE"] == pytest.approx(2 / 3)
    assert math.isnan(r101["CC_UTILISATION_MEAN"])
    assert r101["CC_LOANS_COUNT"] == 0
