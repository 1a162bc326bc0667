"""Applicant-table features against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tests.training.features import tiny
from training.features import build_features, feature_names


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    return build_features({"application": tiny.application()})


def test_index_is_applicant_ids_in_row_order(features: pd.DataFrame) -> None:
    assert features.index.name == "SK_ID_CURR"
    assert features.index.tolist() == list(tiny.APPLICANTS)


def test_target_and_id_are_never_features(features: pd.DataFrame) -> None:
    assert "TARGET" not in features.columns
    assert "SK_ID_CURR" not in features.columns
    assert not any("TARGET" in name for name in feature_names())


def test_numeric_columns_kept_as_they_are(features: pd.DataFrame) -> None:
    assert features["AMT_CREDIT"].tolist() == [200_000.0, 300_000.0, 0.0]
    assert features["DAYS_BIRTH"].tolist() == [-10_000.0, -20_000.0, -15_000.0]
    # a schema column absent from the input is all missing, not dropped
    assert features["OWN_CAR_AGE"].isna().all()


def test_domain_ratios(features: pd.DataFrame) -> None:
    row = features.loc[101]
    assert row["APP_CREDIT_INCOME_RATIO"] == pytest.approx(2.0)
    assert row["APP_ANNUITY_INCOME_RATIO"] == pytest.approx(0.1)
    assert row["APP_CREDIT_TERM"] == pytest.approx(20.0)
    assert row["APP_GOODS_CREDIT_RATIO"] == pytest.approx(0.9)
    assert row["APP_EMPLOYED_AGE_RATIO"] == pytest.approx(0.2)
    assert row["APP_INCOME_PER_FAMILY_MEMBER"] == pytest.approx(50_000.0)


def test_ratio_guards_give_nan_not_inf(features: pd.DataFrame) -> None:
    r102, r103 = features.loc[102], features.loc[103]
    assert math.isnan(r102["APP_CREDIT_INCOME_RATIO"])  # income 0
    assert math.isnan(r102["APP_EMPLOYED_AGE_RATIO"])  # employment unknown
    assert r102["APP_INCOME_PER_FAMILY_MEMBER"] == 0.0
    assert r103["APP_CREDIT_INCOME_RATIO"] == 0.0  # credit 0 over a positive income
    assert math.isnan(r103["APP_GOODS_CREDIT_RATIO"])  # credit 0
    assert math.isnan(r103["APP_CREDIT_TERM"])  # annuity missing
    assert math.isnan(r103["APP_INCOME_PER_FAMILY_MEMBER"])  # family size 0
    assert r103["APP_EMPLOYED_AGE_RATIO"] == 0.0
    assert not np.isinf(features.select_dtypes("float").to_numpy()).any()


def test_ext_source_combinations(features: pd.DataFrame) -> None:
    r101, r102, r103 = (features.loc[i] for i in tiny.APPLICANTS)
    assert r101["APP_EXT_SOURCES_MEAN"] == pytest.approx(0.4)
    assert r101["APP_EXT_SOURCES_MIN"] == pytest.approx(0.2)
    assert r101["APP_EXT_SOURCES_MAX"] == pytest.approx(0.6)
    assert r101["APP_EXT_SOURCES_STD"] == pytest.approx(math.sqrt(0.08 / 3))
    assert r101["APP_EXT_SOURCES_PROD"] == pytest.approx(0.048)
    assert r101["APP_EXT_SOURCES_WEIGHTED"] == pytest.approx((0.2 + 0.8 + 1.8) / 6)
    assert r101["APP_EXT_SOURCES_MISSING_COUNT"] == 0
    # one score missing: statistics of the two present, product unknown
    assert r102["APP_EXT_SOURCES_MEAN"] == pytest.approx(0.7)
    assert r102["APP_EXT_SOURCES_STD"] == pytest.approx(0.2)
    assert math.isnan(r102["APP_EXT_SOURCES_PROD"])
    assert r102["APP_EXT_SOURCES_WEIGHTED"] == pytest.approx((2 * 0.5 + 3 * 0.9) / 5)
    assert r102["APP_EXT_SOURCES_MISSING_COUNT"] == 1
    assert np.isnan(r103[["APP_EXT_SOURCES_MEAN", "APP_EXT_SOURCES_MIN", "APP_EXT_SOURCES_MAX"]]).all()
    assert r103["APP_EXT_SOURCES_MISSING_COUNT"] == 3


def test_yes_no_flags_and_one_hot(features: pd.DataFrame) -> None:
    assert features["FLAG_OWN_CAR"].tolist()[:2] == [1.0, 0.0]
    assert math.isnan(features.loc[103, "FLAG_OWN_CAR"])
    assert features["NAME_CONTRACT_TYPE_CASH_LOANS"].tolist() == [1, 0, 0]
    assert features["NAME_CONTRACT_TYPE_REVOLVING_LOANS"].tolist() == [0, 1, 0]
    assert features["NAME_EDUCATION_TYPE_HIGHER_EDUCATION"].tolist() == [1, 0, 0]
    assert features["NAME_EDUCATION_TYPE_SECONDARY_SECONDARY_SPECIAL"].tolist() == [0, 1, 0]
    # every schema label has its column even when no applicant has it
    assert features["ORGANIZATION_TYPE_TRADE_TYPE_7"].tolist() == [0, 0, 0]
    assert features["NAME_CONTRACT_TYPE_CASH_LOANS"].dtype == np.int64


def test_unknown_label_adds_no_column() -> None:
    app = tiny.application()
    app["CODE_GENDER"] = pd.Categorical(["F", "M", "Robot"])
    app["NAME_EDUCATION_TYPE"] = app["NAME_EDUCATION_TYPE"].cat.add_categories(["PhD in everything"])
    app.loc[2, "NAME_EDUCATION_TYPE"] = "PhD in everything"
    features = build_features({"application": app})
    assert list(features.columns) == feature_names()
    assert features.loc[103, ["CODE_GENDER_F", "CODE_GENDER_M"]].tolist() == [0, 0]
    assert features.filter(like="NAME_EDUCATION_TYPE_").loc[103].sum() == 0


def test_object_text_columns_match_category_columns(features: pd.DataFrame) -> None:
    app = tiny.application()
    for column in app.select_dtypes("category").columns:
        app[column] = app[column].astype(object)
    pd.testing.assert_frame_equal(build_features({"application": app}), features)
