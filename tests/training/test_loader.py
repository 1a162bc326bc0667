"""The CSV loader: real samples, Kaggle quirks, and the error messages on broken files."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from service.applicant.schema import SENTINEL_DAYS, TABLES
from training.loader import SchemaError, clean_table, load_tables, read_table, validate_table


def _write(df: pd.DataFrame, path: Path) -> Path:
    df.to_csv(path, index=False)
    return path


def _tiny_bureau() -> pd.DataFrame:
    rows = {
        c.name: ([1, 2] if c.kind == "int" else [1.5, np.nan] if c.kind == "float" else ["Active", "Closed"])
        for c in TABLES["bureau"].columns
    }
    rows["CREDIT_CURRENCY"] = ["currency 1", "currency 1"]
    rows["CREDIT_TYPE"] = ["Consumer credit", "Credit card"]
    return pd.DataFrame(rows)


def test_loads_the_real_samples(homecredit_sample: Path) -> None:
    tables = load_tables(homecredit_sample)
    assert set(tables) == set(TABLES)
    for name, df in tables.items():
        assert len(df) == 199, name
        assert list(df.columns) == TABLES[name].column_names
        for spec in TABLES[name].columns:
            dtype = df[spec.name].dtype
            if spec.kind == "str":
                assert isinstance(dtype, pd.CategoricalDtype), (name, spec.name)
                assert "XNA" not in dtype.categories
                assert list(dtype.categories[: len(spec.categories)]) == list(spec.categories)
            else:
                assert dtype in (np.int64, np.float64), (name, spec.name, dtype)
            if spec.name.startswith("DAYS_") and spec.kind != "str":
                assert not (df[spec.name] == SENTINEL_DAYS).any(), (name, spec.name)


def test_real_sample_quirks_become_missing(homecredit_sample: Path) -> None:
    raw = pd.read_csv(homecredit_sample / "application_train.csv")
    app = load_tables(homecredit_sample, ["application_train"])["application_train"]
    pensioners = (raw["DAYS_EMPLOYED"] == SENTINEL_DAYS).to_numpy()
    assert pensioners.any()
    assert app["DAYS_EMPLOYED"].isna().to_numpy().tolist() == pensioners.tolist()
    assert app["DAYS_EMPLOYED"].dtype == np.float64
    assert app["DAYS_BIRTH"].dtype == np.int64
    assert app["ORGANIZATION_TYPE"].isna().sum() == (raw["ORGANIZATION_TYPE"] == "XNA").sum()

    previous = load_tables(homecredit_sample, ["previous_application"])["previous_application"]
    raw_previous = pd.read_csv(homecredit_sample / "previous_application.csv")
    assert (raw_previous["DAYS_FIRST_DRAWING"] == SENTINEL_DAYS).any()
    assert previous["DAYS_FIRST_DRAWING"].max() < 0
    # "XAP" is a category, "XNA" is missing
    purpose = previous["NAME_CASH_LOAN_PURPOSE"]
    assert (purpose == "XAP").sum() == (raw_previous["NAME_CASH_LOAN_PURPOSE"] == "XAP").sum()
    assert purpose.isna().sum() == (raw_previous["NAME_CASH_LOAN_PURPOSE"] == "XNA").sum()


def test_subset_nrows_and_optional_test_table(homecredit_sample: Path, tmp_path: Path) -> None:
    tables = load_tables(homecredit_sample, ["bureau", "bureau_balance"], nrows=10)
    assert list(tables) == ["bureau", "bureau_balance"]
    assert all(len(df) == 10 for df in tables.values())

    for name, schema in TABLES.items():
        if name != "application_test":
            shutil.copy(homecredit_sample / schema.file_name, tmp_path / schema.file_name)
    tables = load_tables(tmp_path)
    assert "application_test" not in tables
    assert len(tables) == 7
    with pytest.raises(FileNotFoundError, match=r"application_test\.csv"):
        load_tables(tmp_path, ["application_test"])


def test_missing_file_names_file_and_directory(tmp_path: Path) -> None:
    _write(_tiny_bureau(), tmp_path / "bureau.csv")
    with pytest.raises(FileNotFoundError) as info:
        load_tables(tmp_path)
    message = str(info.value)
    assert "application_train.csv" in message and str(tmp_path) in message
    assert "bureau.csv," not in message.split("(expected")[0]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_tables(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="unknown table 'bureaux'"):
        load_tables(tmp_path, ["bureaux"])


def test_missing_and_unexpected_columns(tmp_path: Path) -> None:
    df = _tiny_bureau().drop(columns=["AMT_ANNUITY", "CREDIT_TYPE"]).assign(EXTRA=1)
    path = _write(df, tmp_path / "bureau.csv")
    with pytest.raises(SchemaError) as info:
        load_tables(tmp_path, ["bureau"])
    message = str(info.value)
    assert str(path) in message
    assert "missing column(s) CREDIT_TYPE, AMT_ANNUITY" in message
    assert "unexpected column(s) EXTRA" in message
    assert info.value.problems and len(info.value.problems) == 2


def test_columns_in_another_order_are_accepted(tmp_path: Path) -> None:
    df = _tiny_bureau()
    _write(df[df.columns[::-1]], tmp_path / "bureau.csv")
    loaded = load_tables(tmp_path, ["bureau"])["bureau"]
    assert list(loaded.columns) == TABLES["bureau"].column_names
    assert loaded["SK_ID_BUREAU"].tolist() == [1, 2]


def test_text_in_numeric_column(tmp_path: Path) -> None:
    df = _tiny_bureau().astype({"AMT_CREDIT_SUM": object})
    df.loc[1, "AMT_CREDIT_SUM"] = "lots"
    path = _write(df, tmp_path / "bureau.csv")
    with pytest.raises(SchemaError) as info:
        read_table(path, "bureau")
    message = str(info.value)
    assert str(path) in message
    assert "column AMT_CREDIT_SUM: expected numbers (float), found text such as 'lots'" in message

    df = _tiny_bureau().astype({"DAYS_CREDIT": object})
    df.loc[0, "DAYS_CREDIT"] = "yesterday"
    _write(df, path)
    with pytest.raises(SchemaError, match=r"column DAYS_CREDIT: expected whole numbers \(int\), found text"):
        read_table(path, "bureau")


def test_whole_floats_in_int_column_are_read_but_fractions_are_not(tmp_path: Path) -> None:
    df = _tiny_bureau().astype({"DAYS_CREDIT": float})
    path = _write(df, tmp_path / "bureau.csv")
    assert "1.0" in path.read_text()
    assert clean_table("bureau", read_table(path, "bureau"))["DAYS_CREDIT"].dtype == np.int64
    df.loc[0, "DAYS_CREDIT"] = 1.5
    _write(df, path)
    with pytest.raises(
        SchemaError, match=r"DAYS_CREDIT: expected whole numbers .* fractional values such as 1\.5"
    ):
        read_table(path, "bureau")


def test_validate_table_on_frames() -> None:
    df = _tiny_bureau()
    validate_table("bureau", df)
    with pytest.raises(SchemaError, match=r"bureau\.csv: column CREDIT_TYPE: expected text, found int64"):
        validate_table("bureau", df.assign(CREDIT_TYPE=[1, 2]))
    with pytest.raises(SchemaError, match="my bureau: missing column"):
        validate_table("bureau", df.drop(columns="SK_ID_CURR"), source="my bureau")


def test_clean_table_handles_the_quirks_and_is_idempotent() -> None:
    app_columns = TABLES["application_train"].column_names
    df = pd.DataFrame({c: [0, 0, 0] for c in app_columns})
    df["DAYS_EMPLOYED"] = [-100, SENTINEL_DAYS, -5]
    df["CODE_GENDER"] = ["F", "XNA", "M"]
    df["ORGANIZATION_TYPE"] = pd.Categorical(["XNA", "Bank", "Martian colony"])
    df["NAME_TYPE_SUITE"] = [None, None, None]
    df["EXT_SOURCE_1"] = [0.1, 0.2, 0.3]
    clean = clean_table("application_train", df)
    assert clean["DAYS_EMPLOYED"].isna().tolist() == [False, True, False]
    assert clean["DAYS_EMPLOYED"].dtype == np.float64
    assert clean["CNT_CHILDREN"].dtype == np.int64
    assert clean["CODE_GENDER"].isna().tolist() == [False, True, False]
    assert list(clean["CODE_GENDER"].cat.categories) == ["F", "M"]
    organization = clean["ORGANIZATION_TYPE"]
    assert organization.isna().tolist() == [True, False, False]
    assert (
        organization.cat.categories[-1] == "Martian colony"
    )  # unknown labels are kept, after the known ones
    assert clean["NAME_TYPE_SUITE"].isna().all()
    assert isinstance(clean["NAME_TYPE_SUITE"].dtype, pd.CategoricalDtype)
    again = clean_table("application_train", clean)
    pd.testing.assert_frame_equal(again, clean)
    assert df["DAYS_EMPLOYED"].tolist()[1] == SENTINEL_DAYS  # input untouched


def test_clean_table_accepts_a_subset_of_columns() -> None:
    df = pd.DataFrame({"SK_ID_PREV": [1], "DAYS_TERMINATION": [float(SENTINEL_DAYS)], "note": ["kept"]})
    clean = clean_table("previous_application", df)
    assert clean["DAYS_TERMINATION"].isna().all()
    assert clean["note"].tolist() == ["kept"]
