"""One definition, two evaluators: training's batch build and the service's one-applicant evaluator agree.

For every feature of every applicant: the same missing values, and the same numbers within 1e-9 relative.
Applicants are 20,000 generated ones of each population (the training distribution and every drift
scenario), sent as a lender's systems would send them (raw values: Kaggle's 365243 and XNA kept), and every
real row of the Home Credit samples in ../shared (skipped where absent). The batch side is what training
does: the loader cleans the tables, ``build_features`` evaluates the definitions over them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import msgspec
import numpy as np
import orjson
import pandas as pd
import pytest

from service.applicant.document import applicant_type, check_document
from service.applicant.evaluate import FeatureRow
from training.documents import tables_to_documents
from training.features import build_features, feature_names
from training.loader import clean_table, load_tables, read_table, table_path
from training.synthetic import SCENARIOS, generate

GENERATED_APPLICANTS = 20_000
RELATIVE_TOLERANCE = 1e-9
HISTORY = (
    "bureau",
    "previous_application",
    "POS_CASH_balance",
    "installments_payments",
    "credit_card_balance",
)


@pytest.fixture(scope="module")
def all_features() -> FeatureRow:
    """Every defined feature, compiled once."""
    return FeatureRow(feature_names())


def one_by_one(documents: list[dict], row: FeatureRow) -> np.ndarray:
    """Each document's features through the service's path: JSON, typed decoding, checks, evaluator."""
    decoder = msgspec.json.Decoder(applicant_type())
    out = np.empty((len(documents), len(row.names)))
    for i, document in enumerate(documents):
        applicant = decoder.decode(orjson.dumps(document))
        check_document(applicant)
        out[i] = row.values(applicant)
    return out


def in_batch(raw: Mapping[str, pd.DataFrame], application: str) -> np.ndarray:
    """The same applicants' features through training's path: the loader's cleaning, then build_features."""
    tables = {name: clean_table(name, frame) for name, frame in raw.items() if name in (application, *HISTORY,
              "bureau_balance")}  # fmt: skip
    tables["application"] = tables.pop(application)
    return build_features(tables).to_numpy(dtype=np.float64)


def assert_agree(single: np.ndarray, batch: np.ndarray) -> None:
    """Identical missing values, every number within the relative tolerance; names features that differ."""
    names = np.array(feature_names())
    assert single.shape == batch.shape
    missing = np.isnan(single) != np.isnan(batch)
    assert not missing.any(), (
        f"missing in one evaluator only: {sorted(set(names[np.where(missing)[1]]))[:10]}"
    )
    both = ~np.isnan(batch)
    scale = np.maximum(np.abs(single), np.abs(batch))
    far = both & (np.abs(single - batch) > RELATIVE_TOLERANCE * scale)
    assert not far.any(), f"values differ: {sorted(set(names[np.where(far)[1]]))[:10]}"


@pytest.mark.parametrize("scenario", [None, *SCENARIOS])
def test_generated_applicants_of_every_population(scenario: str | None, all_features: FeatureRow) -> None:
    raw = generate(GENERATED_APPLICANTS, seed=31, scenario=scenario, test_share=0.0).tables
    documents = tables_to_documents(raw)
    assert len(documents) == GENERATED_APPLICANTS
    assert_agree(one_by_one(documents, all_features), in_batch(raw, "application_train"))


def _raw_tables(directory: Path, names: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    """Kaggle files as read, uncleaned (365243 and XNA kept): what a lender's systems hold."""
    return {
        name: read_table(table_path(directory, name), name)
        for name in names
        if table_path(directory, name).is_file()
    }


@pytest.mark.parametrize("application", ["application_train", "application_test"])
def test_real_first_rows(homecredit_sample: Path, application: str, all_features: FeatureRow) -> None:
    raw = _raw_tables(homecredit_sample, (application, *HISTORY, "bureau_balance"))
    documents = tables_to_documents(raw, application=application)
    assert_agree(one_by_one(documents, all_features), in_batch(raw, application))


def _relinked(homecredit_sample: Path) -> dict[str, pd.DataFrame]:
    """The random samples, linked so that every real history row belongs to a real applicant row.

    The 5,000 random applications and the 20,000 random rows of each history table come from different
    applicants: each distinct SK_ID_CURR of the history rows is given to an application row, and each
    distinct SK_ID_BUREAU of the monthly rows to a bureau credit.
    """
    children = (
        "bureau",
        "bureau_balance",
        "POS_CASH_balance",
        "installments_payments",
        "credit_card_balance",
    )
    raw = _raw_tables(homecredit_sample / "child_tables_random20000", children)
    application = _raw_tables(homecredit_sample / "application_train_random5000", ("application_train",))
    app = application["application_train"]
    keys = pd.unique(pd.concat([raw[t]["SK_ID_CURR"] for t in children if t != "bureau_balance"]))
    mapping = dict(zip(keys, app["SK_ID_CURR"].to_numpy()[np.arange(len(keys)) % len(app)], strict=True))
    for table in children:
        if table != "bureau_balance":
            raw[table] = raw[table].assign(SK_ID_CURR=raw[table]["SK_ID_CURR"].map(mapping))
    credits = raw["bureau"]["SK_ID_BUREAU"].to_numpy()
    months = pd.unique(raw["bureau_balance"]["SK_ID_BUREAU"])
    link = dict(zip(months, credits[np.arange(len(months)) % len(credits)], strict=True))
    raw["bureau_balance"] = raw["bureau_balance"].assign(
        SK_ID_BUREAU=raw["bureau_balance"]["SK_ID_BUREAU"].map(link)
    )
    return {"application_train": app, **raw}


def test_every_real_random_row(homecredit_sample: Path, all_features: FeatureRow) -> None:
    raw = _relinked(homecredit_sample)
    documents = tables_to_documents(raw)
    linked = sum(len(d.get(t, [])) for d in documents for t in HISTORY)
    assert linked == sum(len(raw[t]) for t in HISTORY if t in raw)  # every history row is scored
    assert_agree(one_by_one(documents, all_features), in_batch(raw, "application_train"))


def test_the_loader_and_the_service_read_the_same_raw_values(homecredit_sample: Path) -> None:
    """Kaggle's sentinel and XNA really occur in the real rows checked above, so the parity covers them."""
    loaded = load_tables(homecredit_sample, ["application_train"])["application_train"]
    raw = _raw_tables(homecredit_sample, ("application_train",))["application_train"]
    assert (raw["DAYS_EMPLOYED"] == 365243).any() and loaded["DAYS_EMPLOYED"].isna().any()
    assert (raw["CODE_GENDER"].astype(str) == "XNA").any() or raw.astype(str).eq("XNA").any().any()
