"""The true default probability: observable inputs only, AUC where the best real models are, monotone."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from training.synthetic import (
    SyntheticDataset,
    default_probability,
    generate,
    history_aggregates,
    logit_terms,
)
from training.synthetic import target as target_module


def test_true_probability_is_a_function_of_the_tables(small_dataset: SyntheticDataset) -> None:
    tables = small_dataset.tables
    train = tables["application_train"]
    recomputed = default_probability(train, tables)
    np.testing.assert_allclose(recomputed, small_dataset.true_probability["TRUE_PROBABILITY"].to_numpy())


def test_auc_of_the_true_probability_is_realistic() -> None:
    dataset = generate(20_000, seed=0)
    y = dataset.tables["application_train"]["TARGET"]
    auc = roc_auc_score(y, dataset.true_probability["TRUE_PROBABILITY"])
    assert 0.78 <= auc <= 0.82
    assert 0.065 < y.mean() < 0.10


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_auc_at_default_scale(seed: int) -> None:
    dataset = generate(seed=seed)
    y = dataset.tables["application_train"]["TARGET"]
    auc = roc_auc_score(y, dataset.true_probability["TRUE_PROBABILITY"])
    assert 0.78 <= auc <= 0.82
    assert 0.07 < y.mean() < 0.095


def test_ext_sources_are_the_strongest_single_signals(small_dataset: SyntheticDataset) -> None:
    train = small_dataset.tables["application_train"]
    aggregates = history_aggregates(train["SK_ID_CURR"].to_numpy(), small_dataset.tables)
    terms = logit_terms(train, aggregates)
    y = train["TARGET"]
    auc = {name: roc_auc_score(y, values) for name, values in terms.items() if values.std() > 0}
    ext = {name: value for name, value in auc.items() if name.startswith("EXT_SOURCE")}
    others = {name: value for name, value in auc.items() if name not in ext}
    assert max(ext.values()) > max(others.values()), auc
    history = [auc[name] for name in target_module.AGGREGATES if name in auc]
    assert min(auc["EXT_SOURCE_2"], auc["EXT_SOURCE_3"]) > max(history), auc


def test_missing_ext_source_is_neutral_and_history_terms_are_monotone(
    small_dataset: SyntheticDataset,
) -> None:
    tables = small_dataset.tables
    train = tables["application_train"].head(200).copy()
    aggregates = history_aggregates(train["SK_ID_CURR"].to_numpy(), tables)
    base = logit_terms(train, aggregates)
    blanked = train.assign(EXT_SOURCE_3=np.nan)
    assert (logit_terms(blanked, aggregates)["EXT_SOURCE_3"] == 0).all()
    previous = base.sum(axis=1).to_numpy()
    for column in target_module.AGGREGATES:
        for bump in (1.0, 10.0, 1000.0):
            more = aggregates.copy()
            more[column] = more[column] + (
                bump if column not in ("late_share", "refused_share") else bump / 1000
            )
            assert (logit_terms(train, more).sum(axis=1).to_numpy() >= previous - 1e-12).all(), column


def test_more_overdue_debt_raises_the_probability(small_dataset: SyntheticDataset) -> None:
    tables = dict(small_dataset.tables)
    train = tables["application_train"]
    before = default_probability(train, tables)
    bureau = tables["bureau"].copy()
    bureau["AMT_CREDIT_SUM_OVERDUE"] = bureau["AMT_CREDIT_SUM_OVERDUE"] + 5000.0
    tables["bureau"] = bureau
    after = default_probability(train, tables)
    has_bureau = train["SK_ID_CURR"].isin(bureau["SK_ID_CURR"]).to_numpy()
    assert (after[has_bureau] > before[has_bureau]).all()
    assert np.array_equal(after[~has_bureau], before[~has_bureau])
