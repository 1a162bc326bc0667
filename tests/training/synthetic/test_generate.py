"""generate(): raw Kaggle form, determinism, sizes, ids."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from service.applicant.schema import SENTINEL_DAYS, TABLES
from tests.training.synthetic.conftest import SMALL
from training.loader import clean_table, validate_table
from training.synthetic import DEFAULT_APPLICANTS, TEST_SHARE, SyntheticDataset, generate, test_rows

PANDAS_KIND = {"int64": "int", "float64": "float", "object": "str", "category": "str"}


def test_default_size() -> None:
    assert DEFAULT_APPLICANTS == 50_000
    assert test_rows(307_511) == 48_734  # Kaggle has 48,744
    assert test_rows(1000, 0.0) == 0
    with pytest.raises(ValueError, match="test_share"):
        test_rows(10, 1.0)


def test_tables_in_raw_kaggle_form(small_dataset: SyntheticDataset) -> None:
    tables = small_dataset.tables
    assert list(tables) == list(TABLES)
    for name, df in tables.items():
        schema = TABLES[name]
        assert list(df.columns) == schema.column_names, name
        kinds = {column: PANDAS_KIND[str(dtype)] for column, dtype in df.dtypes.items()}
        assert kinds == {c.name: c.kind for c in schema.columns}, name
        validate_table(name, df)
        clean_table(name, df)
    train, test = tables["application_train"], tables["application_test"]
    assert len(train) == SMALL == small_dataset.n_applicants
    assert len(test) == test_rows(SMALL, TEST_SHARE)
    assert set(train["TARGET"].unique()) == {0, 1}


def test_same_header_and_kinds_as_the_real_samples(
    small_dataset: SyntheticDataset, homecredit_sample: Path
) -> None:
    for name, schema in TABLES.items():
        real = pd.read_csv(homecredit_sample / schema.file_name, nrows=50)
        generated = small_dataset.tables[name]
        assert list(generated.columns) == list(real.columns), name
        real_kinds = real.dtypes.astype(str).map(PANDAS_KIND)
        assert (generated.dtypes.astype(str).map(PANDAS_KIND) == real_kinds).all(), name


def test_kaggle_quirks_are_present(small_dataset: SyntheticDataset) -> None:
    app = small_dataset.tables["application_train"]
    pensioner = (app["NAME_INCOME_TYPE"] == "Pensioner").to_numpy()
    sentinel = (app["DAYS_EMPLOYED"] == SENTINEL_DAYS).to_numpy()
    assert 0.12 < sentinel.mean() < 0.24
    assert (sentinel >= pensioner).all()  # every pensioner, plus the rare unemployed
    assert ((app["ORGANIZATION_TYPE"] == "XNA").to_numpy() == sentinel).all()
    assert app.loc[sentinel, "OCCUPATION_TYPE"].isna().all()
    previous = small_dataset.tables["previous_application"]
    assert (previous["DAYS_FIRST_DRAWING"] == SENTINEL_DAYS).mean() > 0.4
    assert (previous["DAYS_LAST_DUE"] == SENTINEL_DAYS).any()
    assert (previous["NAME_CASH_LOAN_PURPOSE"] == "XAP").mean() > 0.3
    assert (previous["NAME_CASH_LOAN_PURPOSE"] == "XNA").mean() > 0.2
    assert (previous["NAME_CONTRACT_STATUS"] == "Canceled").sum() > 0


def test_deterministic_for_a_seed() -> None:
    first, second = generate(600, seed=5), generate(600, seed=5)
    for name in TABLES:
        pd.testing.assert_frame_equal(first.tables[name], second.tables[name])
    pd.testing.assert_frame_equal(first.true_probability, second.true_probability)
    other = generate(600, seed=6)
    assert not np.array_equal(
        first.tables["application_train"]["EXT_SOURCE_2"].to_numpy(),
        other.tables["application_train"]["EXT_SOURCE_2"].to_numpy(),
    )


def test_ids_and_true_probability(small_dataset: SyntheticDataset) -> None:
    train, test = small_dataset.tables["application_train"], small_dataset.tables["application_test"]
    ids = np.sort(np.concatenate([train["SK_ID_CURR"], test["SK_ID_CURR"]]))
    assert train["SK_ID_CURR"].iloc[0] == 100_002
    assert np.array_equal(ids, 100_002 + np.arange(len(ids)))  # one id range, train and test interleaved
    truth = small_dataset.true_probability
    assert list(truth.columns) == ["SK_ID_CURR", "TRUE_PROBABILITY"]
    assert truth["SK_ID_CURR"].tolist() == train["SK_ID_CURR"].tolist()
    assert truth["TRUE_PROBABILITY"].between(0, 1).all()


def test_tiny_and_invalid_sizes() -> None:
    tiny = generate(3, seed=0)
    assert len(tiny.tables["application_train"]) == 3
    with pytest.raises(ValueError, match="n_applicants"):
        generate(0)
    with pytest.raises(ValueError, match="unknown scenario 'nope'"):
        generate(10, scenario="nope")
