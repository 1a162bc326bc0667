"""The embedded Kaggle schema: table shapes, kinds, labels, and agreement with the real samples."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from service.applicant.schema import (
    CHILD_TABLES,
    MISSING_LABEL,
    REQUIRED_TABLES,
    SENTINEL_DAYS,
    SENTINEL_DAYS_COLUMNS,
    TABLES,
    ColumnSpec,
)

# columns and (int, float, str) counts of the full Kaggle files as pandas reads them
KAGGLE_SHAPES = {
    "application_train": (122, 41, 65, 16),
    "application_test": (121, 40, 65, 16),
    "bureau": (17, 6, 8, 3),
    "bureau_balance": (3, 2, 0, 1),
    "previous_application": (37, 6, 15, 16),
    "POS_CASH_balance": (8, 5, 2, 1),
    "installments_payments": (8, 3, 5, 0),
    "credit_card_balance": (23, 7, 15, 1),
}
PANDAS_KIND = {"int64": "int", "float64": "float", "object": "str"}
# the larger random samples beside the 199-row heads
EXTRA_SAMPLES = {
    "application_train": "application_train_random5000/application_train.csv",
    "bureau": "child_tables_random20000/bureau.csv",
    "bureau_balance": "child_tables_random20000/bureau_balance.csv",
    "POS_CASH_balance": "child_tables_random20000/POS_CASH_balance.csv",
    "installments_payments": "child_tables_random20000/installments_payments.csv",
    "credit_card_balance": "child_tables_random20000/credit_card_balance.csv",
}


def test_eight_tables_with_kaggle_shapes() -> None:
    assert list(TABLES) == list(KAGGLE_SHAPES)
    for name, (n_columns, n_int, n_float, n_str) in KAGGLE_SHAPES.items():
        schema = TABLES[name]
        assert schema.name == name
        assert schema.file_name == f"{name}.csv"
        assert len(schema.column_names) == n_columns == len(set(schema.column_names))
        counts = [sum(c.kind == kind for c in schema.columns) for kind in ("int", "float", "str")]
        assert counts == [n_int, n_float, n_str], name


def test_columns_that_look_int_but_are_float_in_kaggle() -> None:
    app = TABLES["application_train"]
    for column in (
        "CNT_FAM_MEMBERS",
        "AMT_ANNUITY",
        "OWN_CAR_AGE",
        "OBS_30_CNT_SOCIAL_CIRCLE",
        "DEF_60_CNT_SOCIAL_CIRCLE",
        "AMT_REQ_CREDIT_BUREAU_YEAR",
        "DAYS_REGISTRATION",
    ):
        assert app.column(column).kind == "float", column
    assert app.column("DAYS_EMPLOYED").kind == "int"
    assert TABLES["installments_payments"].column("NUM_INSTALMENT_VERSION").kind == "float"
    assert TABLES["credit_card_balance"].column("AMT_CREDIT_LIMIT_ACTUAL").kind == "int"


def test_application_test_is_train_without_target() -> None:
    train, test = TABLES["application_train"], TABLES["application_test"]
    assert train.column_names[:2] == ["SK_ID_CURR", "TARGET"]
    assert test.column_names == [c for c in train.column_names if c != "TARGET"]


def test_labels_exclude_xna_and_keep_xap() -> None:
    for schema in TABLES.values():
        for spec in schema.columns:
            assert MISSING_LABEL not in spec.categories
            assert bool(spec.categories) == (spec.kind == "str"), (schema.name, spec.name)
            assert len(set(spec.categories)) == len(spec.categories)
            assert spec.description
    previous = TABLES["previous_application"]
    assert "XAP" in previous.column("NAME_CASH_LOAN_PURPOSE").categories
    assert "XAP" in previous.column("CODE_REJECT_REASON").categories
    assert "Maternity leave" in TABLES["application_train"].column("NAME_INCOME_TYPE").categories
    assert len(TABLES["application_train"].column("ORGANIZATION_TYPE").categories) == 57


def test_column_lookup() -> None:
    bureau = TABLES["bureau"]
    assert bureau.column("CREDIT_TYPE") == ColumnSpec(
        "CREDIT_TYPE",
        "str",
        bureau.column("CREDIT_TYPE").categories,
        bureau.column("CREDIT_TYPE").description,
    )
    assert "CREDIT_TYPE" in bureau
    with pytest.raises(KeyError, match=r"bureau\.csv has no column 'NOPE'"):
        bureau.column("NOPE")


def test_table_groups_and_sentinel_columns() -> None:
    assert SENTINEL_DAYS == 365243
    assert set(CHILD_TABLES) == set(TABLES) - {"application_train", "application_test"}
    assert REQUIRED_TABLES[0] == "application_train"
    assert REQUIRED_TABLES[1:] == CHILD_TABLES
    assert "DAYS_EMPLOYED" in SENTINEL_DAYS_COLUMNS["application_train"]
    assert set(SENTINEL_DAYS_COLUMNS["previous_application"]) >= {
        "DAYS_FIRST_DRAWING",
        "DAYS_FIRST_DUE",
        "DAYS_LAST_DUE_1ST_VERSION",
        "DAYS_LAST_DUE",
        "DAYS_TERMINATION",
    }


def test_header_and_kinds_match_the_real_samples(homecredit_sample: Path) -> None:
    for name, schema in TABLES.items():
        real = pd.read_csv(homecredit_sample / schema.file_name)
        assert list(real.columns) == schema.column_names, name
        kinds = {column: PANDAS_KIND[str(dtype)] for column, dtype in real.dtypes.items()}
        assert kinds == {c.name: c.kind for c in schema.columns}, name


def test_every_real_label_is_known(homecredit_sample: Path) -> None:
    for name, schema in TABLES.items():
        files = [homecredit_sample / schema.file_name]
        if name in EXTRA_SAMPLES:
            files.append(homecredit_sample / EXTRA_SAMPLES[name])
        for path in files:
            real = pd.read_csv(path, dtype=str)
            for column in [c.name for c in schema.columns if c.kind == "str"]:
                seen = set(real[column].dropna()) - {MISSING_LABEL}
                unknown = seen - set(schema.column(column).categories)
                assert not unknown, (path.name, column, unknown)
