"""Row ratios, missing rates and category frequencies close to Kaggle's."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from service.applicant.schema import TABLES
from training.synthetic import SyntheticDataset

# rows per application_train applicant in Kaggle (child rows cover train and test applicants)
KAGGLE_ROWS_PER_APPLICANT = {
    "bureau": 1_716_428 / 307_511,
    "bureau_balance": 27_299_925 / 307_511,
    "previous_application": 1_670_214 / 307_511,
    "POS_CASH_balance": 10_001_358 / 307_511,
    "installments_payments": 13_605_401 / 307_511,
    "credit_card_balance": 3_840_312 / 307_511,
}
TOLERANCE = 0.12


def test_row_ratios_close_to_kaggle(small_dataset: SyntheticDataset) -> None:
    n = small_dataset.n_applicants
    for name, expected in KAGGLE_ROWS_PER_APPLICANT.items():
        ratio = len(small_dataset.tables[name]) / n
        assert ratio == pytest.approx(expected, rel=TOLERANCE), (name, ratio, expected)
    bureau = small_dataset.tables["bureau"]
    applicants = len(small_dataset.tables["application_train"]) + len(
        small_dataset.tables["application_test"]
    )
    share_without_bureau = 1 - bureau["SK_ID_CURR"].nunique() / applicants
    assert 0.08 < share_without_bureau < 0.22
    per_credit = len(small_dataset.tables["bureau_balance"]) / len(bureau)
    assert per_credit == pytest.approx(15.9, rel=TOLERANCE)


def test_missing_rates(small_dataset: SyntheticDataset) -> None:
    app = small_dataset.tables["application_train"]
    expected = {
        "EXT_SOURCE_1": 0.564,
        "EXT_SOURCE_2": 0.002,
        "EXT_SOURCE_3": 0.198,
        "OCCUPATION_TYPE": 0.314,
        "OWN_CAR_AGE": 0.66,
        "APARTMENTS_AVG": 0.508,
        "COMMONAREA_MODE": 0.699,
        "AMT_REQ_CREDIT_BUREAU_YEAR": 0.135,
    }
    for column, rate in expected.items():
        assert app[column].isna().mean() == pytest.approx(rate, abs=0.035), column


def test_base_rate_and_category_shares(small_dataset: SyntheticDataset) -> None:
    app = small_dataset.tables["application_train"]
    assert 0.065 < app["TARGET"].mean() < 0.10
    assert (app["NAME_CONTRACT_TYPE"] == "Revolving loans").mean() == pytest.approx(0.095, abs=0.02)
    assert (app["CODE_GENDER"] == "F").mean() == pytest.approx(0.658, abs=0.03)
    status = small_dataset.tables["previous_application"]["NAME_CONTRACT_STATUS"].value_counts(normalize=True)
    assert status["Approved"] == pytest.approx(0.62, abs=0.04)
    assert status["Refused"] == pytest.approx(0.174, abs=0.04)


def _total_variation(real: pd.Series, generated: pd.Series) -> float:
    a = real.fillna("<missing>").value_counts(normalize=True)
    b = generated.astype(object).fillna("<missing>").value_counts(normalize=True)
    return 0.5 * a.subtract(b, fill_value=0).abs().sum()


@pytest.mark.parametrize(
    ("table", "sample"),
    [
        ("application_train", "application_train_random5000/application_train.csv"),
        ("bureau", "child_tables_random20000/bureau.csv"),
        ("bureau_balance", "child_tables_random20000/bureau_balance.csv"),
        ("POS_CASH_balance", "child_tables_random20000/POS_CASH_balance.csv"),
        ("credit_card_balance", "child_tables_random20000/credit_card_balance.csv"),
    ],
)
def test_marginals_like_the_real_samples(
    small_dataset: SyntheticDataset, homecredit_sample: Path, table: str, sample: str
) -> None:
    real = pd.read_csv(homecredit_sample / sample)
    generated = small_dataset.tables[table]
    for spec in TABLES[table].columns:
        if spec.name.startswith("SK_ID"):
            continue
        if spec.kind == "str":
            assert _total_variation(real[spec.name], generated[spec.name]) < 0.12, spec.name
        else:
            real_values, values = real[spec.name], generated[spec.name]
            assert values.isna().mean() == pytest.approx(real_values.isna().mean(), abs=0.05), spec.name
            spread = real_values.quantile(0.9) - real_values.quantile(0.1)
            if spread > 0:
                gap = abs(values.median() - real_values.median()) / spread
                assert gap < 0.5, (spec.name, values.median(), real_values.median())
