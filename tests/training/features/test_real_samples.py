"""build_features on the real Home Credit samples in ../shared (skipped where they are absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from training.features import build_features, feature_domain, feature_names
from training.loader import load_tables

CHILD_TABLES = (
    "bureau",
    "bureau_balance",
    "POS_CASH_balance",
    "installments_payments",
    "credit_card_balance",
)


@pytest.fixture(scope="module")
def first_rows(homecredit_sample: Path) -> dict[str, pd.DataFrame]:
    return load_tables(homecredit_sample)


def _check_domains(features: pd.DataFrame) -> None:
    for name in features.columns:
        low, high = feature_domain(name)
        values = features[name].dropna()
        if low is not None:
            assert (values >= low).all(), (name, values.min())
        if high is not None:
            assert (values <= high).all(), (name, values.max())


@pytest.mark.parametrize("application", ["application_train", "application_test"])
def test_one_row_per_application_row(first_rows: dict[str, pd.DataFrame], application: str) -> None:
    tables = {k: v for k, v in first_rows.items() if not k.startswith("application")}
    tables["application"] = first_rows[application]
    features = build_features(tables)
    assert list(features.columns) == feature_names()
    assert features.index.tolist() == first_rows[application]["SK_ID_CURR"].tolist()
    assert not np.isinf(features.to_numpy(dtype=np.float64)).any()
    _check_domains(features)


def test_random_samples_linked_to_applicants(homecredit_sample: Path) -> None:
    """The random child rows do not belong to the sampled applicants, so give their ids to real rows."""
    children = load_tables(homecredit_sample / "child_tables_random20000", CHILD_TABLES)
    application = load_tables(homecredit_sample / "application_train_random5000", ["application_train"])[
        "application_train"
    ]
    linked_ids = pd.unique(
        pd.concat(
            [children[t]["SK_ID_CURR"] for t in CHILD_TABLES if t != "bureau_balance"], ignore_index=True
        )
    )[: len(application)]
    application = application.iloc[: len(linked_ids)].assign(SK_ID_CURR=linked_ids)
    features = build_features({"application": application, **children})
    assert len(features) == len(application)
    assert features["BURO_COUNT"].sum() == children["bureau"]["SK_ID_CURR"].isin(linked_ids).sum()
    installments = children["installments_payments"]
    assert features["INST_COUNT"].sum() == installments["SK_ID_CURR"].isin(linked_ids).sum() > 0
    assert features["CC_UTILISATION_MEAN"].notna().any()
    assert features["INST_LATE_SHARE"].between(0, 1).any()
    _check_domains(features)
