"""Protected attributes: which features read them, and that no other feature moves when they change."""

from __future__ import annotations

from pathlib import Path

import msgspec
import numpy as np
import orjson
import pytest

from service.applicant.definitions import FEATURES, feature_names
from service.applicant.document import applicant_type
from service.applicant.evaluate import FeatureRow
from service.applicant.protected import (
    ALWAYS_PROTECTED,
    OPTIONAL_PROTECTED,
    columns_read,
    features_reading,
    protected_list,
)
from service.applicant.schema import TABLES
from training.documents import tables_to_documents
from training.loader import read_table, table_path
from training.synthetic import generate

EVERY_PROTECTED = (*ALWAYS_PROTECTED, *OPTIONAL_PROTECTED)
FAMILY_STATUSES = TABLES["application_train"].column("NAME_FAMILY_STATUS").categories


def test_the_features_that_read_each_protected_attribute() -> None:
    reading = features_reading(feature_names(), EVERY_PROTECTED)
    assert reading["CODE_GENDER_M"] == reading["CODE_GENDER_F"] == ["CODE_GENDER"]
    assert reading["APP_INCOME_PER_FAMILY_MEMBER"] == ["CNT_FAM_MEMBERS"]  # combined with income: still read
    assert reading["CNT_CHILDREN"] == ["CNT_CHILDREN"]
    assert {name for name in reading if name.startswith("NAME_FAMILY_STATUS_")} == {
        f.name for f in FEATURES if f.name.startswith("NAME_FAMILY_STATUS_")
    }
    assert all(f.table == "application" for f in FEATURES if f.name in reading)
    assert features_reading(feature_names(), ALWAYS_PROTECTED).keys() == {"CODE_GENDER_M", "CODE_GENDER_F"}


def test_columns_read_follow_history_tables_and_monthly_statuses() -> None:
    assert columns_read("APP_CREDIT_INCOME_RATIO") == {
        ("application", "AMT_CREDIT"),
        ("application", "AMT_INCOME_TOTAL"),
    }
    monthly = set().union(*(columns_read(f.name) for f in FEATURES if f.name.startswith("BB_")))
    assert ("bureau_balance", "STATUS") in monthly and ("bureau_balance", "MONTHS_BALANCE") in monthly
    assert all(table in ("bureau", "bureau_balance") for table, _ in monthly)
    with pytest.raises(KeyError):
        columns_read("NOT_A_FEATURE")


def test_a_column_given_as_it_is_reads_itself() -> None:
    assert features_reading(["CODE_GENDER", "AMT_X"], ALWAYS_PROTECTED) == {"CODE_GENDER": ["CODE_GENDER"]}


def test_the_protected_list_always_holds_sex_and_only_application_columns() -> None:
    assert protected_list() == ["CODE_GENDER"]
    assert protected_list(["CNT_CHILDREN"], ("CODE_GENDER",)) == ["CNT_CHILDREN", "CODE_GENDER"]
    with pytest.raises(ValueError, match="AMT_CREDIT_SUM"):
        protected_list(["AMT_CREDIT_SUM"])  # a bureau column


def with_other_protected_values(document: dict, turn: int) -> dict:
    """The same applicant with every protected attribute changed (``turn`` picks among the values)."""
    changed = dict(document)
    changed["CODE_GENDER"] = ("F", "M", "XNA", None)[(turn + (document.get("CODE_GENDER") == "F")) % 4]
    statuses = [*FAMILY_STATUSES, None]
    changed["NAME_FAMILY_STATUS"] = statuses[(turn + 1) % len(statuses)]
    changed["CNT_CHILDREN"] = (document.get("CNT_CHILDREN") or 0) + 1 + turn % 3
    changed["CNT_FAM_MEMBERS"] = (document.get("CNT_FAM_MEMBERS") or 1) + 1 + turn % 3
    return changed


def _features(documents: list[dict], row: FeatureRow) -> np.ndarray:
    decoder = msgspec.json.Decoder(applicant_type())
    return np.array([row.values(decoder.decode(orjson.dumps(d))) for d in documents], dtype=np.float64)


def _assert_only_readers_move(documents: list[dict]) -> None:
    reading = features_reading(feature_names(), EVERY_PROTECTED)
    clean = FeatureRow([name for name in feature_names() if name not in reading])
    readers = FeatureRow(sorted(reading))
    changed = [with_other_protected_values(d, i) for i, d in enumerate(documents)]
    np.testing.assert_array_equal(_features(documents, clean), _features(changed, clean))
    moved = ~np.isclose(_features(documents, readers), _features(changed, readers), equal_nan=True)
    assert moved.any(axis=0).all(), "every feature said to read a protected attribute moves for someone"


def test_changing_only_protected_attributes_moves_no_other_feature_of_5000_generated_applicants() -> None:
    documents = tables_to_documents(generate(5_000, seed=61, test_share=0.0).tables, keep_ids=False)
    _assert_only_readers_move(documents)


def test_changing_only_protected_attributes_moves_no_other_feature_of_the_real_samples(
    homecredit_sample: Path,
) -> None:
    names = ("application_train", "bureau", "bureau_balance", "previous_application", "POS_CASH_balance",
             "installments_payments", "credit_card_balance")  # fmt: skip
    raw = {
        name: read_table(table_path(homecredit_sample, name), name)
        for name in names
        if table_path(homecredit_sample, name).is_file()
    }
    documents = tables_to_documents(raw)
    assert len(documents) > 100
    _assert_only_readers_move(documents)
