"""Keys link, and the Kaggle relations between columns hold."""

from __future__ import annotations

import numpy as np
import pandas as pd

from service.applicant.schema import SENTINEL_DAYS
from training.synthetic import SyntheticDataset


def _applicants(dataset: SyntheticDataset) -> pd.Index:
    tables = dataset.tables
    return pd.Index(
        np.concatenate([tables["application_train"]["SK_ID_CURR"], tables["application_test"]["SK_ID_CURR"]])
    )


def test_keys_link(small_dataset: SyntheticDataset) -> None:
    tables = small_dataset.tables
    applicants = _applicants(small_dataset)
    assert applicants.is_unique
    bureau = tables["bureau"]
    assert bureau["SK_ID_BUREAU"].is_unique
    assert bureau["SK_ID_CURR"].isin(applicants).all()
    assert tables["bureau_balance"]["SK_ID_BUREAU"].isin(bureau["SK_ID_BUREAU"]).all()
    previous = tables["previous_application"]
    assert previous["SK_ID_PREV"].is_unique
    assert previous["SK_ID_CURR"].isin(applicants).all()
    owner = previous.set_index("SK_ID_PREV")["SK_ID_CURR"]
    for name in ("POS_CASH_balance", "installments_payments", "credit_card_balance"):
        child = tables[name]
        assert child["SK_ID_PREV"].isin(owner.index).all(), name
        assert (owner.reindex(child["SK_ID_PREV"]).to_numpy() == child["SK_ID_CURR"].to_numpy()).all(), name


def test_monthly_rows_belong_to_approved_credits_of_the_right_kind(small_dataset: SyntheticDataset) -> None:
    tables = small_dataset.tables
    previous = tables["previous_application"].set_index("SK_ID_PREV")
    pos_prev = previous.loc[tables["POS_CASH_balance"]["SK_ID_PREV"].unique()]
    assert (pos_prev["NAME_CONTRACT_STATUS"] == "Approved").all()
    assert pos_prev["NAME_CONTRACT_TYPE"].isin(["Cash loans", "Consumer loans"]).all()
    card_prev = previous.loc[tables["credit_card_balance"]["SK_ID_PREV"].unique()]
    assert (card_prev["NAME_CONTRACT_TYPE"] == "Revolving loans").all()
    assert (card_prev["NAME_CONTRACT_STATUS"] == "Approved").all()
    for name in ("POS_CASH_balance", "credit_card_balance"):
        months = tables[name]["MONTHS_BALANCE"]
        assert months.between(-96, -1).all(), name
        assert not tables[name].duplicated(["SK_ID_PREV", "MONTHS_BALANCE"]).any(), name
    bb = tables["bureau_balance"]
    assert bb["MONTHS_BALANCE"].between(-96, 0).all()
    assert not bb.duplicated(["SK_ID_BUREAU", "MONTHS_BALANCE"]).any()


def test_application_relations(small_dataset: SyntheticDataset) -> None:
    app = small_dataset.tables["application_train"]
    employed = app["DAYS_EMPLOYED"] != SENTINEL_DAYS
    assert (app.loc[employed, "DAYS_EMPLOYED"] > app.loc[employed, "DAYS_BIRTH"]).all()
    assert (app.loc[employed, "DAYS_EMPLOYED"] < 0).all()
    age = -app["DAYS_BIRTH"] / 365.25
    assert age.between(20, 70).all()
    goods_ratio = (app["AMT_GOODS_PRICE"] / app["AMT_CREDIT"]).dropna()
    assert goods_ratio.between(0.5, 1.0).all()
    assert goods_ratio.median() > 0.85
    cash = app["NAME_CONTRACT_TYPE"] == "Cash loans"
    term = (app["AMT_CREDIT"] / app["AMT_ANNUITY"])[cash].dropna()
    assert term.between(7, 50).all()
    revolving = app.loc[~cash]
    assert np.allclose(
        revolving["AMT_ANNUITY"].dropna(),
        (revolving["AMT_CREDIT"] * 0.05).loc[revolving["AMT_ANNUITY"].notna()],
        atol=0.5,
    )
    assert (app["CNT_FAM_MEMBERS"].dropna() >= app["CNT_CHILDREN"][app["CNT_FAM_MEMBERS"].notna()] + 1).all()
    own_car = app["FLAG_OWN_CAR"] == "Y"
    assert app.loc[~own_car, "OWN_CAR_AGE"].isna().all()
    for column in ("EXT_SOURCE_1", "EXT_SOURCE_2", "EXT_SOURCE_3"):
        assert app[column].dropna().between(0, 1).all()


def test_history_relations(small_dataset: SyntheticDataset) -> None:
    tables = small_dataset.tables
    bureau = tables["bureau"]
    closed = bureau["CREDIT_ACTIVE"] == "Closed"
    assert bureau.loc[closed, "DAYS_ENDDATE_FACT"].notna().all()
    assert (bureau["DAYS_ENDDATE_FACT"].dropna() <= 0).all()
    assert (
        bureau["DAYS_ENDDATE_FACT"].dropna() >= bureau.loc[bureau["DAYS_ENDDATE_FACT"].notna(), "DAYS_CREDIT"]
    ).all()
    overdue = bureau["CREDIT_DAY_OVERDUE"] > 0
    assert (bureau.loc[overdue, "AMT_CREDIT_SUM_OVERDUE"] > 0).all()
    assert (bureau.loc[overdue, "CREDIT_ACTIVE"] == "Active").all()
    instalments = tables["installments_payments"]
    assert (instalments["DAYS_INSTALMENT"] <= -1).all()
    assert (instalments["DAYS_ENTRY_PAYMENT"].dropna() <= -1).all()
    assert (instalments["DAYS_ENTRY_PAYMENT"].isna() == instalments["AMT_PAYMENT"].isna()).all()
    cards = tables["credit_card_balance"]
    assert (cards["AMT_BALANCE"] <= cards["AMT_CREDIT_LIMIT_ACTUAL"] * 1.2 + 1e-6).all()
    assert ((cards["AMT_BALANCE"] == 0) | (cards["AMT_CREDIT_LIMIT_ACTUAL"] > 0)).all()
    previous = tables["previous_application"]
    canceled = previous["NAME_CONTRACT_STATUS"] == "Canceled"
    assert (previous.loc[canceled, "AMT_CREDIT"] == 0).all()
    assert previous.loc[canceled, "AMT_ANNUITY"].isna().all()
    refused = previous["NAME_CONTRACT_STATUS"] == "Refused"
    assert (previous.loc[refused, "CODE_REJECT_REASON"] != "XAP").all()
    assert (
        previous.loc[~refused & ~(previous["NAME_CONTRACT_STATUS"] == "Unused offer"), "CODE_REJECT_REASON"]
        == "XAP"
    ).all()
