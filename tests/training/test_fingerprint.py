"""Training-data fingerprint."""

from __future__ import annotations

import pandas as pd

from training.fingerprint import fingerprint_tables, library_versions


def _tables() -> dict[str, pd.DataFrame]:
    return {
        "application_train": pd.DataFrame({"SK_ID_CURR": [1, 2], "CODE_GENDER": ["F", "M"]}),
        "bureau": pd.DataFrame({"SK_ID_CURR": [1], "AMT_CREDIT_SUM": [10.0]}),
    }


def test_same_data_same_fingerprint_whatever_text_dtype() -> None:
    tables = _tables()
    as_category = {k: v.copy() for k, v in tables.items()}
    as_category["application_train"]["CODE_GENDER"] = as_category["application_train"]["CODE_GENDER"].astype(
        "category"
    )
    assert fingerprint_tables(tables) == fingerprint_tables(as_category)
    assert len(fingerprint_tables(tables)) == 64


def test_any_change_changes_the_fingerprint() -> None:
    base = fingerprint_tables(_tables())
    changed_value = _tables()
    changed_value["bureau"].loc[0, "AMT_CREDIT_SUM"] = 11.0
    reordered = _tables()
    reordered["application_train"] = reordered["application_train"].iloc[::-1]
    renamed = _tables()
    renamed["bureau"] = renamed["bureau"].rename(columns={"AMT_CREDIT_SUM": "AMT_X"})
    fingerprints = {fingerprint_tables(t) for t in (changed_value, reordered, renamed)}
    assert base not in fingerprints
    assert len(fingerprints) == 3


def test_library_versions_name_the_model_libraries() -> None:
    versions = library_versions()
    assert {"lightgbm", "pandas", "python"} <= set(versions)
