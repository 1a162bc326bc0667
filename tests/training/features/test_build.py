"""build_features as a whole: fixed columns, one applicant alone, absent tables, ordering, dtypes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from service.applicant.naming import FEATURE_NAME_PATTERN
from tests.training.features import tiny
from training.features import build_features, feature_catalog, feature_domain, feature_names

CHILD_TABLES = (
    "bureau",
    "bureau_balance",
    "previous_application",
    "POS_CASH_balance",
    "installments_payments",
    "credit_card_balance",
)


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    return build_features(tiny.all_tables())


def _tables_of(applicant: int) -> dict[str, pd.DataFrame]:
    """Only the rows that concern one applicant, as a scoring request would send them."""
    tables = tiny.all_tables()
    own = {name: df[df["SK_ID_CURR"] == applicant] for name, df in tables.items() if name != "bureau_balance"}
    own["bureau_balance"] = tables["bureau_balance"][
        tables["bureau_balance"]["SK_ID_BUREAU"].isin(own["bureau"]["SK_ID_BUREAU"])
    ]
    return own


def test_columns_are_the_catalog(features: pd.DataFrame) -> None:
    assert list(features.columns) == feature_names()
    assert len(set(feature_names())) == len(feature_names())
    assert 300 <= len(feature_names()) <= 800
    assert all(FEATURE_NAME_PATTERN.match(name) for name in feature_names())


def test_dtypes_follow_the_kind(features: pd.DataFrame) -> None:
    for spec in feature_catalog():
        expected = np.float64 if spec.kind == "value" else np.int64
        assert features[spec.name].dtype == expected, spec.name


@pytest.mark.parametrize("applicant", tiny.APPLICANTS)
def test_one_applicant_alone_equals_its_row_in_the_whole_set(features: pd.DataFrame, applicant: int) -> None:
    alone = build_features(_tables_of(applicant))
    pd.testing.assert_frame_equal(alone, features.loc[[applicant]], check_exact=True)


def test_one_applicant_among_all_child_rows(features: pd.DataFrame) -> None:
    tables = tiny.all_tables()
    tables["application"] = tables["application"].iloc[[1]]
    pd.testing.assert_frame_equal(build_features(tables), features.loc[[102]], check_exact=True)


def test_absent_and_empty_child_tables(features: pd.DataFrame) -> None:
    absent = build_features({"application": tiny.application()})
    empty_tables = {name: df.iloc[0:0] for name, df in tiny.all_tables().items() if name != "application"}
    empty = build_features({"application": tiny.application(), **empty_tables})
    pd.testing.assert_frame_equal(absent, empty)
    assert list(absent.columns) == list(features.columns)
    for spec in feature_catalog():
        if spec.table == "application":
            continue
        if spec.kind == "value":
            assert absent[spec.name].isna().all(), spec.name
        else:
            assert (absent[spec.name] == 0).all(), spec.name
    application_columns = [s.name for s in feature_catalog() if s.table == "application"]
    pd.testing.assert_frame_equal(absent[application_columns], features[application_columns])


def test_output_follows_application_row_order(features: pd.DataFrame) -> None:
    tables = tiny.all_tables()
    tables["application"] = tables["application"].iloc[::-1].reset_index(drop=True)
    reversed_features = build_features(tables)
    assert reversed_features.index.tolist() == list(tiny.APPLICANTS[::-1])
    pd.testing.assert_frame_equal(reversed_features, features.loc[list(tiny.APPLICANTS[::-1])])


def test_child_rows_in_any_order_give_the_same_features(features: pd.DataFrame) -> None:
    shuffled = {
        name: df.sample(frac=1.0, random_state=3) if name != "application" else df
        for name, df in tiny.all_tables().items()
    }
    pd.testing.assert_frame_equal(build_features(shuffled), features)


def test_repeated_applicant_ids_are_refused() -> None:
    app = pd.concat([tiny.application(), tiny.application().iloc[[0]]], ignore_index=True)
    with pytest.raises(ValueError, match="SK_ID_CURR"):
        build_features({"application": app})


def test_missing_application_table_is_refused() -> None:
    with pytest.raises(KeyError, match="application"):
        build_features({"bureau": tiny.bureau()})


def test_no_applicants_gives_no_rows_but_all_columns() -> None:
    tables = tiny.all_tables()
    tables["application"] = tables["application"].iloc[0:0]
    out = build_features(tables)
    assert out.shape == (0, len(feature_names()))
    assert list(out.columns) == feature_names()


def test_values_stay_inside_their_domains(features: pd.DataFrame) -> None:
    for name in features.columns:
        low, high = feature_domain(name)
        values = features[name].dropna()
        if low is not None:
            assert (values >= low).all(), name
        if high is not None:
            assert (values <= high).all(), name


def test_signals_of_the_synthetic_target_are_plain_columns() -> None:
    names = set(feature_names())
    for name in (
        "EXT_SOURCE_1",
        "EXT_SOURCE_2",
        "EXT_SOURCE_3",
        "DAYS_BIRTH",
        "DAYS_EMPLOYED",
        "APP_CREDIT_INCOME_RATIO",
        "APP_ANNUITY_INCOME_RATIO",
        "APP_EMPLOYED_AGE_RATIO",
        "BURO_AMT_CREDIT_SUM_OVERDUE_SUM",
        "BURO_CREDIT_DAY_OVERDUE_MAX",
        "INST_LATE_SHARE",
        "INST_UNDERPAYMENT_MEAN",
        "CC_UTILISATION_MEAN",
        "POS_SK_DPD_MAX",
        "POS_SK_DPD_MEAN",
        "PREV_NAME_CONTRACT_STATUS_REFUSED_SHARE",
    ):
        assert name in names
